package simulate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// labDiskSize keeps the lab's files (tmpfs in the guest) small: the seed layout needs 98 MiB
// before md1, which gets the rest.
const labDiskSize = 192 * mib

// labHelper runs the lab's ops inside the guest (see helper):
//
//	lab BASE                  the whole life of a lab, printing what it saw and how long it took
//	lab-orphan BASE MD READY  a lab with a seed (arrays mdMD, mdMD+1) that is never closed:
//	                          md MD mounted, swap on; writes READY, then sleeps until killed
//	lab-cleanup BASE          CleanupLeftovers
func labHelper(op string, a []string) error {
	ctx, root := context.Background(), host.NewRoot("/")
	var r host.Runner = host.ExecRunner{}
	if os.Getenv("LAB_TIMES") != "" {
		r = timingRunner{r}
	}
	switch op {
	case "lab":
		return labLife(ctx, r, root, a[0])
	case "lab-orphan":
		n, _ := strconv.Atoi(a[1])
		l, err := NewLab(ctx, r, root, a[0])
		if err != nil {
			return err
		}
		var devs []string
		for i := range 2 {
			d, err := l.Insert(ctx, DiskSpec{Serial: l.NewSerial(), Size: labDiskSize, SectorSize: 512 << (3 * i)})
			if err != nil {
				return err
			}
			devs = append(devs, d)
		}
		boot, rest := "md"+strconv.Itoa(n), "md"+strconv.Itoa(n+1)
		s, err := PlanSeed(devs, Options{Root: root, DMDisks: devs[1:], Arrays: []ArraySpec{
			{Name: boot, Metadata: "1.0", Size: 64 * mib, Label: "boot"}, {Name: rest, Label: "root"}}})
		if err != nil {
			return err
		}
		if err := s.Build(ctx, r); err != nil {
			return err
		}
		if err := l.MountArray(ctx, boot, filepath.Join(l.Dir, "boot")); err != nil {
			return err
		}
		if _, err := run(ctx, r, "swapon", host.Swapon, s.Swaps[0]); err != nil {
			return err
		}
		fmt.Printf("orphan %s %s\n", l.Dir, strings.Join(devs, " "))
		if err := os.WriteFile(a[2], []byte(l.Dir+"\n"), 0o644); err != nil {
			return err
		}
		time.Sleep(time.Hour)
		return nil
	case "lab-flaky":
		return labFlaky(ctx, r, root, a[0])
	case "lab-bootcopy":
		return labBootCopy(ctx, r, root, a[0])
	case "lab-cleanup":
		c, err := CleanupLeftovers(ctx, r, root, a[0])
		fmt.Printf("cleanup unmounted=%q swapoff=%q arrays=%q dm=%q loops=%q files=%d\n", c.Unmounted, c.Swapoff, c.Arrays, c.DM, c.Loops, len(c.Files))
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Printf("cleanup says: %s\n", line)
			}
		}
		return nil
	case "lab-swap":
		return labSwap(ctx, r, root, a[0], a[1])
	}
	return fmt.Errorf("unknown lab op %q", op)
}

// labLife is TestVMLab's guest side: make, seed, mount, GRUB, vanish, insert, pull, close.
func labLife(ctx context.Context, r host.Runner, root *host.Root, base string) error {
	l, err := NewLab(ctx, r, root, base)
	if err != nil {
		return err
	}
	fmt.Printf("lab %s\n", l.Dir)
	a, b := l.NewSerial(), l.NewSerial()
	start := time.Now()
	devA, err := l.Insert(ctx, DiskSpec{Serial: a, Size: labDiskSize})
	if err != nil {
		return err
	}
	devB, err := l.Insert(ctx, DiskSpec{Serial: b, Size: labDiskSize, SectorSize: 4096})
	if err != nil {
		return err
	}
	inserted := time.Now()
	s, err := PlanSeed([]string{devA, devB}, Options{Root: root, DMDisks: []string{devB}, Canary: true})
	if err != nil {
		return err
	}
	if err := s.Build(ctx, r); err != nil {
		return err
	}
	built := time.Now()
	boot := filepath.Join(l.Dir, "boot")
	if err := l.MountArray(ctx, "md0", boot); err != nil {
		return err
	}
	if err := InstallGRUB(ctx, r, boot, devA, devB); err != nil {
		return err
	}
	grub := time.Now()
	fmt.Printf("timing insert=%.2fs seed=%.2fs grub=%.2fs total=%.2fs\n", inserted.Sub(start).Seconds(),
		built.Sub(inserted).Seconds(), grub.Sub(built).Seconds(), grub.Sub(start).Seconds())
	for _, d := range []string{devA, devB} {
		ss, _ := root.ReadString("/sys/block/" + kname(d) + "/queue/logical_block_size")
		fmt.Printf("disk %s logical %s\n", d, ss)
	}
	for _, d := range l.Disks() {
		fmt.Printf("labdisk %s %s %s\n", d.Serial, d.Device, d.File)
	}
	mdstat, _ := root.ReadFile("/proc/mdstat")
	fmt.Printf("== seeded\n%s", mdstat)

	ms, err := l.Vanish(ctx, b)
	for _, m := range ms {
		fmt.Printf("member %s %s %s\n", m.Array, m.Device, m.State)
	}
	if err != nil {
		return err
	}
	_, still := l.Device(b)
	mdstat, _ = root.ReadFile("/proc/mdstat")
	fmt.Printf("== vanished (attached: %t)\n%s", still, mdstat)

	c := l.NewSerial()
	devC, err := l.Insert(ctx, DiskSpec{Serial: c, Size: labDiskSize})
	if err != nil {
		return err
	}
	fmt.Printf("inserted %s %s\n", c, devC)
	if err := l.Pull(ctx, a); err == nil {
		return fmt.Errorf("Pull of %s, which md0 and md1 hold, succeeded", a)
	} else {
		fmt.Printf("pull refused: %v\n", err)
	}
	if err := l.Pull(ctx, c); err != nil {
		return err
	}
	_, still = l.Device(c)
	fmt.Printf("pulled %s (attached: %t)\n", c, still)

	cl, err := l.Close(ctx)
	fmt.Printf("close unmounted=%q swapoff=%q arrays=%q dm=%q loops=%q files=%d\n", cl.Unmounted, cl.Swapoff, cl.Arrays, cl.DM, cl.Loops, len(cl.Files))
	if err != nil {
		return err
	}
	cl, err = l.Close(ctx)
	fmt.Printf("close again: %d loops, %v\n", len(cl.Loops), err)
	return err
}

// labSwap is TestVMLabSwappedImage's guest side: two disks made on the shelf (Prepare), their
// images swapped for hard links to one host file before they are attached; each Insert must
// refuse, naming the disk, and attach nothing. A third disk, attached from its descriptor,
// is the inode the marker records (LOOP_GET_STATUS64), and Close tears it all down except
// the links, which are named.
func labSwap(ctx context.Context, r host.Runner, root *host.Root, base, hostFile string) error {
	l, err := NewLab(ctx, r, root, base)
	if err != nil {
		return err
	}
	a, b, c := l.NewSerial(), l.NewSerial(), l.NewSerial()
	for _, s := range []string{a, b} {
		if err := l.Prepare(ctx, DiskSpec{Serial: s, Size: labDiskSize}, false); err != nil {
			return err
		}
	}
	for _, s := range []string{a, b} {
		if err := os.Remove(l.file(s)); err != nil {
			return err
		}
		if err := os.Link(hostFile, l.file(s)); err != nil {
			return err
		}
	}
	for _, s := range []string{a, b} {
		dev, err := l.Insert(ctx, DiskSpec{Serial: s})
		fmt.Printf("insert %s: dev=%q err=%v\n", s, dev, err)
	}
	devC, err := l.Insert(ctx, DiskSpec{Serial: c, Size: labDiskSize, SectorSize: 4096})
	if err != nil {
		return err
	}
	dev, ino, err := identify.LoopBacking(root, kname(devC))
	m, _ := readMarker(l.Dir)
	d := m.Disk(c)
	ss, _ := root.ReadString("/sys/block/" + kname(devC) + "/queue/logical_block_size")
	fmt.Printf("attached %s from its descriptor: inode matches=%t sector=%s err=%v\n", c, d != nil && dev == d.Dev && ino == d.Ino, ss, err)
	if _, _, err := identify.ProveDrillDisk(root, kname(devC)); err != nil {
		fmt.Printf("prove %s: %v\n", c, err)
	} else {
		fmt.Printf("prove %s: ok\n", c)
	}
	// The swapped image attached by path, as a hand (or an older raidswap) would: the kernel's
	// inode behind the loop is the host file's, and the allowlist's rule says so.
	res, err := run(ctx, r, "attaching the swapped image by path", host.Losetup, "--find", "--show", l.file(a))
	if err != nil {
		return err
	}
	byPath := strings.TrimSpace(string(res.Stdout))
	if _, _, err := identify.ProveDrillDisk(root, kname(byPath)); err != nil {
		fmt.Printf("prove swapped %s: %v\n", a, err)
	} else {
		fmt.Printf("prove swapped %s: ok\n", a)
	}
	if _, err := run(ctx, r, "detaching", host.Losetup, "--detach", byPath); err != nil {
		return err
	}
	cl, err := l.Close(ctx)
	fmt.Printf("close loops=%q files=%d\n", cl.Loops, len(cl.Files))
	for _, line := range strings.Split(fmt.Sprint(err), "\n") {
		fmt.Printf("close says: %s\n", line)
	}
	return nil
}

// labBootCopy is TestVMLabBootCopy's guest side: arrays made --assume-clean on fresh disks
// have no mismatch when md checks them, and the boot code CopyBootCode copies is the bytes
// grub-install itself wrote on the second disk.
func labBootCopy(ctx context.Context, r host.Runner, root *host.Root, base string) error {
	l, err := NewLab(ctx, r, root, base)
	if err != nil {
		return err
	}
	defer func() {
		c, err := l.Close(ctx)
		fmt.Printf("close arrays=%q loops=%q err=%v\n", c.Arrays, c.Loops, err)
	}()
	var devs []string
	for range 2 {
		d, err := l.Insert(ctx, DiskSpec{Serial: l.NewSerial(), Size: labDiskSize})
		if err != nil {
			return err
		}
		devs = append(devs, d)
	}
	if err := BuildSeed(ctx, r, devs, Options{Root: root, AssumeClean: true}); err != nil {
		return err
	}
	for _, md := range []string{"md0", "md1"} {
		if err := os.WriteFile("/sys/block/"+md+"/md/sync_action", []byte("check\n"), 0o644); err != nil {
			return err
		}
		_, _ = r.Run(ctx, host.Mdadm, "--wait", "/dev/"+md)
		mm, err := root.ReadString("/sys/block/" + md + "/md/mismatch_cnt")
		if err != nil {
			return err
		}
		fmt.Printf("%s mismatch_cnt=%s\n", md, mm)
	}
	boot := filepath.Join(l.Dir, "boot")
	if err := l.MountArray(ctx, "md0", boot); err != nil {
		return err
	}
	if err := InstallGRUB(ctx, r, boot, devs...); err != nil {
		return err
	}
	code := func(dev string) ([]byte, error) {
		f, err := os.Open(dev)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		mbr := make([]byte, 440)
		if _, err := f.ReadAt(mbr, 0); err != nil {
			return nil, err
		}
		p1, err := os.ReadFile(partDev(dev, 1))
		if err != nil {
			return nil, err
		}
		return append(mbr, p1...), nil
	}
	installed, err := code(devs[1])
	if err != nil {
		return err
	}
	// Wipe the second disk's boot code, then copy the first's over it.
	for _, argv := range [][]string{
		{host.Dd, "if=/dev/zero", "of=" + devs[1], "bs=440", "count=1", "conv=notrunc,fsync", "status=none"},
		{host.Dd, "if=/dev/zero", "of=" + partDev(devs[1], 1), "bs=1M", "conv=notrunc,fsync", "status=none"},
	} {
		if _, err := run(ctx, r, "wiping boot code", argv...); err != nil && !strings.Contains(err.Error(), "No space left") {
			return err
		}
	}
	if wiped, _ := code(devs[1]); string(wiped) == string(installed) {
		return fmt.Errorf("the wipe left the boot code of %s in place", devs[1])
	}
	if err := CopyBootCode(ctx, r, GPT, 512, devs[0], devs[1]); err != nil {
		return err
	}
	copied, err := code(devs[1])
	if err != nil {
		return err
	}
	fmt.Printf("bootcopy bytes=%d identical=%t\n", len(installed), string(copied) == string(installed))
	return nil
}

// labFlaky is TestVMLabFlaky's guest side: the survivor's reads fail while a dirty new disk
// is rebuilt from it.
func labFlaky(ctx context.Context, r host.Runner, root *host.Root, base string) error {
	l, err := NewLab(ctx, r, root, base)
	if err != nil {
		return err
	}
	defer func() {
		c, err := l.Close(ctx)
		fmt.Printf("close arrays=%q dm=%q loops=%q err=%v\n", c.Arrays, c.DM, c.Loops, err)
	}()
	a, b, c := l.NewSerial(), l.NewSerial(), l.NewSerial()
	devA, err := l.Insert(ctx, DiskSpec{Serial: a, Size: labDiskSize})
	if err != nil {
		return err
	}
	devB, err := l.Insert(ctx, DiskSpec{Serial: b, Size: labDiskSize})
	if err != nil {
		return err
	}
	if err := BuildSeed(ctx, r, []string{devA, devB}, Options{Root: root, DMDisks: []string{devA}}); err != nil {
		return err
	}
	ms, err := FailDisk(ctx, r, root, devB)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if err := RemoveMember(ctx, r, m.Array, m.Device); err != nil {
			return err
		}
	}
	if err := l.Pull(ctx, b); err != nil {
		return err
	}
	if err := l.Prepare(ctx, DiskSpec{Serial: c, Size: labDiskSize}, true); err != nil {
		return err
	}
	devC, err := l.Insert(ctx, DiskSpec{Serial: c})
	if err != nil {
		return err
	}
	settleUdevIfRunning(ctx, r)
	ex, _ := r.Run(ctx, host.Mdadm, "--examine", partDev(devC, 1))
	fmt.Printf("== dirty\n%s", ex.Stdout)
	for _, m := range mustMembers(root) {
		if m.Disk == kname(devC) {
			fmt.Printf("assembled %s from %s\n", m.Array, m.Device)
			if _, err := run(ctx, r, "stopping", host.Mdadm, "--stop", "/dev/"+m.Array); err != nil {
				return err
			}
		}
	}
	if err := ClonePartitions(ctx, r, root, devA, devC); err != nil {
		return err
	}
	if err := l.Flaky(ctx, a); err != nil {
		return err
	}
	tab, _ := r.Run(ctx, host.Dmsetup, "table", dmName(partDev(devA, 4)))
	fmt.Printf("== flaky\n%s", tab.Stdout)
	for _, n := range []int{2, 4} {
		md := "/dev/md" + strconv.Itoa(n/2-1)
		if _, err := run(ctx, r, "adding", host.Mdadm, md, "--add", partDev(devC, n)); err != nil {
			return err
		}
	}
	r.Run(ctx, host.Mdadm, "--wait", "/dev/md0", "/dev/md1")
	for _, md := range []string{"md0", "md1"} {
		// Is the array readable from start to end while the survivor is flaky?
		_, err := r.Run(ctx, host.Dd, "if=/dev/"+md, "of=/dev/null", "bs=1M", "iflag=direct", "status=none")
		fmt.Printf("read %s: %v\n", md, err)
	}
	mdstat, _ := root.ReadFile("/proc/mdstat")
	fmt.Printf("== rebuilt\n%s", mdstat)
	for _, md := range []string{"md0", "md1"} {
		deg, _ := root.ReadString("/sys/block/" + md + "/md/degraded")
		fmt.Printf("%s degraded=%s\n", md, deg)
		ds, _ := root.Glob("/sys/block/" + md + "/md/dev-*")
		for _, d := range ds {
			st, _ := root.ReadString(d + "/state")
			bb, _ := root.ReadString(d + "/bad_blocks")
			n := 0
			if bb != "" {
				n = len(strings.Split(bb, "\n"))
			}
			fmt.Printf("%s %s state=%s bad_blocks=%d\n", md, filepath.Base(d), st, n)
		}
	}
	if err := l.Restore(ctx, a); err != nil {
		return err
	}
	tab, _ = r.Run(ctx, host.Dmsetup, "table", dmName(partDev(devA, 4)))
	fmt.Printf("== restored\n%s", tab.Stdout)
	return nil
}

func mustMembers(root *host.Root) []Member {
	ms, _ := Members(root)
	return ms
}

// timingRunner prints how long each slow command took (where a lab's seconds go).
type timingRunner struct{ r host.Runner }

func (t timingRunner) Run(ctx context.Context, argv ...string) (host.Result, error) {
	res, err := t.r.Run(ctx, argv...)
	if res.Duration > 200*time.Millisecond {
		fmt.Printf("took %.2fs %s\n", res.Duration.Seconds(), strings.Join(argv, " "))
	}
	return res, err
}

// labScript starts the guest side: the modules a drill needs, then the helper.
const labScript = `modprobe -a loop dm-mod raid1
`

// labCheck shows what is left of labs: loops, dm tables, arrays, directories.
const labCheck = `
echo "== left"
echo "loops: $(losetup -a | grep -c raidswap-drill || true)"
echo "dm: $(dmsetup ls 2>/dev/null | grep -c rs- || true)"
echo "md: $(grep -c '^md' /proc/mdstat || true)"
echo "labs: $(ls $BASE 2>/dev/null | wc -l)"
`

func runLabVM(t *testing.T, script string) *vmtest.Result {
	t.Helper()
	vmtest.Require(t)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	res := vmtest.RunT(t, vmtest.Config{
		Timeout: 5 * time.Minute, MemoryMB: 1536,
		Script: "SIM=\"env SIMULATE_HELPER=1 " + bin + "\"\nBASE=/var/lib/raidswap/drill\nset -e\n" + labScript + script + labCheck,
	})
	t.Logf("guest output:\n%s", res.Output)
	if res.ExitCode != 0 {
		t.Fatalf("scenario exit %d", res.ExitCode)
	}
	return res
}

// TestVMLab lives one lab through on a real kernel: two disks (512 and 4096-byte sectors)
// with the seed on them (the 4Kn disk's members on dm), /boot mounted, GRUB on both; the dm
// disk vanishes while md holds it (md shows it removed, the loop is gone), a third disk is
// inserted and pulled, a held disk's pull is refused, and Close leaves nothing behind.
func TestVMLab(t *testing.T) {
	res := runLabVM(t, `LAB_TIMES=1 $SIM lab ""
`)
	seeded, vanished, _ := strings.Cut(res.Output, "== vanished")
	golden.Contains(t, seeded, "logical 512\n", "logical 4096\n", "md0 : active raid1", "[2/2] [UU]")
	golden.Contains(t, seeded, "member md0 dm-", "member md1 dm-")
	golden.Contains(t, vanished, "(attached: false)", "[2/1] [U_]",
		"pull refused: refusing /dev/loop0: ", "held by md0", "pulled DRILL-C",
		`arrays=["/dev/md0" "/dev/md1"]`, "close again: 0 loops, <nil>",
		"loops: 0\n", "dm: 0\n", "md: 0\n", "labs: 0\n")
	for _, line := range strings.Split(res.Output, "\n") {
		if strings.HasPrefix(line, "timing ") {
			t.Log(line)
		}
	}
	if strings.Contains(vanished, "(F)") {
		t.Errorf("a vanished member is still listed faulty:\n%s", vanished)
	}
}

// TestVMLabLeftovers kills a drill that never closes its lab (mounted /boot, swap on, dm
// members), and a second one whose directory is then deleted under its loops: a cleanup
// while the first still runs leaves it alone; after the kill, CleanupLeftovers removes the
// first, and leaves the second's loops and arrays (no marker says raidswap made them), naming
// them.
func TestVMLabLeftovers(t *testing.T) {
	res := runLabVM(t, `
ready() { for i in $(seq 900); do [ -s $1 ] && return; sleep 0.1; done; echo "TIMEOUT waiting for $1"; exit 1; }
$SIM lab-orphan $BASE 10 /run/ready1 & P1=$!
ready /run/ready1
$SIM lab-orphan $BASE 20 /run/ready2 & P2=$!
ready /run/ready2
kill -9 $P2; wait $P2 || true
DIR2=$(cat /run/ready2)
umount $DIR2/boot
rm -rf $DIR2
echo "deleted: $(losetup -a | grep -c '(deleted)')"
echo "== while alive"
$SIM lab-cleanup $BASE
echo "alive loops: $(losetup -a | grep -c raidswap-drill)"
kill -9 $P1; wait $P1 || true
echo "== after kill"
$SIM lab-cleanup $BASE
echo "left loops: $(losetup -a | grep -c '(deleted)') md20: $(grep -c '^md20 : active' /proc/mdstat)"
swapoff -a; mdadm --stop /dev/md20 /dev/md21 >/dev/null 2>&1; dmsetup remove_all; losetup -D
`)
	alive, after, _ := strings.Cut(res.Output, "== after kill")
	golden.Contains(t, alive, `arrays=[]`, "alive loops: 4\n", "deleted: 2\n", "cleanup says: leaving /var/lib/raidswap/drill/drill-")
	golden.Contains(t, after, `arrays=["/dev/md10" "/dev/md11"]`, `swapoff=["/dev/loop`, "/boot\"]", "files=3",
		"cleanup says: leaving /var/lib/raidswap/drill/drill-", "alone (/dev/loop", "it has no drill marker",
		"left loops: 2 md20: 1\n", "loops: 0\n", "dm: 0\n", "md: 0\n", "labs: 0\n")
}

// TestVMLabCleanupLeavesVictim is issue 18's data loss, on a real kernel: a directory under
// the drill base without a marker, holding two files named like lab images, attached to
// loops, a RAID1 on them, ext4 mounted with a file in it. Cleanup leaves all of it (mount,
// array, loops, files, the file's content) and says so in one line, while it tears down a
// real lab (killed) next to it.
func TestVMLabCleanupLeavesVictim(t *testing.T) {
	res := runLabVM(t, `
ready() { for i in $(seq 900); do [ -s $1 ] && return; sleep 0.1; done; echo "TIMEOUT waiting for $1"; exit 1; }
V=$BASE/drill-20261206-000000-aaaa
mkdir -p $V /mnt/victim
for s in DRILL-A0001 DRILL-B0002; do truncate -s 64M $V/raidswap-drill-$s.img; done
L0=$(losetup --find --show $V/raidswap-drill-DRILL-A0001.img)
L1=$(losetup --find --show $V/raidswap-drill-DRILL-B0002.img)
mdadm --create /dev/md60 --level=1 --raid-devices=2 --metadata=1.2 --run $L0 $L1 >/dev/null 2>&1
mkfs.ext4 -q /dev/md60
mount /dev/md60 /mnt/victim
echo "precious $(date +%s%N)" > /mnt/victim/data; sync
SUM=$(sha256sum /mnt/victim/data)
$SIM lab-orphan $BASE 10 /run/ready1 & P1=$!
ready /run/ready1
kill -9 $P1; wait $P1 || true
echo "== cleanup"
$SIM lab-cleanup $BASE
echo "== after"
mountpoint -q /mnt/victim && echo "VICTIM STILL MOUNTED"
grep -q '^md60 : active raid1' /proc/mdstat && echo "MD60 STILL ACTIVE"
echo "victim loops: $(losetup -a | grep -c $V/raidswap-drill-)"
echo "victim files: $(ls $V | wc -l)"
[ "$(sha256sum /mnt/victim/data)" = "$SUM" ] && echo "VICTIM DATA INTACT"
umount /mnt/victim; mdadm --stop /dev/md60 >/dev/null 2>&1; losetup -d $L0 $L1; rm -rf $V
`)
	cleanup, after, _ := strings.Cut(res.Output, "== after")
	golden.Contains(t, cleanup, `arrays=["/dev/md10" "/dev/md11"]`, `swapoff=["/dev/loop`, "files=3",
		"cleanup says: leaving /var/lib/raidswap/drill/drill-20261206-000000-aaaa alone (/dev/loop", "it has no drill marker")
	if strings.Contains(cleanup, "md60") || strings.Contains(cleanup, "/mnt/victim") {
		t.Errorf("cleanup touched the victim:\n%s", cleanup)
	}
	if n := strings.Count(cleanup, "cleanup says: "); n != 1 {
		t.Errorf("cleanup said %d lines, want 1", n)
	}
	golden.Contains(t, after, "VICTIM STILL MOUNTED", "MD60 STILL ACTIVE", "victim loops: 2\n", "victim files: 2\n", "VICTIM DATA INTACT",
		"loops: 0\n", "dm: 0\n", "md: 0\n", "labs: 0\n")
}

// TestVMLabSwappedImage: the images of two disks on the shelf swapped for hard links to one
// host file before they are attached: the lab refuses to attach either, naming the disk, and
// the host file is unchanged; a disk attached from its descriptor is provably its image.
func TestVMLabSwappedImage(t *testing.T) {
	res := runLabVM(t, `
echo "host data" > /root/host.img; truncate -s 192M /root/host.img
SUM=$(sha256sum < /root/host.img)
$SIM lab-swap $BASE /root/host.img
[ "$(sha256sum < /root/host.img)" = "$SUM" ] && echo "HOST FILE UNCHANGED"
echo "links: $(stat -c %h /root/host.img)"
find $BASE -name 'raidswap-drill-*.img' -delete; find $BASE -name raidswap-drill.json -delete; find $BASE -mindepth 1 -type d -empty -delete
`)
	golden.Contains(t, res.Output, `insert DRILL-A`, `dev="" err=refusing to attach drill disk DRILL-A`, "it was replaced",
		`dev="" err=refusing to attach drill disk DRILL-B`,
		"from its descriptor: inode matches=true sector=4096 err=<nil>", "prove DRILL-C", ": ok\n",
		"prove swapped DRILL-A", "is attached to inode ", "image raidswap made",
		"it is not the image raidswap made", "HOST FILE UNCHANGED", "links: 3\n", "loops: 0\n", "md: 0\n")
}

// TestVMLabFlaky rebuilds a dirty new disk (an old superblock and table, from Prepare) from a
// survivor whose reads fail in the middle of its data (Flaky): the arrays stay up, the new
// members stay spares (md interrupted and disabled the recovery once the bad block log was
// full), and Restore puts the linear table back. udev assembles the dirty disk's old array
// as soon as it is inserted (md127): the drill meets that on a real server too.
// TestVMLabBootCopy: --assume-clean arrays on fresh disks check with no mismatch, and
// CopyBootCode writes exactly what grub-install wrote on the second disk.
func TestVMLabBootCopy(t *testing.T) {
	res := runLabVM(t, `$SIM lab-bootcopy ""
`)
	golden.Contains(t, res.Output, "md0 mismatch_cnt=0\n", "md1 mismatch_cnt=0\n", "identical=true", "loops: 0\n", "md: 0\n")
}

func TestVMLabFlaky(t *testing.T) {
	res := runLabVM(t, `$SIM lab-flaky ""
`)
	dirty, rest, _ := strings.Cut(res.Output, "== flaky")
	golden.Contains(t, dirty, "Raid Level : raid1", "Raid Devices : 1", "Name : old-server:old")
	flaky, rebuilt, _ := strings.Cut(rest, "== rebuilt")
	golden.Contains(t, flaky, "read md1: ")
	if n := len(regexp.MustCompile(`(?m)^[0-9]+ 8 error`).FindAllString(flaky, -1)); n != flakyStripes {
		t.Errorf("%d error stripes in rs-loop0p4's table, want %d", n, flakyStripes)
	}
	golden.Contains(t, rebuilt, "md1 : active raid1", "md1 degraded=1", "== restored\n0 ", "close arrays=[\"/dev/md0\" \"/dev/md1\"]", "loops: 0\n", "dm: 0\n", "md: 0\n", "labs: 0\n")
	// The recovery failed: the new members stay spares, md still counts a member missing.
	golden.Contains(t, rebuilt, "md0 degraded=1", "md0 dev-loop1p2 state=spare", "md1 dev-loop1p4 state=spare")
	if restored := rebuilt[strings.Index(rebuilt, "== restored"):]; strings.Contains(restored, " error") {
		t.Errorf("Restore left an error target:\n%s", restored)
	}
}
