package partition

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

// sfdiskJSON is what `sfdisk --json` prints: the independent reader the tests compare with.
type sfdiskJSON struct {
	PartitionTable struct {
		Label      string `json:"label"`
		ID         string `json:"id"`
		FirstLBA   int64  `json:"firstlba"`
		LastLBA    int64  `json:"lastlba"`
		SectorSize int64  `json:"sectorsize"`
		Partitions []struct {
			Node     string `json:"node"`
			Start    int64  `json:"start"`
			Size     int64  `json:"size"`
			Type     string `json:"type"`
			UUID     string `json:"uuid"`
			Name     string `json:"name"`
			Bootable bool   `json:"bootable"`
		} `json:"partitions"`
	} `json:"partitiontable"`
}

func sfdiskRead(t *testing.T, img string) sfdiskJSON {
	t.Helper()
	var j sfdiskJSON
	if err := json.Unmarshal([]byte(run(t, host.Sfdisk, "--json", img)), &j); err != nil {
		t.Fatal(err)
	}
	return j
}

func readImage(t *testing.T, img string, l int) Table {
	t.Helper()
	d, err := Open(img, OpenOptions{LogicalSectorSize: l})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tab, err := Read(d)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// TestReadAgreesWithSfdisk reads tables written by sgdisk and sfdisk and compares every
// partition with what sfdisk itself reads, and our sfdisk-format dump with sfdisk's.
func TestReadAgreesWithSfdisk(t *testing.T) {
	for name, mk := range map[string]func(testing.TB, int64) string{
		"old MBR at sector 63": oldMBR63,
		"MBR with logicals":    mbrLogical,
		"GPT BIOS+ESP+RAID":    gptBiosEspRaid,
	} {
		t.Run(name, func(t *testing.T) {
			img := mk(t, 1<<30)
			tab := readImage(t, img, 512)
			if len(tab.Warnings) > 0 {
				t.Errorf("warnings: %v", tab.Warnings)
			}
			j := sfdiskRead(t, img).PartitionTable
			if string(tab.Scheme) != j.Label {
				t.Fatalf("scheme %s, sfdisk says %s", tab.Scheme, j.Label)
			}
			if len(tab.Partitions) != len(j.Partitions) {
				t.Fatalf("%d partitions, sfdisk reads %d", len(tab.Partitions), len(j.Partitions))
			}
			for i, sp := range j.Partitions {
				p := tab.Partitions[i]
				num, _ := strconv.Atoi(strings.TrimPrefix(sp.Node, img))
				if p.Number != num || p.Start != sp.Start*512 || p.Size != sp.Size*512 || p.Bootable != sp.Bootable {
					t.Errorf("partition %+v, sfdisk reads %+v", p, sp)
				}
				switch tab.Scheme {
				case GPT:
					if p.TypeGUID != sp.Type || p.GUID != sp.UUID || p.Name != sp.Name {
						t.Errorf("partition %d: %s %s %q, sfdisk reads %s %s %q", p.Number, p.TypeGUID, p.GUID, p.Name, sp.Type, sp.UUID, sp.Name)
					}
				case MBR:
					if strconv.FormatUint(uint64(p.Type), 16) != sp.Type {
						t.Errorf("partition %d type %x, sfdisk reads %s", p.Number, p.Type, sp.Type)
					}
				}
			}
			if got, want := Dump(tab, img), run(t, host.Sfdisk, "--dump", img); got != want {
				t.Errorf("Dump differs from sfdisk --dump:\n%s\nsfdisk:\n%s", got, want)
			}
		})
	}
}

func TestReadGPTFallsBackToBackup(t *testing.T) {
	img := gptBiosEspRaid(t, 256<<20)
	want := readImage(t, img, 512)
	writeAt(t, img, 512+20, []byte{0xff}) // break the primary header's CRC-covered bytes
	got := readImage(t, img, 512)
	if len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "primary GPT is damaged") {
		t.Errorf("warnings %v", got.Warnings)
	}
	got.Warnings = nil
	if probs := compareTables(want, got); len(probs) > 0 {
		t.Errorf("backup differs from primary: %v", probs)
	}
}

func TestReadNoTableAndSectorSizeHint(t *testing.T) {
	blank := newImage(t, "blank.img", 64<<20)
	d, err := Open(blank, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := Read(d); !errors.Is(err, ErrNoTable) {
		t.Errorf("blank disk: %v, want ErrNoTable", err)
	}
	img := gptBiosEspRaid(t, 256<<20)
	d4, err := Open(img, OpenOptions{LogicalSectorSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer d4.Close()
	_, err = Read(d4)
	if err == nil || !strings.Contains(err.Error(), "512-byte sectors would put it") {
		t.Errorf("512-byte GPT read as 4Kn: %v", err)
	}
}

func TestReadMBRRejectsEBRLoop(t *testing.T) {
	img := mbrLogical(t, 1<<30)
	tab := readImage(t, img, 512)
	l6, _ := tab.Partition(6)
	// Point the second EBR's link back at the first (offset 0 in the extended partition).
	b := make([]byte, 16)
	b[4] = 0x05
	b[12] = 1
	f, _ := os.OpenFile(img, os.O_RDWR, 0)
	defer f.Close()
	if _, err := f.WriteAt(b, l6.EBR+446+16); err != nil {
		t.Fatal(err)
	}
	d, _ := Open(img, OpenOptions{})
	defer d.Close()
	if _, err := Read(d); err == nil || !strings.Contains(err.Error(), "loops") {
		t.Errorf("looping EBR chain: %v", err)
	}
}

// TestReadPlacementAndPARTUUID checks where the reader says a GPT's structures are (the
// survivor proof hashes those sectors) and the PARTUUIDs it derives against partx, which
// reads them with libblkid: a DOS disk's logical partitions 10 and up are numbered in hex.
func TestReadPlacementAndPARTUUID(t *testing.T) {
	needTool(t, host.Partx)
	img := gptBiosEspRaid(t, 256<<20)
	tab := readImage(t, img, 512)
	total := int64(256<<20) / 512
	want := GPTPlacement{HeaderLBA: 1, EntriesLBA: 2, BackupHeaderLBA: total - 1, BackupEntriesLBA: total - 33, EntryBytes: 128 * 128}
	if tab.Placement == nil || *tab.Placement != want {
		t.Errorf("placement %+v, want %+v", tab.Placement, want)
	}
	writeAt(t, img, 512+20, []byte{0xff})
	if got := readImage(t, img, 512); got.Placement == nil || *got.Placement != want {
		t.Errorf("placement read from the backup %+v, want %+v", got.Placement, want)
	}

	dos := newImage(t, "many.img", 64<<20)
	script := "label: dos\nlabel-id: 0x1234abcd\nstart=2048, size=2MiB, type=83\ntype=5\n"
	for i := 0; i < 9; i++ {
		script += "size=2MiB, type=fd\n"
	}
	runStdin(t, script, host.Sfdisk, "-q", dos)
	for _, im := range []string{img, dos} {
		tab := readImage(t, im, 512)
		got := map[string]string{}
		for _, p := range tab.Partitions {
			got[fmt.Sprint(p.Number)] = tab.PARTUUID(p)
		}
		out := run(t, host.Partx, "-g", "-o", "NR,UUID", im)
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			n++
			if got[f[0]] != strings.ToLower(f[1]) {
				t.Errorf("%s partition %s: PARTUUID %q, partx says %q", filepath.Base(im), f[0], got[f[0]], f[1])
			}
		}
		if n != len(tab.Partitions) || n < 4 {
			t.Errorf("%s: partx lists %d partitions, the reader %d", filepath.Base(im), n, len(tab.Partitions))
		}
	}
}
