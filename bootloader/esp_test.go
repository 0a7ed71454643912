package bootloader

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/host/hosttest"
)

// writeTree writes files under dir (t nil: from a fake command, where a failure shows later).
func writeESPTree(t *testing.T, dir string, files map[string]string) {
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		err := os.MkdirAll(filepath.Dir(full), 0o755)
		if err == nil {
			err = os.WriteFile(full, []byte(content), 0o644)
		}
		if err != nil && t != nil {
			t.Fatal(err)
		}
	}
}

var debianESP = map[string]string{
	"EFI/debian/grubx64.efi": "grub core image",
	"EFI/debian/grub.cfg":    "search.fs_uuid 1234 root\nset prefix=($root)/boot/grub\n",
	"EFI/BOOT/BOOTX64.EFI":   "grub core image",
}

func TestSyncTreeCopiesVerifiesAndIsIdempotent(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeESPTree(t, src, debianESP)
	res, err := SyncTree(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if res.AlreadyInSync || res.Files != 3 {
		t.Errorf("first sync: %+v, want 3 files copied", res)
	}
	want, _ := ReadTree(src)
	got, _ := ReadTree(dst)
	if m := Mismatch(want, got); m != "" {
		t.Errorf("after sync: %s", m)
	}
	if _, err := os.Stat(filepath.Join(dst, tmpPrefix)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory left behind: %v", err)
	}
	res, err = SyncTree(src, dst)
	if err != nil || !res.AlreadyInSync {
		t.Errorf("second sync: %+v %v, want already in sync", res, err)
	}
}

func TestSyncTreeReplacesADifferentTreeWhole(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeESPTree(t, src, debianESP)
	writeESPTree(t, dst, map[string]string{"EFI/debian/grubx64.efi": "old grub", "EFI/old/x.efi": "x"})
	// An interrupted earlier copy.
	writeESPTree(t, dst, map[string]string{tmpPrefix + "/EFI/debian/grubx64.efi": "half"})
	if _, err := SyncTree(src, dst); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dst, "EFI/debian/grubx64.efi"))
	if string(b) != "grub core image" {
		t.Errorf("grubx64.efi = %q", b)
	}
	if _, err := os.Stat(filepath.Join(dst, "EFI/old")); !errors.Is(err, os.ErrNotExist) {
		t.Error("the old EFI tree was not replaced whole")
	}
	es, _ := os.ReadDir(dst)
	for _, e := range es {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			t.Errorf("left %s", e.Name())
		}
	}
}

func TestSyncTreeRefusesAFullESPBeforeWriting(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeESPTree(t, src, map[string]string{"EFI/debian/grubx64.efi": strings.Repeat("g", 5000)})
	defer func(f func(string) (int64, int64, error)) { freeBytes = f }(freeBytes)
	freeBytes = func(string) (int64, int64, error) { return 8192, 4096, nil }
	_, err := SyncTree(src, dst)
	var full *FullError
	if !errors.As(err, &full) {
		t.Fatalf("err = %v, want a FullError", err)
	}
	// EFI, EFI/debian: a cluster each; 5000 bytes: two clusters.
	if full.NeedBytes != 4*4096 || full.FreeBytes != 8192 || full.FilesBytes != 5000 || !strings.Contains(err.Error(), "8192 bytes free") {
		t.Errorf("refusal: %v", err)
	}
	if es, _ := os.ReadDir(dst); len(es) != 0 {
		t.Errorf("a refused copy wrote %d entries", len(es))
	}
}

func TestNeedRoundsToClusters(t *testing.T) {
	tree := []File{{Path: "EFI", Dir: true}, {Path: "EFI/a", Size: 1}, {Path: "EFI/b", Size: 4097}}
	total, files := need(tree, 4096)
	if total != 4096+4096+8192 || files != 4098 {
		t.Errorf("need = %d, %d", total, files)
	}
}

func TestMismatch(t *testing.T) {
	a := []File{{Path: "EFI", Dir: true}, {Path: "EFI/BOOT/BOOTX64.EFI", Size: 3, SHA256: [32]byte{1}}}
	for _, tc := range []struct {
		got  []File
		want string
	}{
		{[]File{{Path: "efi", Dir: true}, {Path: "efi/boot/bootx64.efi", Size: 3, SHA256: [32]byte{1}}}, ""},
		{[]File{{Path: "EFI", Dir: true}}, "EFI/BOOT/BOOTX64.EFI is missing"},
		{[]File{{Path: "EFI", Dir: true}, {Path: "EFI/BOOT/BOOTX64.EFI", Size: 3, SHA256: [32]byte{2}}}, "differs"},
		{[]File{{Path: "EFI", Dir: true}, {Path: "EFI/BOOT/BOOTX64.EFI", Size: 4}}, "has 4 bytes"},
		{[]File{{Path: "EFI"}, {Path: "EFI/BOOT/BOOTX64.EFI", Size: 3, SHA256: [32]byte{1}}}, "directory on one ESP"},
	} {
		if m := Mismatch(a, tc.got); (tc.want == "") != (m == "") || !strings.Contains(m, tc.want) {
			t.Errorf("Mismatch = %q, want %q", m, tc.want)
		}
	}
}

// debianEFI and suseEFI are the distributions' file names on the ESP.
var (
	debianEFI = host.Profile{Family: host.FamilyDebian}.EFIFiles()
	suseEFI   = host.Profile{Family: host.FamilySUSE}.EFIFiles()
)

// TestSUSELoaderNames: SUSE names its shim shim.efi and GRUB grub.efi (EFI/opensuse,
// EFI/sles). The loader is found by those names, the fallback path copies them under the
// names shim loads, and Debian's names are not looked for there (issue 17, item 7).
func TestSUSELoaderNames(t *testing.T) {
	suseTree := map[string]string{"EFI/opensuse/shim.efi": "shim", "EFI/opensuse/grub.efi": "grub", "EFI/opensuse/MokManager.efi": "mm", "EFI/opensuse/grub.cfg": "cfg"}
	for name, tc := range map[string]struct {
		names host.EFIFiles
		shim  bool
		want  string // "" wants an error
	}{
		"suse shim":            {suseEFI, true, "EFI/opensuse/shim.efi"},
		"suse grub":            {suseEFI, false, "EFI/opensuse/grub.efi"},
		"debian names on suse": {debianEFI, true, ""},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeESPTree(t, dir, suseTree)
			p, err := FindLoader(dir, LoaderGrub2, tc.shim, tc.names)
			if tc.want == "" && err == nil || tc.want != "" && (err != nil || p != tc.want) {
				t.Errorf("FindLoader = %q, %v; want %q", p, err, tc.want)
			}
		})
	}
	t.Run("fallback", func(t *testing.T) {
		dir := t.TempDir()
		writeESPTree(t, dir, suseTree)
		res, err := EnsureFallback(dir, "EFI/opensuse/shim.efi", true, suseEFI)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Wrote, []string{"EFI/BOOT/MokManager.efi", "EFI/BOOT/grub.efi", FallbackPath}) {
			t.Errorf("wrote %v", res.Wrote)
		}
		for p, want := range map[string]string{FallbackPath: "shim", "EFI/BOOT/grub.efi": "grub", "EFI/BOOT/MokManager.efi": "mm"} {
			if b, _ := os.ReadFile(filepath.Join(dir, p)); string(b) != want {
				t.Errorf("%s = %q, want %q", p, b, want)
			}
		}
	})
	t.Run("detect shim", func(t *testing.T) {
		dir := t.TempDir()
		writeESPTree(t, filepath.Join(dir, "boot", "efi"), map[string]string{"EFI/sles/shim.efi": "shim"})
		r := host.NewRoot(dir)
		if !detectShim(r, suseEFI) {
			t.Error("SUSE's shim.efi not seen with SUSE's names")
		}
		if detectShim(r, debianEFI) {
			t.Error("shim seen by Debian's name where there is only shim.efi")
		}
	})
}

func TestReadTreeRefusesSymlinks(t *testing.T) {
	dir := t.TempDir()
	writeESPTree(t, dir, map[string]string{"EFI/a": "a"})
	os.Symlink("/etc/passwd", filepath.Join(dir, "EFI", "link"))
	if _, err := ReadTree(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("err = %v", err)
	}
}

func TestEnsureFallback(t *testing.T) {
	t.Run("added from the loader", func(t *testing.T) {
		dir := t.TempDir()
		writeESPTree(t, dir, map[string]string{"EFI/debian/grubx64.efi": "grub"})
		res, err := EnsureFallback(dir, "EFI/debian/grubx64.efi", false, debianEFI)
		if err != nil || !slices.Equal(res.Wrote, []string{FallbackPath}) {
			t.Fatalf("res %+v err %v", res, err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, FallbackPath))
		if string(b) != "grub" {
			t.Errorf("BOOTX64.EFI = %q", b)
		}
		tree, _ := ReadTree(dir)
		if len(tree) != 5 { // EFI, EFI/BOOT, EFI/BOOT/BOOTX64.EFI, EFI/debian, EFI/debian/grubx64.efi
			t.Errorf("wrote more than the fallback: %+v", tree)
		}
		res, err = EnsureFallback(dir, "EFI/debian/grubx64.efi", false, debianEFI)
		if err != nil || !res.Present || len(res.Wrote) != 0 {
			t.Errorf("second run: %+v %v", res, err)
		}
	})
	t.Run("shim", func(t *testing.T) {
		dir := t.TempDir()
		writeESPTree(t, dir, map[string]string{"EFI/debian/shimx64.efi": "shim", "EFI/debian/grubx64.efi": "grub", "EFI/debian/mmx64.efi": "mm"})
		res, err := EnsureFallback(dir, "EFI/debian/shimx64.efi", true, debianEFI)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Wrote, []string{"EFI/BOOT/grubx64.efi", "EFI/BOOT/mmx64.efi", FallbackPath}) {
			t.Errorf("wrote %v", res.Wrote)
		}
		for p, want := range map[string]string{FallbackPath: "shim", "EFI/BOOT/grubx64.efi": "grub", "EFI/BOOT/mmx64.efi": "mm"} {
			if b, _ := os.ReadFile(filepath.Join(dir, p)); string(b) != want {
				t.Errorf("%s = %q, want %q", p, b, want)
			}
		}
	})
	t.Run("present in other case is kept", func(t *testing.T) {
		dir := t.TempDir()
		writeESPTree(t, dir, map[string]string{"efi/boot/bootx64.efi": "someone's", "efi/debian/grubx64.efi": "grub"})
		res, err := EnsureFallback(dir, "efi/debian/grubx64.efi", false, debianEFI)
		if err != nil || !res.Present {
			t.Errorf("%+v %v", res, err)
		}
	})
	t.Run("no loader", func(t *testing.T) {
		dir := t.TempDir()
		writeESPTree(t, dir, map[string]string{"EFI/debian/grub.cfg": "x"})
		if _, err := EnsureFallback(dir, "EFI/debian/grubx64.efi", false, debianEFI); err == nil {
			t.Error("no error without a loader")
		}
	})
}

func TestFindLoader(t *testing.T) {
	dir := t.TempDir()
	writeESPTree(t, dir, map[string]string{"EFI/debian/grubx64.efi": "g", "EFI/debian/shimx64.efi": "s", "EFI/BOOT/grubx64.efi": "g"})
	if p, err := FindLoader(dir, LoaderGrub2, false, debianEFI); err != nil || p != "EFI/debian/grubx64.efi" {
		t.Errorf("grub: %q %v", p, err)
	}
	if p, err := FindLoader(dir, LoaderGrub2, true, debianEFI); err != nil || p != "EFI/debian/shimx64.efi" {
		t.Errorf("shim: %q %v", p, err)
	}
	if LoaderPathEFI("EFI/debian/shimx64.efi") != `\EFI\debian\shimx64.efi` {
		t.Error(LoaderPathEFI("EFI/debian/shimx64.efi"))
	}
	writeESPTree(t, dir, map[string]string{"EFI/ubuntu/grubx64.efi": "g"})
	if _, err := FindLoader(dir, LoaderGrub2, false, debianEFI); err == nil || !strings.Contains(err.Error(), "more than one") {
		t.Errorf("two distributions: %v", err)
	}
	if _, err := FindLoader(dir, LoaderSystemdBoot, false, debianEFI); err == nil {
		t.Error("systemd-boot found where there is none")
	}
}

func TestMkfsESP(t *testing.T) {
	argv, err := MkfsESP("{new:1}", 32, "ESP", "EEA3-787A")
	if err != nil || strings.Join(argv, " ") != host.MkfsVfat+" -F 32 -n ESP -i EEA3787A {new:1}" {
		t.Errorf("%q %v", argv, err)
	}
	argv, err = MkfsESP("/dev/vdb1", 16, "", "")
	if err != nil || strings.Join(argv, " ") != host.MkfsVfat+" -F 16 /dev/vdb1" {
		t.Errorf("%q %v", argv, err)
	}
	for _, bad := range []struct {
		bits       int
		label, vol string
	}{{31, "", ""}, {32, "esp;rm -rf", ""}, {32, "TOOLONGLABEL", ""}, {32, "", "12345678"}, {32, "", "-i"}} {
		if _, err := MkfsESP("/dev/vdb1", bad.bits, bad.label, bad.vol); err == nil {
			t.Errorf("MkfsESP(%d, %q, %q) accepted", bad.bits, bad.label, bad.vol)
		}
	}
}

func TestProbeESP(t *testing.T) {
	fat32, _ := os.ReadFile("testdata/blkid/fat32-esp.txt")
	fat16, _ := os.ReadFile("testdata/blkid/fat16-esp.txt")
	r := hosttest.NewFakeRunner(t,
		hosttest.Expect{Argv: ProbeESPArgv("/dev/vda1"), Stdout: string(fat32)},
		hosttest.Expect{Argv: ProbeESPArgv("/dev/vdb1"), Stdout: string(fat16)},
		hosttest.Expect{Argv: ProbeESPArgv("/dev/vdc1"), Exit: 2},
	)
	e, err := ProbeESP(context.Background(), r, "/dev/vda1")
	if err != nil {
		t.Fatal(err)
	}
	want := ESPFS{Type: "vfat", Version: "FAT32", Label: "ESPA", UUID: "EEA3-787A", PARTUUID: "c9f42866-ee88-4004-a032-2dbf3696c113",
		PartType: ESPTypeGUID, PartNum: 1, SizeSectors: 131072}
	if e != want || e.FATBits() != 32 {
		t.Errorf("probe = %+v\nwant %+v", e, want)
	}
	if e, _ := ProbeESP(context.Background(), r, "/dev/vdb1"); e.FATBits() != 16 || e.Label != "ESPB" {
		t.Errorf("FAT16 probe = %+v", e)
	}
	if _, err := ProbeESP(context.Background(), r, "/dev/vdc1"); !errors.Is(err, ErrNoFS) {
		t.Errorf("no fs: %v", err)
	}
	if _, err := ParseBlkidExport([]byte("TYPE=vfat\ngarbage\n")); err == nil {
		t.Error("garbage accepted")
	}
	if _, err := ParseBlkidExport([]byte("PART_ENTRY_NUMBER=-1\n")); err == nil {
		t.Error("negative partition number accepted")
	}
}

func TestESPMountDir(t *testing.T) {
	if d := ESPMountDir("WD-X9/../..", "vda1"); d != ESPMountBase+"/WD-X9_.._..-vda1" || strings.Contains(strings.TrimPrefix(d, ESPMountBase+"/"), "/") {
		t.Errorf("ESPMountDir = %q", d)
	}
}

// TestFindLoaderRemovableOnly: an ESP with only the removable-media loader (grub-install
// --removable, Debian's "force extra removable" without the distribution directory) boots by
// EFI/BOOT/BOOTX64.EFI, and the boot entries name it (issue 17, item 15); a distribution
// directory with the loader still wins.
func TestFindLoaderRemovableOnly(t *testing.T) {
	for name, tc := range map[string]struct {
		files map[string]string
		shim  bool
		want  string // "" wants an error
		err   string
	}{
		"removable only":                {map[string]string{"EFI/BOOT/BOOTX64.EFI": "g", "EFI/BOOT/grub.cfg": "c"}, false, "EFI/BOOT/BOOTX64.EFI", ""},
		"removable only, lower case":    {map[string]string{"efi/boot/bootx64.efi": "g"}, false, "efi/boot/bootx64.efi", ""},
		"removable shim only":           {map[string]string{"EFI/BOOT/BOOTX64.EFI": "s", "EFI/BOOT/grubx64.efi": "g", "EFI/BOOT/mmx64.efi": "m"}, true, "EFI/BOOT/BOOTX64.EFI", ""},
		"distribution directory wins":   {map[string]string{"EFI/BOOT/BOOTX64.EFI": "g", "EFI/debian/grubx64.efi": "g"}, false, "EFI/debian/grubx64.efi", ""},
		"a directory named BOOTX64.EFI": {map[string]string{"EFI/BOOT/BOOTX64.EFI/x": "g"}, false, "", "no removable-media loader"},
		"nothing":                       {map[string]string{"EFI/BOOT/grub.cfg": "c"}, false, "", "no removable-media loader"},
		"a directory without a loader":  {map[string]string{"EFI/debian/grub.cfg": "c"}, false, "", "no EFI/<distribution>/grubx64.efi"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeESPTree(t, dir, tc.files)
			p, err := FindLoader(dir, LoaderGrub2, tc.shim, debianEFI)
			switch {
			case tc.want != "" && (err != nil || p != tc.want):
				t.Errorf("FindLoader = %q, %v; want %q", p, err, tc.want)
			case tc.want == "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("FindLoader = %q, %v; want an error with %q", p, err, tc.err)
			}
		})
	}
}
