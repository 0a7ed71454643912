package bootloader

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/filesystem/fat16"
	"github.com/diskfs/go-diskfs/filesystem/fat32"

	"github.com/raidswap/raidswap/internal/host"
)

func utf16z(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return append(b, 0, 0)
}

func dpNode(typ, sub byte, body []byte) []byte {
	b := []byte{typ, sub, 0, 0}
	binary.LittleEndian.PutUint16(b[2:], uint16(4+len(body)))
	return append(b, body...)
}

// guidBytes is a GUID's on-disk form: the first three fields little-endian.
func mixedGUID(t testing.TB, g string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(g, "-", ""))
	if err != nil || len(b) != 16 {
		t.Fatalf("guid %q", g)
	}
	return []byte{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]}
}

// hdNode is a hard-drive media node (type 4, subtype 1) for a GPT partition.
func hdNode(t testing.TB, part uint32, guid string) []byte {
	body := binary.LittleEndian.AppendUint32(nil, part)
	body = binary.LittleEndian.AppendUint64(body, 0x800)
	body = binary.LittleEndian.AppendUint64(body, 0x20000)
	body = append(body, mixedGUID(t, guid)...)
	return dpNode(4, 1, append(body, 2, 2))
}

// loadOption is an efivarfs Boot#### file: attributes, then the EFI_LOAD_OPTION.
func loadOption(attr uint32, desc string, nodes ...[]byte) []byte {
	var dp []byte
	for _, n := range nodes {
		dp = append(dp, n...)
	}
	b := []byte{7, 0, 0, 0} // NV+BS+RT
	b = binary.LittleEndian.AppendUint32(b, attr)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dp)))
	b = append(b, utf16z(desc)...)
	return append(b, dp...)
}

var endNode = dpNode(0x7f, 0xff, nil)

const (
	guidA = "c9f42866-ee88-4004-a032-2dbf3696c113"
	guidB = "7a4006c6-5042-4cf5-b2e5-f5a86e21c793"
)

func TestParseLoadOption(t *testing.T) {
	grub := dpNode(4, 4, utf16z(`\EFI\debian\grubx64.efi`))
	fv := dpNode(4, 7, make([]byte, 16))
	mbrHD := func() []byte {
		body := binary.LittleEndian.AppendUint32(nil, 1)
		body = binary.LittleEndian.AppendUint64(body, 2048)
		body = binary.LittleEndian.AppendUint64(body, 1<<20)
		sig := make([]byte, 16)
		binary.LittleEndian.PutUint32(sig, 0x1234abcd)
		return dpNode(4, 1, append(append(body, sig...), 1, 1))
	}()
	for name, tc := range map[string]struct {
		in   []byte
		want LoadOption
		err  string
	}{
		"gpt entry": {loadOption(1, "raidswap ESP-A", hdNode(t, 1, guidA), grub, endNode),
			LoadOption{Active: true, Description: "raidswap ESP-A", PARTUUID: guidA, Part: 1, Path: `\EFI\debian\grubx64.efi`}, ""},
		"inactive, upper-case path": {loadOption(0, "debian", hdNode(t, 2, guidB), dpNode(4, 4, utf16z(`\EFI\BOOT\BOOTX64.EFI`)), endNode),
			LoadOption{Description: "debian", PARTUUID: guidB, Part: 2, Path: `\EFI\BOOT\BOOTX64.EFI`}, ""},
		"firmware app, no HD node": {loadOption(1, "UiApp", fv, endNode), LoadOption{Active: true, Description: "UiApp"}, ""},
		"dos label":                {loadOption(1, "x", mbrHD, grub, endNode), LoadOption{Active: true, Description: "x", PARTUUID: "1234abcd-01", Part: 1, Path: `\EFI\debian\grubx64.efi`}, ""},
		"optional data after the path list": {append(loadOption(1, "x", hdNode(t, 1, guidA), grub, endNode), 'B', 'O'),
			LoadOption{Active: true, Description: "x", PARTUUID: guidA, Part: 1, Path: `\EFI\debian\grubx64.efi`}, ""},
		"short":                  {[]byte{7, 0, 0, 0, 1}, LoadOption{}, "too short"},
		"unterminated":           {loadOption(1, "x")[:12], LoadOption{}, "not terminated"},
		"path list past the end": {loadOption(1, "x", hdNode(t, 1, guidA), grub, endNode)[:40], LoadOption{}, "device path list"},
		"no end node":            {loadOption(1, "x", hdNode(t, 1, guidA), grub), LoadOption{}, "no end node"},
		"node length zero":       {loadOption(1, "x", []byte{4, 4, 0, 0}), LoadOption{}, "has length 0"},
		"short HD node":          {loadOption(1, "x", dpNode(4, 1, make([]byte, 10)), endNode), LoadOption{}, "hard drive node"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := ParseLoadOption(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// FuzzParseLoadOption feeds ParseLoadOption the bytes of efivarfs Boot#### files (the
// recorded OVMF variables and hand-made ones as seeds): it refuses or parses, never panics,
// and what it parses is what status compares with: a PARTUUID in one of blkid's two forms
// and no NUL in the strings.
func FuzzParseLoadOption(f *testing.F) {
	f.Add(loadOption(1, "raidswap ESP-A", hdNode(f, 1, guidA), dpNode(4, 4, utf16z(`\EFI\debian\grubx64.efi`)), endNode))
	f.Add([]byte{7, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 4, 4, 0, 0})
	recorded, _ := filepath.Glob("testdata/efivars/ovmf/Boot*")
	for _, p := range recorded {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	mbr := make([]byte, 38)
	binary.LittleEndian.PutUint32(mbr, 1)
	copy(mbr[20:], []byte{0xcd, 0xab, 0x34, 0x12})
	mbr[36], mbr[37] = 1, 1
	f.Add(loadOption(1, "dos", dpNode(4, 1, mbr), dpNode(4, 4, utf16z(`\EFI\BOOT\BOOTX64.EFI`)), endNode))
	partRE := regexp.MustCompile(`^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{8}-[0-9a-f]{2,8})$`)
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseLoadOption(b)
		if err != nil {
			return
		}
		if o.PARTUUID != "" && !partRE.MatchString(o.PARTUUID) {
			t.Fatalf("PARTUUID %q", o.PARTUUID)
		}
		if strings.ContainsRune(o.Description, 0) || strings.ContainsRune(o.Path, 0) {
			t.Fatalf("NUL in %q / %q", o.Description, o.Path)
		}
	})
}

// espImage writes a FAT image at dir+dev with files (path -> content) made by go-diskfs.
func espImage(t *testing.T, dir, dev string, fat int, files map[string]string) {
	t.Helper()
	p := filepath.Join(dir, dev)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	size := int64(40 << 20)
	b, err := file.CreateFromPath(p, size)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var fs filesystem.FileSystem
	if fat == 16 {
		fs, err = fat16.Create(b, size, 0, 512, "ESP", true)
	} else {
		fs, err = fat32.Create(b, size, 0, 512, "ESP", true)
	}
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := fs.Mkdir("/" + filepath.Dir(name)); err != nil {
			t.Fatal(err)
		}
		f, err := fs.OpenFile("/"+name, os.O_CREATE|os.O_RDWR)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

func writeEFIVar(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	p := filepath.Join(dir, EFIVarsDir, name+"-"+EFIGlobalVariable)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func statusFacts() Facts {
	return Facts{Firmware: FirmwareUEFI, EFILoader: "EFI/debian/grubx64.efi", Disks: []Disk{
		{Name: "vda", Serial: "WD-A", BootMember: "vda2", ESP: &Partition{Name: "vda1", Number: 1, PARTUUID: guidA}},
		{Name: "vdb", Serial: "WD-B", BootMember: "vdb2", ESP: &Partition{Name: "vdb1", Number: 1, PARTUUID: guidB}},
	}}
}

func TestStatusUEFIFixture(t *testing.T) {
	good := map[string]string{"EFI/debian/grubx64.efi": "grub 2.06", "EFI/BOOT/BOOTX64.EFI": "grub 2.06"}
	entryA := loadOption(1, "raidswap WD-A", hdNode(t, 1, guidA), dpNode(4, 4, utf16z(`\EFI\debian\grubx64.efi`)), endNode)
	entryB := loadOption(1, "raidswap WD-B", hdNode(t, 1, guidB), dpNode(4, 4, utf16z(`\EFI\DEBIAN\GRUBX64.EFI`)), endNode)
	for name, tc := range map[string]struct {
		fat      int
		a        map[string]string // A's ESP; nil: good
		b        map[string]string
		vars     map[string][]byte // nil: no efivars directory
		facts    func(*Facts)
		wantA    BootState
		wantB    BootState
		reasonB  string
		noImageB bool
		loopB    bool // B's root directory's cluster chain loops
	}{
		"both ok": {b: good, vars: map[string][]byte{"Boot0001": entryA, "Boot0002": entryB, "BootOrder": {7, 0, 0, 0, 1, 0, 2, 0}},
			wantA: BootOK, wantB: BootOK, reasonB: `boot entry Boot0002 "raidswap WD-B"`},
		"FAT16 ESPs": {fat: 16, b: good, vars: map[string][]byte{"Boot0001": entryA, "Boot0002": entryB},
			wantA: BootOK, wantB: BootOK, reasonB: "/dev/vdb1, boot entry Boot0002"},
		"no entry for B": {b: good, vars: map[string][]byte{"Boot0001": entryA},
			wantA: BootOK, wantB: BootMissing, reasonB: "no firmware boot entry boots \\EFI\\debian\\grubx64.efi from its ESP /dev/vdb1 (PARTUUID " + guidB},
		"efivars not readable": {b: good, wantA: BootOK, wantB: BootOK, reasonB: "by the fallback path; boot entries not readable"},
		"efivarfs empty":       {b: good, vars: map[string][]byte{}, wantA: BootOK, wantB: BootOK, reasonB: "efivarfs not mounted"},
		"B's loader differs": {b: map[string]string{"EFI/debian/grubx64.efi": "grub 2.04", "EFI/BOOT/BOOTX64.EFI": "x"}, vars: map[string][]byte{"Boot0001": entryA, "Boot0002": entryB},
			wantA: BootMissing, wantB: BootMissing, reasonB: "its ESP /dev/vdb1 differs from the one on /dev/vda1: EFI/debian/grubx64.efi differs (sha256"},
		"B's loader differs from the survivor's": {b: map[string]string{"EFI/debian/grubx64.efi": "grub 2.04", "EFI/BOOT/BOOTX64.EFI": "x"}, vars: map[string][]byte{"Boot0001": entryA, "Boot0002": entryB},
			facts: func(f *Facts) { f.Disks[0].Survivor = true }, wantA: BootOK, wantB: BootMissing, reasonB: "differs from the one on /dev/vda1"},
		"B has no fallback": {b: map[string]string{"EFI/debian/grubx64.efi": "grub 2.06"}, vars: map[string][]byte{"Boot0001": entryA, "Boot0002": entryB},
			wantA: BootOK, wantB: BootMissing, reasonB: "has no removable fallback path EFI/BOOT/BOOTX64.EFI"},
		"B has no loader": {b: map[string]string{"EFI/BOOT/BOOTX64.EFI": "grub 2.06"}, vars: map[string][]byte{"Boot0001": entryA, "Boot0002": entryB},
			wantA: BootOK, wantB: BootMissing, reasonB: "its ESP /dev/vdb1 has no EFI/debian/grubx64.efi"},
		"B's ESP is no file system": {noImageB: true, vars: map[string][]byte{"Boot0001": entryA, "Boot0002": entryB},
			wantA: BootOK, wantB: BootUnknown, reasonB: "could not be read: no FAT boot sector"},
		"B has no ESP": {b: good, vars: map[string][]byte{"Boot0001": entryA}, facts: func(f *Facts) { f.Disks[1].ESP = nil },
			wantA: BootOK, wantB: BootMissing, reasonB: "no EFI System Partition on this disk"},
		"B's FAT loops": {b: good, loopB: true, vars: map[string][]byte{"Boot0001": entryA, "Boot0002": entryB},
			wantA: BootOK, wantB: BootUnknown, reasonB: "could not be read: the FAT's cluster chain through cluster 2 loops back"},
		// Every byte of the loader's directory is compared, read past the page cache on a
		// real device: a grub.cfg stub of the same size with other bytes differs.
		"B's grub.cfg stub differs": {
			a:    map[string]string{"EFI/debian/grubx64.efi": "grub 2.06", "EFI/debian/grub.cfg": "search UUID-A", "EFI/BOOT/BOOTX64.EFI": "grub 2.06"},
			b:    map[string]string{"EFI/debian/grubx64.efi": "grub 2.06", "EFI/debian/grub.cfg": "search UUID-B", "EFI/BOOT/BOOTX64.EFI": "grub 2.06"},
			vars: map[string][]byte{"Boot0001": entryA, "Boot0002": entryB}, facts: func(f *Facts) { f.Disks[0].Survivor = true },
			wantA: BootOK, wantB: BootMissing, reasonB: "EFI/debian/grub.cfg differs"},
		"loader not known": {b: good, facts: func(f *Facts) { f.EFILoader = "" }, wantA: BootUnknown, wantB: BootUnknown, reasonB: "the loader is not known"},
		// No ESP mounted to show the loader: each disk's own boot entry names it.
		"loader from each disk's own entry": {b: good, vars: map[string][]byte{"Boot0001": entryA, "Boot0002": entryB, "BootOrder": {7, 0, 0, 0, 2, 0, 1, 0}},
			facts: func(f *Facts) { f.EFILoader = "" }, wantA: BootOK, wantB: BootOK, reasonB: `boot entry Boot0002 "raidswap WD-B"`},
		// The only ESP was on the failed disk; the new disk B got one and its entry.
		"only the new disk has an ESP": {b: good, vars: map[string][]byte{"Boot0002": entryB},
			facts: func(f *Facts) { f.EFILoader = ""; f.Disks[0].ESP = nil }, wantA: BootMissing, wantB: BootOK, reasonB: `and EFI/BOOT/BOOTX64.EFI on /dev/vdb1, boot entry Boot0002`},
		"a damaged entry is left out": {b: good, vars: map[string][]byte{"Boot0001": entryA, "Boot0002": entryB[:30]},
			wantA: BootOK, wantB: BootMissing, reasonB: "no firmware boot entry"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			fat := tc.fat
			imgA := good
			if tc.a != nil {
				imgA = tc.a
			}
			espImage(t, dir, "/dev/vda1", fat, imgA)
			if tc.noImageB {
				os.WriteFile(filepath.Join(dir, "dev/vdb1"), make([]byte, 1<<20), 0o644)
			} else {
				espImage(t, dir, "/dev/vdb1", fat, tc.b)
			}
			if tc.loopB {
				img, err := os.OpenFile(filepath.Join(dir, "dev/vdb1"), os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				bs := make([]byte, 512)
				img.ReadAt(bs, 0)
				res := int64(binary.LittleEndian.Uint16(bs[14:])) * 512
				img.WriteAt([]byte{2, 0, 0, 0}, res+8) // FAT entry 2 (the root directory) -> 2
				img.Close()
			}
			if tc.vars != nil {
				os.MkdirAll(filepath.Join(dir, EFIVarsDir), 0o755)
			}
			for n, b := range tc.vars {
				writeEFIVar(t, dir, n, b)
			}
			f := statusFacts()
			if tc.facts != nil {
				tc.facts(&f)
			}
			root := host.NewRoot(dir)
			a, b := StatusUEFI(root, f, f.Disks[0]), StatusUEFI(root, f, f.Disks[1])
			if a.State != tc.wantA || b.State != tc.wantB || !strings.Contains(b.Reason, tc.reasonB) {
				t.Errorf("A %+v\nB %+v\nwant %s, %s %q", a, b, tc.wantA, tc.wantB, tc.reasonB)
			}
		})
	}
}

func TestStatusUEFIThroughDetectHook(t *testing.T) {
	if UEFIVerifier == nil {
		t.Fatal("UEFIVerifier is not set")
	}
	dir := t.TempDir()
	good := map[string]string{"EFI/debian/grubx64.efi": "grub", "EFI/BOOT/BOOTX64.EFI": "grub"}
	espImage(t, dir, "/dev/vda1", 32, good)
	espImage(t, dir, "/dev/vdb1", 32, good)
	f := statusFacts()
	verifyDisks(host.NewRoot(dir), &f)
	for _, d := range f.Disks {
		if d.Ready.State != BootOK || !strings.Contains(d.Ready.Reason, "by the fallback path") {
			t.Errorf("%s: %+v", d.Name, d.Ready)
		}
	}
}

func TestStatusUEFIMDESP(t *testing.T) {
	dir := t.TempDir()
	espImage(t, dir, "/dev/md127", 32, map[string]string{"EFI/debian/grubx64.efi": "grub", "EFI/BOOT/BOOTX64.EFI": "grub"})
	f := statusFacts()
	f.Disks[0].ESP.MDArray, f.Disks[1].ESP.MDArray = "md127", "md127"
	f.Disks[0].ESP.MDState, f.Disks[1].ESP.MDState = "in_sync", "in_sync"
	writeEFIVar(t, dir, "Boot0001", loadOption(1, "raidswap WD-A", hdNode(t, 1, guidA), dpNode(4, 4, utf16z(`\EFI\debian\grubx64.efi`)), endNode))
	root := host.NewRoot(dir)
	a, b := StatusUEFI(root, f, f.Disks[0]), StatusUEFI(root, f, f.Disks[1])
	if a.State != BootOK || !strings.Contains(a.Reason, "/dev/md127 (its member vda1 in sync)") || b.State != BootMissing {
		t.Errorf("A %+v\nB %+v", a, b)
	}
	// The same array, but B's member is being rebuilt: A still boots, B does not.
	writeEFIVar(t, dir, "Boot0002", loadOption(1, "raidswap WD-B", hdNode(t, 1, guidB), dpNode(4, 4, utf16z(`\EFI\debian\grubx64.efi`)), endNode))
	f.Disks[1].ESP.MDState = "rebuilding"
	a, b = StatusUEFI(root, f, f.Disks[0]), StatusUEFI(root, f, f.Disks[1])
	if a.State != BootOK || b.State != BootMissing || !strings.Contains(b.Reason, "vdb1 is rebuilding in md127") {
		t.Errorf("rebuilding: A %+v\nB %+v", a, b)
	}
	f.Disks[1].ESP.MDState = "in_sync"
	if b = StatusUEFI(root, f, f.Disks[1]); b.State != BootOK {
		t.Errorf("in sync: B %+v", b)
	}
}

func TestJudgeUEFI(t *testing.T) {
	files := []File{{Path: "EFI/debian/grubx64.efi", Size: 4, SHA256: [32]byte{1}}, {Path: "EFI/debian/grub.cfg", Size: 9, SHA256: [32]byte{2}}, {Path: FallbackPath, Size: 4, SHA256: [32]byte{1}}}
	ok := ESPView{Dev: "/dev/vda1", Files: files}
	other := ESPView{Dev: "/dev/vdb1", Files: files}
	otherStub := ESPView{Dev: "/dev/vdb1", Files: []File{files[0], {Path: "efi/debian/grub.cfg", Size: 9, SHA256: [32]byte{3}}, files[2]}}
	vars := &BootVars{Entries: []BootEntry{{Num: "0003", Label: "debian", PARTUUID: guidA, Loader: `\EFI\BOOT\BOOTX64.EFI`}}}
	base := UEFIJudgeIn{Loader: "EFI/debian/grubx64.efi", HasESP: true, PARTUUID: guidA, Self: ok, Entries: vars}
	for name, tc := range map[string]struct {
		mod    func(*UEFIJudgeIn)
		state  BootState
		reason string
	}{
		"entry for the fallback path": {func(in *UEFIJudgeIn) {}, BootOK, "Boot0003"},
		"upper-case PARTUUID matches": {func(in *UEFIJudgeIn) { in.PARTUUID = strings.ToUpper(guidA) }, BootOK, "Boot0003"},
		"same as the other":           {func(in *UEFIJudgeIn) { in.Refs = []ESPView{other} }, BootOK, "Boot0003"},
		// The two judges once disagreed here (issue 19): status compared only the loader.
		"grub.cfg stub differs from the survivor's": {func(in *UEFIJudgeIn) { in.SurvivorNamed, in.Refs = true, []ESPView{otherStub} }, BootMissing,
			"its ESP /dev/vda1 differs from the one on /dev/vdb1: efi/debian/grub.cfg differs"},
		"entry for the loader": {func(in *UEFIJudgeIn) {
			in.Entries = &BootVars{Entries: []BootEntry{{Num: "0001", Label: "debian", PARTUUID: guidA, Loader: `\EFI\debian\grubx64.efi`}}}
		}, BootOK, "Boot0001"},
		"other unreadable, not the survivor": {func(in *UEFIJudgeIn) { in.Refs = []ESPView{{Dev: "/dev/vdb1", Err: errors.New("EIO")}} }, BootOK, "not compared with /dev/vdb1"},
		"survivor unreadable": {func(in *UEFIJudgeIn) {
			in.SurvivorNamed, in.Refs = true, []ESPView{{Dev: "/dev/vdb1", Err: errors.New("EIO")}}
		}, BootUnknown, "the survivor's ESP /dev/vdb1 could not be read"},
		"survivor without the loader": {func(in *UEFIJudgeIn) { in.SurvivorNamed, in.Refs = true, []ESPView{{Dev: "/dev/vdb1"}} }, BootUnknown, "has no EFI/debian/grubx64.efi to compare with"},
		"no PARTUUID":                 {func(in *UEFIJudgeIn) { in.PARTUUID = "" }, BootMissing, "PARTUUID unknown"},
		"entry for another partition": {func(in *UEFIJudgeIn) { in.PARTUUID = guidB }, BootMissing, "no firmware boot entry"},
		"self unreadable": {func(in *UEFIJudgeIn) {
			in.Self = ESPView{Dev: "/dev/vda1", Err: errors.New("FAT12 ESP not readable")}
		}, BootUnknown, "FAT12 ESP not readable"},
		"no ESP anywhere": {func(in *UEFIJudgeIn) { in.HasESP = false }, BootMissing, "no EFI System Partition on any disk"},
		// An ESP on md RAID1 (issue 17, item 5): each disk by its own member's state.
		"the loader is the removable-media path": {func(in *UEFIJudgeIn) { in.Loader = FallbackPath }, BootOK,
			"EFI/BOOT/BOOTX64.EFI (the removable-media loader, which the entry boots) on /dev/vda1, boot entry Boot0003"},
		"md member in sync": {func(in *UEFIJudgeIn) { in.Member, in.MDArray, in.MDState = "vda1", "md127", "in_sync" }, BootOK,
			`(its member vda1 in sync), boot entry Boot0003`},
		"md member rebuilding": {func(in *UEFIJudgeIn) { in.Member, in.MDArray, in.MDState = "vda1", "md127", "rebuilding" }, BootMissing,
			"its ESP vda1 is rebuilding in md127, not in sync"},
		"md member faulty": {func(in *UEFIJudgeIn) { in.Member, in.MDArray, in.MDState = "vda1", "md127", "faulty" }, BootMissing,
			"its ESP vda1 is faulty in md127, not in sync"},
		"md member a spare": {func(in *UEFIJudgeIn) { in.Member, in.MDArray, in.MDState = "vda1", "md127", "spare" }, BootMissing,
			"its ESP vda1 is spare in md127"},
		"md member state unknown": {func(in *UEFIJudgeIn) { in.Member, in.MDArray, in.MDState = "vda1", "md127", "" }, BootUnknown,
			"its ESP vda1 is a member of md127 whose state md did not show"},
		"md member in sync, no entry for its partition": {func(in *UEFIJudgeIn) {
			in.Member, in.MDArray, in.MDState, in.PARTUUID = "vda1", "md127", "in_sync", guidB
		}, BootMissing, "no firmware boot entry"},
	} {
		t.Run(name, func(t *testing.T) {
			in := base
			tc.mod(&in)
			got, _ := JudgeUEFI(in)
			if got.State != tc.state || !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("got %+v, want %s %q", got, tc.state, tc.reason)
			}
		})
	}
}

func TestFATKind(t *testing.T) {
	bs := make([]byte, 512)
	bs[510], bs[511] = 0x55, 0xaa
	binary.LittleEndian.PutUint16(bs[11:], 512)
	bs[13] = 1
	binary.LittleEndian.PutUint16(bs[14:], 1)
	bs[16] = 2
	binary.LittleEndian.PutUint16(bs[17:], 512)
	binary.LittleEndian.PutUint16(bs[19:], 2880)
	binary.LittleEndian.PutUint16(bs[22:], 9)
	if k, err := FATKind(bs, 2880*512); k != 12 || err != nil {
		t.Errorf("floppy: %d %v", k, err)
	}
	if _, err := FATKind(bs, 1000); err == nil || !strings.Contains(err.Error(), "the device has 1000 bytes") {
		t.Errorf("too small a device: %v", err)
	}
	bs[13] = 3
	if _, err := FATKind(bs, 2880*512); err == nil {
		t.Error("3 sectors per cluster accepted")
	}
	bs[510] = 0
	if _, err := FATKind(bs, 2880*512); err == nil {
		t.Error("no signature accepted")
	}
}

func TestFATChains(t *testing.T) {
	fat32 := func(v ...uint32) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, x)
		}
		return b
	}
	fat16 := func(v ...uint16) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint16(b, x)
		}
		return b
	}
	for name, tc := range map[string]struct {
		fat  []byte
		kind int
		loop bool
	}{
		"FAT32 chains end":        {fat32(0x0ffffff8, 0xffffffff, 0x0fffffff, 4, 5, 0x0fffffff, 0, 5), 32, false},
		"FAT32 loop":              {fat32(0x0ffffff8, 0xffffffff, 0x0fffffff, 4, 5, 3), 32, true},
		"FAT32 self loop":         {fat32(0x0ffffff8, 0xffffffff, 2), 32, true},
		"FAT32 past the end":      {fat32(0x0ffffff8, 0xffffffff, 99), 32, false},
		"FAT16 chains end":        {fat16(0xfff8, 0xffff, 3, 0xffff), 16, false},
		"FAT16 loop":              {fat16(0xfff8, 0xffff, 3, 4, 2), 16, true},
		"FAT12 loop (2->3->2)":    {[]byte{0xf8, 0xff, 0xff, 0x03, 0x20, 0x00}, 12, true},
		"FAT12 chains end (2->3)": {[]byte{0xf8, 0xff, 0xff, 0x03, 0xf0, 0xff}, 12, false},
	} {
		t.Run(name, func(t *testing.T) {
			err := FATChains(tc.fat, tc.kind)
			if (err != nil) != tc.loop || (err != nil && !strings.Contains(err.Error(), "loops back")) {
				t.Errorf("err %v, want loop %v", err, tc.loop)
			}
		})
	}
}

func FuzzFATChains(f *testing.F) {
	f.Add([]byte{0xf8, 0xff, 0xff, 0x0f, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0}, uint8(32))
	f.Fuzz(func(t *testing.T, b []byte, k uint8) {
		FATChains(b, []int{12, 16, 32}[int(k)%3])
	})
}

// TestParseLoadOptionRecordedOVMF parses Boot#### variables recorded from an OVMF guest
// after a replacement (TestVMUEFIBootAlone -update): one entry per disk, by PARTUUID.
func TestParseLoadOptionRecordedOVMF(t *testing.T) {
	const dir = "testdata/efivars/ovmf"
	read := func(n string) string {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	surv, nw := read("surv.partuuid"), read("new.partuuid")
	files, _ := filepath.Glob(filepath.Join(dir, "Boot*-"+EFIGlobalVariable))
	if len(files) == 0 {
		t.Fatal("no recorded Boot#### variables")
	}
	root := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseLoadOption(b); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
		writeEFIVar(t, root, strings.TrimSuffix(filepath.Base(f), "-"+EFIGlobalVariable), b)
	}
	v, bad, err := ReadBootEntries(host.NewRoot(root))
	if err != nil || len(bad) > 0 {
		t.Fatalf("%v %v", err, bad)
	}
	for _, e := range v.Entries {
		t.Logf("Boot%s active=%v %q PARTUUID %s part %d %s", e.Num, e.Active, e.Label, e.PARTUUID, e.Part, e.Loader)
	}
	se, ne := v.EntryFor(surv, `\EFI\debian\grubx64.efi`), v.EntryFor(nw, `\EFI\debian\grubx64.efi`)
	if se == nil || ne == nil || ne.Label != "raidswap WD-NEW" || se.Part != 1 || !se.Active {
		t.Errorf("survivor's entry %+v, new disk's %+v", se, ne)
	}
}
