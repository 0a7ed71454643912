package partition

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
)

// Loop-device tests: real block devices on this host, where the kernel does not parse
// partition tables itself, so the BLKPG path is what makes partitions appear.

// attachLoop attaches an image to a free loop device and detaches exactly that device when
// the test ends.
func attachLoop(t *testing.T, img string, sectorSize int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loop devices need root")
	}
	needTool(t, host.Losetup)
	args := []string{host.Losetup, "--show", "-f"}
	if sectorSize != 0 {
		args = append(args, "--sector-size", itoa(int64(sectorSize)))
	}
	res, err := host.ExecRunner{}.Run(context.Background(), append(args, img)...)
	if err != nil {
		t.Skipf("cannot attach a loop device: %v", err)
	}
	dev := strings.TrimSpace(string(res.Stdout))
	t.Cleanup(func() {
		if _, err := (host.ExecRunner{}).Run(context.Background(), host.Losetup, "-d", dev); err != nil {
			t.Errorf("detaching %s: %v", dev, err)
		}
	})
	return dev
}

func checkKernelSees(t *testing.T, dev string, lay Layout) {
	t.Helper()
	name := filepath.Base(dev)
	root := host.NewRoot("/")
	if err := VerifyKernel(root, name, lay); err != nil {
		t.Error(err)
	}
	for _, p := range lay.Partitions {
		if _, err := os.Stat("/dev/" + blockstack.PartitionName(name, p.Number)); err != nil {
			t.Errorf("device node: %v", err)
		}
	}
}

func TestLoopClone(t *testing.T) {
	src := gptBiosEspRaid(t, 1<<30)
	dev := attachLoop(t, newImage(t, "target.img", 1<<30), 0)
	res, err := cloneImages(t, src, dev, CloneRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kernel == nil || len(res.Kernel.Partitions) != 4 {
		t.Fatalf("kernel update %+v", res.Kernel)
	}
	t.Logf("kernel learned the table via %s (%s)", res.Kernel.Method, res.Kernel.RereadError)
	checkKernelSees(t, dev, *res.Layout)
	out := run(t, host.Sgdisk, "-v", dev)
	if !strings.Contains(out, "No problems found") {
		t.Errorf("sgdisk -v %s:\n%s", dev, out)
	}
	checkClone(t, *res.SourceTable, readImage(t, dev, 0))
	// partx reads the table independently and lists what it would give the kernel.
	px := run(t, host.Partx, "--show", "-o", "NR,START,SECTORS", "-g", dev)
	for _, p := range res.Layout.Partitions {
		want := itoa(int64(p.Number)) + " " + itoa(p.Start/512) + " " + itoa(p.Size/512)
		if !strings.Contains(strings.Join(strings.Fields(px), " "), want) {
			t.Errorf("partx --show lacks %q:\n%s", want, px)
		}
	}

	// A second clone onto the now partitioned disk needs --wipe, and replaces the kernel's
	// stale partitions.
	src2 := mbrLogical(t, 1<<30)
	if _, err := cloneImages(t, src2, dev, CloneRequest{}); err == nil {
		t.Fatal("cloned over an existing table without --wipe")
	}
	res2, err := cloneImages(t, src2, dev, CloneRequest{Wipe: true})
	if err != nil {
		t.Fatal(err)
	}
	checkKernelSees(t, dev, *res2.Layout)
	out = run(t, host.Sfdisk, "--verify", dev)
	if !strings.Contains(out, "No errors detected") {
		t.Errorf("sfdisk --verify %s:\n%s", dev, out)
	}
}

// TestLoop4Kn clones a 512-byte GPT onto a loop device with 4096-byte sectors and lets sgdisk
// and sfdisk, which take the sector size from the device, check it.
func TestLoop4Kn(t *testing.T) {
	src := gptBiosEspRaid(t, 1<<30)
	dev := attachLoop(t, newImage(t, "target4k.img", 1<<30+1<<20), 4096)
	res, err := cloneImages(t, src, dev, CloneRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if g := res.Layout.Geometry; g.LogicalSectorSize != 4096 {
		t.Fatalf("target geometry %s", g)
	}
	checkKernelSees(t, dev, *res.Layout)
	out := run(t, host.Sgdisk, "-v", dev)
	if !strings.Contains(out, "No problems found") {
		t.Errorf("sgdisk -v %s:\n%s", dev, out)
	}
	dump := run(t, host.Sfdisk, "--dump", dev)
	if !strings.Contains(dump, "sector-size: 4096") || !strings.Contains(dump, "first-lba: 6") {
		t.Errorf("sfdisk --dump:\n%s", dump)
	}
	checkClone(t, *res.SourceTable, readImage(t, dev, 0))
	checkGolden(t, dev, "GPT-512-onto-4Kn-loop")
}

// TestLoopLogical4Kn: a DOS table with logical partitions onto a 4Kn loop device; the kernel
// gets the extended partition as one 4 KiB sector, as its own parser would register it.
func TestLoopLogical4Kn(t *testing.T) {
	src := oldMBR63(t, 1<<30)
	dev := attachLoop(t, newImage(t, "target4k.img", 1<<30), 4096)
	res, err := cloneImages(t, src, dev, CloneRequest{})
	if err != nil {
		t.Fatal(err)
	}
	checkKernelSees(t, dev, *res.Layout)
	kp, err := KernelPartitions(host.NewRoot("/"), filepath.Base(dev))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kp {
		if k.Number == 3 && k.Size != 4096 {
			t.Errorf("extended partition registered with %d bytes", k.Size)
		}
	}
	out := run(t, host.Sfdisk, "--verify", dev)
	if !strings.Contains(out, "No errors detected") {
		t.Errorf("sfdisk --verify %s:\n%s", dev, out)
	}
	checkClone(t, *res.SourceTable, readImage(t, dev, 0))
}

// TestLoopRefusesInUse: a mounted partition on the target, and an image attached to a loop
// device, are refused with the device named; the kernel's O_EXCL backs the first up.
func TestLoopRefusesInUse(t *testing.T) {
	needTool(t, host.MkfsExt4)
	src := gptBiosEspRaid(t, 256<<20)
	img := newImage(t, "target.img", 256<<20)
	dev := attachLoop(t, img, 0)
	if _, err := cloneImages(t, src, dev, CloneRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err := cloneImages(t, src, img, CloneRequest{Wipe: true})
	if k, _ := IsRefusal(err); k != RefuseInUse || !strings.Contains(err.Error(), "attached to "+dev) {
		t.Errorf("attached image: %v", err)
	}
	part := "/dev/" + blockstack.PartitionName(filepath.Base(dev), 3)
	run(t, host.MkfsExt4, "-q", part)
	mnt := t.TempDir()
	run(t, host.Mount, part, mnt)
	defer run(t, host.Umount, mnt)
	before := ContentSum(t, img)
	_, err = cloneImages(t, src, dev, CloneRequest{Wipe: true})
	want := "refusing to write " + dev + ": it holds " + filepath.Base(part) + ", mounted at " + mnt
	if k, _ := IsRefusal(err); k != RefuseInUse || !strings.Contains(err.Error(), want) {
		t.Errorf("mounted partition: %v\nwant %q", err, want)
	}
	// The kernel refuses the exclusive open on its own.
	if _, err := Open(dev, OpenOptions{Write: true}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("O_EXCL open of a disk with a mounted partition: %v", err)
	}
	if ContentSum(t, img) != before {
		t.Error("the target changed")
	}
}

// An attached image named through a symlink or a second hard link is the attached image.
func TestLoopAttachedImageThroughLink(t *testing.T) {
	src := gptBiosEspRaid(t, 256<<20)
	img := newImage(t, "attached.img", 256<<20)
	dev := attachLoop(t, img, 0)
	link := filepath.Join(t.TempDir(), "link.img")
	if err := os.Symlink(img, link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(filepath.Dir(img), "hard.img")
	if err := os.Link(img, hard); err != nil {
		t.Fatal(err)
	}
	before := ContentSum(t, img)
	for _, p := range []string{img, link, hard} {
		_, err := cloneImages(t, src, p, CloneRequest{})
		if k, _ := IsRefusal(err); k != RefuseInUse || !strings.Contains(err.Error(), "attached to "+dev) {
			t.Errorf("%s: err = %v, want the attached-image refusal", p, err)
		}
	}
	if ContentSum(t, img) != before {
		t.Error("the attached image changed")
	}
}
