package partition

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

// The last-copy guard, from files: a target image holding a 1.2 member on its whole disk,
// the host's knowledge of the array in a fixture root, and other "present" disks as image
// files under the fixture's /dev.

var lastCopyUUID = [16]byte{0x3a, 0xd1, 0xe3, 0xd6, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc}

// memberImage writes an image of size bytes holding a 1.2 superblock of lastCopyUUID.
func memberImage(t *testing.T, path string, size int64, role uint16, events uint64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	off, sb := md1{minor: 2, devSize: size, dataOffset: 2048, dataSize: uint64(size/512 - 2048), size: uint64(size/512 - 4096), role: role, name: "host:0", uuid: lastCopyUUID, events: events}.bytes()
	writeAt(t, path, off, sb)
}

// presentDisk adds a disk sdc to a fixture: sysfs entries and /dev/sdc as an image.
func presentDisk(files map[string]string) {
	files["/sys/block/sdc/dev"] = "8:32\n"
	files["/sys/block/sdc/size"] = "524288\n"
}

func TestGuardLastCopy(t *testing.T) {
	mdadmForm := func(u [16]byte) string {
		h := hex.EncodeToString(u[:])
		return h[0:8] + ":" + h[8:16] + ":" + h[16:24] + ":" + h[24:32]
	}
	sysfsForm := func(u [16]byte) string {
		h := hex.EncodeToString(u[:])
		return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	}
	const size = 256 << 20
	cases := []struct {
		name  string
		files map[string]string
		// other is a present disk's member: role and events; nil for none.
		other    *[2]uint64
		wipe     bool
		refused  bool
		wantWord string
	}{
		{name: "known from mdadm.conf, no other copy", files: map[string]string{
			"/etc/mdadm/mdadm.conf": "DEVICE partitions\nARRAY /dev/md/0  metadata=1.2 name=host:0\n   UUID=" + mdadmForm(lastCopyUUID) + "\n"},
			wipe: true, refused: true, wantWord: "/etc/mdadm/mdadm.conf"},
		{name: "known from /etc/mdadm.conf, refused without --wipe too", files: map[string]string{
			"/etc/mdadm.conf": "ARRAY /dev/md0 UUID=" + strings.ToUpper(mdadmForm(lastCopyUUID)) + "\n"},
			refused: true, wantWord: "last copy"},
		{name: "known from sysfs (stopped array still listed)", files: map[string]string{
			"/sys/block/md0/md/uuid": sysfsForm(lastCopyUUID) + "\n", "/sys/block/md0/md/metadata_version": "1.2\n"},
			wipe: true, refused: true, wantWord: "/sys/block/md0"},
		{name: "known from the inventory", files: map[string]string{
			"/var/lib/raidswap/inventory.json": `{"format":1,"disks":{"S1":{"serial":"S1","name":"sda","members":[{"array_uuid":"` + sysfsForm(lastCopyUUID) + `","array":"md0","slot":0,"device":"sda2"}]}}}`},
			wipe: true, refused: true, wantWord: "inventory"},
		{name: "known, another present member more current", files: map[string]string{
			"/etc/mdadm/mdadm.conf": "ARRAY /dev/md0 UUID=" + mdadmForm(lastCopyUUID) + "\n"},
			other: &[2]uint64{0, 50}, wipe: true},
		{name: "known, the other member is older", files: map[string]string{
			"/etc/mdadm/mdadm.conf": "ARRAY /dev/md0 UUID=" + mdadmForm(lastCopyUUID) + "\n"},
			other: &[2]uint64{0, 41}, wipe: true, refused: true, wantWord: "last copy"},
		{name: "known, the other member is a spare", files: map[string]string{
			"/etc/mdadm/mdadm.conf": "ARRAY /dev/md0 UUID=" + mdadmForm(lastCopyUUID) + "\n"},
			other: &[2]uint64{0xffff, 60}, wipe: true, refused: true, wantWord: "last copy"},
		{name: "foreign array: wiped", files: map[string]string{
			"/etc/mdadm/mdadm.conf": "ARRAY /dev/md0 UUID=00000000:11111111:22222222:33333333\nARRAY garbage UUID=zz\n"},
			wipe: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{"/sys/block/": ""}
			for k, v := range c.files {
				files[k] = v
			}
			if c.other != nil {
				presentDisk(files)
			}
			root := fixture(t, files)
			if c.other != nil {
				memberImage(t, root.Path("/dev/sdc"), size, uint16(c.other[0]), c.other[1])
			}
			src := gptBiosEspRaid(t, size)
			dst := filepath.Join(t.TempDir(), "member.img")
			memberImage(t, dst, size, 1, 42)
			before := ContentSum(t, dst)
			_, err := Clone(root, CloneRequest{Source: src, Target: dst, Wipe: c.wipe, Runner: host.ExecRunner{},
				BackupDir: t.TempDir(), Now: fixedNow, Rand: seeded(1)})
			k, _ := IsRefusal(err)
			switch {
			case c.refused && (k != RefuseLastCopy || !strings.Contains(err.Error(), c.wantWord) || !strings.Contains(err.Error(), "host:0") || strings.Contains(err.Error(), "pass --wipe")):
				t.Errorf("err = %v; want a last-copy refusal naming host:0 and %q", err, c.wantWord)
			case c.refused && ContentSum(t, dst) != before:
				t.Error("the target changed")
			case !c.refused && err != nil:
				t.Errorf("err = %v; want the foreign or stale member wiped", err)
			}
		})
	}
}

func TestSwapUUIDWords(t *testing.T) {
	if got := swapUUIDWords("0123456789abcdef0011223344556677"); got != "67452301efcdab893322110077665544" {
		t.Errorf("swapUUIDWords = %s", got)
	}
	for _, bad := range []string{"", "xyz", "0123456789abcdef001122334455667", "0123456789abcdef00112233445566zz"} {
		if normalizeUUID(bad) != "" {
			t.Errorf("normalizeUUID(%q) accepted", bad)
		}
	}
}

// mdadm.conf and wipefs output are read from the system: malformed input is skipped or an
// error, never a panic.
func TestParseUntrustedProbeInput(t *testing.T) {
	conf := "# comment\nARRAY /dev/md0 UUID=01234567:89abcdef:00112233:44556677 # tail\n\tname=x uuid=FFFFFFFF:00000000:11111111:22222222\nARRAY\nDEVICE UUID=aaaaaaaa:aaaaaaaa:aaaaaaaa:aaaaaaaa\n  UUID=bbbbbbbb:bbbbbbbb:bbbbbbbb:bbbbbbbb\nARRAY x UUID=\nARRAY y UUID=0123\n=\n \n"
	got := strings.Join(parseMdadmConfUUIDs([]byte(conf)), ",")
	if want := "0123456789abcdef0011223344556677,ffffffff000000001111111122222222"; got != want {
		t.Errorf("UUIDs %s, want %s", got, want)
	}
	for _, bad := range []string{"{", `{"signatures":[{"offset":"zz","type":"x"}]}`, `{"signatures":[{"offset":"0x10"}]}`, `{"signatures":[{"offset":"-1","type":"x"}]}`} {
		if _, err := parseWipefs([]byte(bad)); err == nil {
			t.Errorf("parseWipefs(%s) accepted", bad)
		}
	}
	sigs, err := parseWipefs([]byte(`{"signatures":[{"offset":"0x410","type":"minix","usage":"filesystem","label":"L"}]}`))
	if err != nil || len(sigs) != 1 || sigs[0].Offset != 0x410 || sigs[0].What != `minix file system labelled "L"` {
		t.Errorf("parseWipefs: %+v %v", sigs, err)
	}
	if sigs, err := parseWipefs(nil); err != nil || len(sigs) != 0 {
		t.Errorf("empty wipefs output: %+v %v", sigs, err)
	}
}
