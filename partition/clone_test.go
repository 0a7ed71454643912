package partition

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/host"
)

var fixedNow = func() time.Time { return time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC) }

// cloneImages runs Clone from src to a fresh target image and returns the result.
func cloneImages(t *testing.T, src, dst string, req CloneRequest) (*CloneResult, error) {
	t.Helper()
	req.Source, req.Target = src, dst
	if req.BackupDir == "" {
		req.BackupDir = filepath.Join(t.TempDir(), "backups")
	}
	if req.Now == nil {
		req.Now = fixedNow
	}
	if req.Rand == nil {
		req.Rand = seeded(42)
	}
	if req.Runner == nil {
		req.Runner = host.ExecRunner{}
	}
	return Clone(host.NewRoot("/"), req)
}

// checkIndependent runs the independent readers over a written image: sfdisk --verify for
// any table, sgdisk -v for GPT.
func checkIndependent(t *testing.T, img string, scheme Scheme) {
	t.Helper()
	out := run(t, host.Sfdisk, "--verify", img)
	if !strings.Contains(out, "No errors detected") || strings.Contains(out, "Partition") {
		t.Errorf("sfdisk --verify:\n%s", out)
	}
	if scheme == GPT {
		out := run(t, host.Sgdisk, "-v", img)
		if !strings.Contains(out, "No problems found") {
			t.Errorf("sgdisk -v:\n%s", out)
		}
	}
}

// checkGolden compares sfdisk --dump of the image with a golden file. The identifiers are
// stable because the tests seed the randomness.
func checkGolden(t *testing.T, img, name string) {
	t.Helper()
	got := normalizeDump(run(t, host.Sfdisk, "--dump", img), img)
	golden.Check(t, filepath.Join("testdata", "golden", name+".sfdisk"), []byte(got))
}

// checkClone holds the properties every cloned table must have: starts aligned for the
// target, sizes not smaller than the source's, kinds/types/names/flags kept, new identifiers.
func checkClone(t *testing.T, src, dst Table) {
	t.Helper()
	unit := int64(physicalUnit(dst.Geometry))
	if len(src.Partitions) != len(dst.Partitions) {
		t.Fatalf("%d partitions cloned from %d", len(dst.Partitions), len(src.Partitions))
	}
	for i, p := range dst.Partitions {
		s := src.Partitions[i]
		if p.Number != s.Number || p.Kind != s.Kind || p.Type != s.Type || p.Bootable != s.Bootable ||
			p.TypeGUID != s.TypeGUID || p.Name != s.Name || p.Attributes != s.Attributes {
			t.Errorf("partition %d changed identity: %+v from %+v", p.Number, p, s)
		}
		if p.IsData() && p.Start%unit != 0 {
			t.Errorf("partition %d starts at byte %d, not a multiple of %d", p.Number, p.Start, unit)
		}
		if p.IsData() && p.Size < s.Size {
			t.Errorf("partition %d shrank from %d to %d bytes", p.Number, s.Size, p.Size)
		}
		if p.Kind == KindGPT && p.GUID == s.GUID {
			t.Errorf("partition %d kept its GUID %s", p.Number, p.GUID)
		}
	}
	switch dst.Scheme {
	case GPT:
		if dst.DiskGUID == src.DiskGUID {
			t.Error("disk GUID kept")
		}
	case MBR:
		if dst.DiskSignature == src.DiskSignature || dst.DiskSignature == 0 {
			t.Errorf("disk signature %#x from %#x", dst.DiskSignature, src.DiskSignature)
		}
	}
}

// TestCloneDoneWhen covers the layouts the issue names, on image files, checked by sfdisk and
// sgdisk and against golden dumps.
func TestCloneDoneWhen(t *testing.T) {
	needTool(t, host.Sfdisk)
	needTool(t, host.Sgdisk)
	tests := []struct {
		name      string
		mk        func(testing.TB, int64) string
		srcSize   int64
		dstSize   int64
		l, p      int
		wantMoves bool
	}{
		{"old MBR at sector 63 onto 512e", oldMBR63, 1 << 30, 1 << 30, 512, 4096, true},
		{"old MBR at sector 63 onto 512n", oldMBR63, 1 << 30, 1 << 30, 512, 512, false},
		{"MBR with logical partitions onto 512e", mbrLogical, 1 << 30, 1 << 30, 512, 4096, false},
		{"GPT BIOS boot ESP RAID onto 512e", gptBiosEspRaid, 1 << 30, 1 << 30, 512, 4096, false},
		{"GPT onto a larger disk", gptBiosEspRaid, 1 << 30, 2 << 30, 512, 512, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.mk(t, tt.srcSize)
			dst := newImage(t, "dst.img", tt.dstSize)
			res, err := cloneImages(t, src, dst, CloneRequest{TargetPhysicalSectorSize: tt.p})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Verified || len(res.Backups) != 2 {
				t.Errorf("verified %v, backups %v", res.Verified, res.Backups)
			}
			if (len(res.Moves) > 0) != tt.wantMoves {
				t.Errorf("moves %+v", res.Moves)
			}
			if tt.dstSize > tt.srcSize && res.Layout.FreeBytes < tt.dstSize-tt.srcSize {
				t.Errorf("larger target: only %d bytes reported free", res.Layout.FreeBytes)
			}
			checkIndependent(t, dst, res.SourceTable.Scheme)
			got := readImage(t, dst, tt.l)
			checkClone(t, *res.SourceTable, got)
			checkGolden(t, dst, strings.NewReplacer(" ", "-", "/", "-").Replace(tt.name))
		})
	}
}

// TestClone512To4Kn clones onto an image file with 4096-byte logical sectors; fdisk -b 4096
// reads it independently (sgdisk checks it on a 4Kn loop device in TestLoop4Kn). A 4Kn
// disk's backup GPT takes 20 KiB against 16.5 KiB with 512-byte sectors, so a last partition
// that filled the source disk does not fit a 4Kn disk of the same size (3.5 KiB short,
// rounded to 4 KiB); the target here has 1 MiB more.
func TestClone512To4Kn(t *testing.T) {
	src := gptBiosEspRaid(t, 1<<30)
	same := newImage(t, "same4k.img", 1<<30)
	_, err := cloneImages(t, src, same, CloneRequest{TargetSectorSize: 4096})
	if re := (*RefusedError)(nil); !errors.As(err, &re) || re.Kind != RefuseTooSmall || re.Shortfall != 4096 {
		t.Errorf("same-size 4Kn target: %v", err)
	}
	dst := newImage(t, "dst4k.img", 1<<30+1<<20)
	res, err := cloneImages(t, src, dst, CloneRequest{TargetSectorSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	got := readImage(t, dst, 4096)
	checkClone(t, *res.SourceTable, got)
	out := run(t, "/sbin/fdisk", "-b", "4096", "-l", dst)
	for _, p := range got.Partitions {
		re := regexp.MustCompile(regexp.QuoteMeta(blockstack.PartitionName(dst, p.Number)) + `\s+(\d+)\s+(\d+)\s+(\d+)`)
		m := re.FindStringSubmatch(out)
		if m == nil || m[1] != itoa(p.Start/4096) || m[3] != itoa(p.Size/4096) {
			t.Errorf("fdisk -b 4096 reads partition %d as %v, want start %d size %d\n%s", p.Number, m, p.Start/4096, p.Size/4096, out)
		}
	}
	if strings.Contains(out, "does not start on physical sector boundary") || strings.Contains(out, "corrupt") {
		t.Errorf("fdisk complains:\n%s", out)
	}
}

// TestCloneTooSmallLeavesTargetUntouched: refused with the shortfall and not a byte written.
func TestCloneTooSmallLeavesTargetUntouched(t *testing.T) {
	src := gptBiosEspRaid(t, 1<<30)
	dst := newImage(t, "small.img", 512<<20)
	before := ContentSum(t, dst)
	backups := filepath.Join(t.TempDir(), "b")
	res, err := cloneImages(t, src, dst, CloneRequest{BackupDir: backups})
	var re *RefusedError
	if !errors.As(err, &re) || re.Kind != RefuseTooSmall || re.Shortfall <= 0 {
		t.Fatalf("err = %v, want a too-small refusal with a shortfall", err)
	}
	if !strings.Contains(err.Error(), "refusing to write "+dst) || !strings.Contains(err.Error(), "bytes short") {
		t.Errorf("message %q", err)
	}
	if after := ContentSum(t, dst); after != before {
		t.Error("the target changed")
	}
	if res.Write != nil || len(res.Backups) != 0 {
		t.Errorf("wrote %+v, backups %v", res.Write, res.Backups)
	}
	if _, err := os.Stat(backups); !os.IsNotExist(err) {
		t.Errorf("backup directory created for a refused clone: %v", err)
	}
}

// TestCloneExistingData: a target with an old table and an md superblock where a new
// partition will be is refused without Wipe, and cleaned with it.
func TestCloneExistingData(t *testing.T) {
	src := gptBiosEspRaid(t, 1<<30)
	dst := mbrLogical(t, 1<<30)
	srcTab := readImage(t, src, 512)
	p4, _ := srcTab.Partition(4)
	off, sb := md1{minor: 2, devSize: p4.Size, dataOffset: 2048, dataSize: uint64(p4.Size/512 - 2048), size: uint64(p4.Size/512 - 4096), role: 0, name: "old:9"}.bytes()
	writeAt(t, dst, p4.Start+off, sb)
	before := ContentSum(t, dst)
	_, err := cloneImages(t, src, dst, CloneRequest{})
	if k, ok := IsRefusal(err); !ok || k != RefuseExistingData {
		t.Fatalf("err = %v, want an existing-data refusal", err)
	}
	for _, want := range []string{"dos partition table", "md 1.2 superblock of array old:9", "--wipe"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	if ContentSum(t, dst) != before {
		t.Fatal("the target changed")
	}
	res, err := cloneImages(t, src, dst, CloneRequest{Wipe: true})
	if err != nil {
		t.Fatal(err)
	}
	checkIndependent(t, dst, GPT)
	d, _ := Open(dst, OpenOptions{})
	defer d.Close()
	sigs, err := FindSignatures(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 1 || !strings.HasPrefix(sigs[0].What, "gpt partition table") {
		t.Errorf("after --wipe the target still carries %v", sigs)
	}
	if len(res.Write.Wiped) == 0 {
		t.Error("nothing reported wiped")
	}
}

// TestCloneShrinksLastMember: a target slightly smaller than the source still takes the
// layout when the last partition holds an md member whose data fits; from files alone.
func TestCloneShrinksLastMember(t *testing.T) {
	src := gptBiosEspRaid(t, 1<<30)
	tab := readImage(t, src, 512)
	p4, _ := tab.Partition(4)
	// The array uses 100 MiB less than the partition holds.
	comp := uint64(p4.Size/512 - 2048 - 100*2048)
	off, sb := md1{minor: 2, devSize: p4.Size, dataOffset: 2048, dataSize: uint64(p4.Size/512 - 2048), size: comp, role: 1, name: "host:root"}.bytes()
	writeAt(t, src, p4.Start+off, sb)
	dst := newImage(t, "smaller.img", 1<<30-50<<20)
	res, err := cloneImages(t, src, dst, CloneRequest{TargetPhysicalSectorSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Needs) != 1 || res.Needs[0].Partition != 4 || res.Needs[0].Need != int64(2048+comp)*512 {
		t.Fatalf("needs %+v", res.Needs)
	}
	got, _ := res.Layout.Partition(4)
	if got.Size < res.Needs[0].Need || got.Size >= p4.Size {
		t.Errorf("partition 4 has %d bytes; source %d, need %d", got.Size, p4.Size, res.Needs[0].Need)
	}
	if len(res.Moves) != 1 || res.Moves[0].Kind != MoveShrunk {
		t.Errorf("moves %+v", res.Moves)
	}
	checkIndependent(t, dst, GPT)

	tiny := newImage(t, "tiny.img", 1<<30-200<<20)
	_, err = cloneImages(t, src, tiny, CloneRequest{})
	var re *RefusedError
	if !errors.As(err, &re) || re.Kind != RefuseTooSmall || !strings.Contains(err.Error(), "host:root") {
		t.Fatalf("err = %v, want a too-small refusal naming the array", err)
	}
}

// TestCloneSectorSizeChangeRefused: a 512-byte md member does not go onto a 4Kn image unless
// allowed.
func TestCloneSectorSizeChangeRefused(t *testing.T) {
	src := gptBiosEspRaid(t, 1<<30)
	tab := readImage(t, src, 512)
	p3, _ := tab.Partition(3)
	off, sb := md1{minor: 2, devSize: p3.Size, dataOffset: 2048, dataSize: uint64(p3.Size/512 - 2048), size: uint64(p3.Size/512 - 4096), name: "host:boot"}.bytes()
	writeAt(t, src, p3.Start+off, sb)
	dst := newImage(t, "dst4k.img", 1<<30+1<<20)
	before := ContentSum(t, dst)
	_, err := cloneImages(t, src, dst, CloneRequest{TargetSectorSize: 4096})
	if k, _ := IsRefusal(err); k != RefuseSectorSizeChange || !strings.Contains(err.Error(), "mdadm#187") {
		t.Fatalf("err = %v", err)
	}
	if ContentSum(t, dst) != before {
		t.Fatal("target changed")
	}
	if _, err := cloneImages(t, src, dst, CloneRequest{TargetSectorSize: 4096, AllowSectorSizeChange: true}); err != nil {
		t.Fatal(err)
	}
}

func TestCloneBackups(t *testing.T) {
	src := mbrLogical(t, 1<<30)
	dst := newImage(t, "dst.img", 1<<30)
	res, err := cloneImages(t, src, dst, CloneRequest{})
	if err != nil {
		t.Fatal(err)
	}
	dir := res.Backups[0]
	if filepath.Base(dir) != "logical.img-20261101T120000Z" {
		t.Errorf("backup directory %s", dir)
	}
	head, err := os.ReadFile(filepath.Join(dir, "head.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(src)
	defer f.Close()
	want := make([]byte, len(head))
	f.ReadAt(want, 0)
	if string(head) != string(want) || len(head) != 1<<20 {
		t.Error("head.bin is not the source's first MiB")
	}
	dump, _ := os.ReadFile(filepath.Join(dir, "table.sfdisk"))
	if string(dump) != run(t, host.Sfdisk, "--dump", src) {
		t.Errorf("table.sfdisk differs from sfdisk --dump:\n%s", dump)
	}
	ebrs, _ := filepath.Glob(filepath.Join(dir, "ebr-*.bin"))
	if len(ebrs) != 3 {
		t.Errorf("EBR backups %v", ebrs)
	}
	readme, _ := os.ReadFile(filepath.Join(dir, "README.txt"))
	if !strings.Contains(string(readme), "dd if=head.bin of="+src) {
		t.Errorf("README:\n%s", readme)
	}
	// Restoring the target's backup with sfdisk gives back its (empty) state; restoring the
	// source's dump onto a blank image reproduces the source table.
	blank := newImage(t, "restore.img", 1<<30)
	runStdin(t, string(dump), host.Sfdisk, "-q", blank)
	if got, want := normalizeDump(run(t, host.Sfdisk, "--dump", blank), blank), normalizeDump(string(dump), src); got != want {
		t.Errorf("restored dump:\n%s\nwant:\n%s", got, want)
	}
}

func TestCloneRefusesSameDiskAndAttachedImage(t *testing.T) {
	src := gptBiosEspRaid(t, 256<<20)
	_, err := cloneImages(t, src, src, CloneRequest{})
	if k, _ := IsRefusal(err); k != RefuseSameDisk {
		t.Errorf("same image: %v", err)
	}
}

func itoa(n int64) string { return strconvItoa(n) }

// TestCloneOnto3TiB: on a disk over 2 TiB the protective MBR's size is clamped to 0xFFFFFFFF
// (go-diskfs wraps it) and the backup GPT goes to the end of the target, not of the source.
func TestCloneOnto3TiB(t *testing.T) {
	src := gptBiosEspRaid(t, 1<<30)
	dst := newImage(t, "big.img", 3<<40)
	res, err := cloneImages(t, src, dst, CloneRequest{TargetPhysicalSectorSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	checkIndependent(t, dst, GPT)
	f, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s0 := make([]byte, 512)
	if _, err := f.ReadAt(s0, 0); err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(s0[446+12:]); got != 0xFFFFFFFF {
		t.Errorf("protective MBR size %#x, want 0xFFFFFFFF", got)
	}
	if res.Layout.LastUsableLBA != (3<<40)/512-34 {
		t.Errorf("last usable LBA %d", res.Layout.LastUsableLBA)
	}
	if res.Layout.FreeBytes < 3<<40-1<<30-1<<20 {
		t.Errorf("free %d", res.Layout.FreeBytes)
	}
}
