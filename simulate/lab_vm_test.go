package simulate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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
	case "lab-cleanup":
		c, err := CleanupLeftovers(ctx, r, root, a[0])
		fmt.Printf("cleanup unmounted=%q swapoff=%q arrays=%q dm=%q loops=%q files=%d\n", c.Unmounted, c.Swapoff, c.Arrays, c.DM, c.Loops, len(c.Files))
		return err
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
// while the first still runs leaves it alone; after the kill, CleanupLeftovers removes both.
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
`)
	alive, after, _ := strings.Cut(res.Output, "== after kill")
	golden.Contains(t, alive, `arrays=["/dev/md20" "/dev/md21"]`, "alive loops: 2\n", "deleted: 2\n")
	golden.Contains(t, after, `arrays=["/dev/md10" "/dev/md11"]`, `swapoff=["/dev/loop`, "/boot\"]", "files=3",
		"loops: 0\n", "dm: 0\n", "md: 0\n", "labs: 0\n")
}
