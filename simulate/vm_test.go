package simulate

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// The VM tests run this test binary inside the guest (the host's / is the guest's /) as a
// helper: SIMULATE_HELPER=1 TESTBIN OP ARGS... calls the simulate function named by OP on
// the guest's real kernel. That tests the package itself, independently of the CLI.
func TestMain(m *testing.M) {
	if os.Getenv("SIMULATE_HELPER") == "1" {
		os.Exit(helper(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func helper(args []string) int {
	ctx, r, root := context.Background(), host.ExecRunner{}, host.NewRoot("/")
	var err error
	var ms []Member
	switch op, a := args[0], args[1:]; op {
	case "build": // build OPTIONS-CSV DISK...  (options: mbr,dm,canary,bitmap,three)
		opts := Options{Root: root}
		for _, o := range strings.Split(a[0], ",") {
			switch o {
			case "mbr":
				opts.Table = MBR
			case "dm":
				opts.DMMembers = true
			case "canary":
				opts.Canary = true
			case "bitmap":
				opts.Bitmap = "internal"
			case "three":
				opts.Arrays = []ArraySpec{
					{Name: "md2", Metadata: "1.0", Size: 32 * mib},
					{Name: "md3", Metadata: "1.2", Size: 32 * mib, FS: "vfat"},
					{Name: "md4", Metadata: "1.2", FS: "none"},
				}
			}
		}
		err = BuildSeed(ctx, r, a[1:], opts)
	case "layout": // layout ROW DISK...: build a row of the layout table (layouts.go)
		l, ok := LayoutByName(a[0])
		if !ok {
			err = fmt.Errorf("no layout row %q", a[0])
			break
		}
		disks := a[1:]
		parted := disks[:len(disks)-l.WholeDisks]
		if len(l.Arrays) > 0 {
			err = BuildSeed(ctx, r, parted, Options{Root: root, Arrays: l.Arrays, SwapSize: -1, Canary: true})
		}
		if err == nil && l.Whole != nil {
			var s *Seed
			if s, err = PlanWholeDisk(disks[len(parted):], *l.Whole, Options{Root: root, Canary: true}); err == nil {
				err = s.Build(ctx, r)
			}
		}
	case "fail-disk":
		ms, err = FailDisk(ctx, r, root, a[0])
	case "remove":
		err = RemoveMember(ctx, r, a[0], a[1])
	case "vanish":
		ms, err = Vanish(ctx, r, root, a[0], a[1])
	case "kill-dm":
		ms, err = KillDM(ctx, r, root, a[0])
	case "clone":
		err = ClonePartitions(ctx, r, root, a[0], a[1])
	case "recover":
		kbps, _ := strconv.Atoi(a[2])
		err = StartRecovery(ctx, r, root, a[0], a[1], kbps)
	case "lab", "lab-orphan", "lab-cleanup", "lab-flaky", "lab-bootcopy", "lab-swap":
		err = labHelper(op, a)
	default:
		err = fmt.Errorf("unknown op %q", op)
	}
	for _, m := range ms {
		fmt.Printf("member %s %s %s\n", m.Array, m.Device, m.State)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	return 0
}

// runScenario boots a VM with the disks and runs script with $SIM set to the helper.
func runScenario(t *testing.T, disks []string, noUdev bool, script string) *vmtest.Result {
	t.Helper()
	vmtest.Require(t)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var ds []vmtest.Disk
	for _, s := range disks {
		ds = append(ds, vmtest.Disk{Serial: s, SizeBytes: 256 << 20})
	}
	res := vmtest.RunT(t, vmtest.Config{
		Disks: ds, NoUdev: noUdev, Timeout: 4 * time.Minute,
		Script: "SIM=\"env SIMULATE_HELPER=1 " + bin + "\"\nset -e\n" + script,
	})
	if res.ExitCode != 0 {
		t.Fatalf("scenario exit %d:\n%s", res.ExitCode, res.Output)
	}
	return res
}

func TestVMSeedLayout(t *testing.T) {
	vmtest.Require(t)
	t.Parallel()
	res := runScenario(t, []string{"SEED-A", "SEED-B", "MBR-C", "MBR-D"}, false, `
$SIM build canary /dev/vda /dev/vdb
$SIM build mbr,three,bitmap vdc vdd
cat /proc/mdstat
for md in md0 md1 md2 md3 md4; do echo "$md $(mdadm --detail /dev/$md | awk '/Version/ {print $3}')"; done
sfdisk --dump /dev/vda | grep '^/dev'
sfdisk --dump /dev/vdc | grep -E '^(label|/dev)'
echo "swap: $(blkid -o value -s TYPE /dev/vda3) $(blkid -o value -s TYPE /dev/vdc2)"
echo "fs: $(blkid -o value -s TYPE /dev/md0) $(blkid -o value -s TYPE /dev/md1) $(blkid -o value -s TYPE /dev/md3)"
mount -o ro /dev/md1 /mnt && cat /mnt/CANARY && umount /mnt
echo "bitmaps: $(cat /sys/block/md0/md/bitmap/location) $(cat /sys/block/md2/md/bitmap/location)"
`)
	golden.Contains(t, res.Output,
		"md0 1.0\n", "md1 1.2\n", "md2 1.0\n", "md3 1.2\n", "md4 1.2\n", "bitmaps: none -",
		"/dev/vda1 : start=        2048, size=        2048, type=21686148-6449-6E6F-744E-656564454649",
		"/dev/vda2 : start=        4096, size=      131072, type=A19D880F-05FC-4D3B-A006-743F0F84911E",
		"/dev/vda3 : start=      135168, size=       65536, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
		"/dev/vda4 : start=      200704,",
		"label: dos\nlabel-id: 0x",
		"/dev/vdc1 : start=        2048, size=       65536, type=fd",
		"/dev/vdc2 : start=       67584, size=       65536, type=82",
		"swap: swap swap",
		"fs: ext4 ext4 vfat",
		CanaryText("md1"),
		"[2/2] [UU]",
	)
}

func TestVMFailDiskThenRecover(t *testing.T) {
	vmtest.Require(t)
	t.Parallel()
	res := runScenario(t, []string{"OLD-A", "OLD-B", "NEW-C"}, false, `
$SIM build "" vda vdb
$SIM fail-disk vdb
echo "== failed"; cat /proc/mdstat
$SIM remove md0 vdb2
$SIM remove md1 vdb4
$SIM clone vda vdc
$SIM recover md1 /dev/vdc4 200
echo "== recovering"; cat /proc/mdstat
echo "sync_action: $(cat /sys/block/md1/md/sync_action)"
`)
	failed, recovering, _ := strings.Cut(res.Output, "== recovering")
	golden.Contains(t, failed, "member md0 vdb2", "member md1 vdb4", "md1 : active raid1 vdb4[1](F) vda4[0]", "md0 : active raid1 vdb2[1](F) vda2[0]", "[2/1] [U_]")
	golden.Contains(t, recovering, "md1 : active raid1 vdc4[2] vda4[0]", "recovery =", "sync_action: recover")
}

// TestVMVanishHotplug pulls a disk through QMP with udevd running. Vanish returns once md has
// settled each member, and says which way: udev's mdadm rule (mdadm -If) took it out
// ("removed": md shows an empty slot), or md lists it faulty ("faulty": the rule did not
// remove it, e.g. md was still busy with the member when mdadm asked). Either is a vanished
// disk; what md shows must match what Vanish said.
func TestVMVanishHotplug(t *testing.T) {
	vmtest.Require(t)
	t.Parallel()
	res := runScenario(t, []string{"LIVE-A", "DEAD-B"}, false, `
$SIM build "" vda vdb
$SIM vanish vdb hotplug
cat /proc/mdstat
echo "degraded: $(cat /sys/block/md0/md/degraded) $(cat /sys/block/md1/md/degraded)"
ls /sys/block
`)
	golden.Contains(t, res.Output, "[2/1] [U_]", "degraded: 1 1")
	for _, m := range []struct{ md, live, gone string }{{"md0", "vda2", "vdb2"}, {"md1", "vda4", "vdb4"}} {
		outcome := memberOutcome(res.Output, m.md, m.gone)
		t.Logf("%s %s: %s", m.md, m.gone, outcome)
		line := mdstatLine(res.Output, m.md)
		switch outcome {
		case "removed":
			if want := m.md + " : active raid1 " + m.live + "[0]"; line != want {
				t.Errorf("Vanish said %s was removed from %s, but mdstat says %q, want %q", m.gone, m.md, line, want)
			}
		case "faulty":
			if !strings.Contains(line, m.gone+"[1](F)") {
				t.Errorf("Vanish said %s is faulty in %s, but mdstat says %q", m.gone, m.md, line)
			}
		default:
			t.Errorf("Vanish reported %s in %s as %q, want removed or faulty:\n%s", m.gone, m.md, outcome, res.Output)
		}
	}
	if strings.Contains(res.Output, "vdb\n") {
		t.Errorf("vdb still in /sys/block:\n%s", res.Output)
	}
}

// memberOutcome is the state the helper printed for member dev of md ("member md0 vdb2 removed").
func memberOutcome(out, md, dev string) string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "member" && f[1] == md && f[2] == dev {
			return f[3]
		}
	}
	return "(not reported)"
}

// mdstatLine is md's line in /proc/mdstat ("md0 : active raid1 vda2[0]"), spaces trimmed.
func mdstatLine(out, md string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, md+" : ") {
			return strings.TrimSpace(line)
		}
	}
	return "(no line)"
}

// TestVMVanishNoUdev removes the disk's PCI device from inside the guest with no udevd: the
// member stays in the array until the poke, then md marks it faulty.
func TestVMVanishNoUdev(t *testing.T) {
	vmtest.Require(t)
	t.Parallel()
	res := runScenario(t, []string{"LIVE-A", "DEAD-B"}, true, `
$SIM build "" vda vdb
$SIM vanish vdb pci-remove
cat /proc/mdstat
echo "state: $(cat /sys/block/md1/md/dev-vdb4/state)"
`)
	golden.Contains(t, res.Output, "member md0 vdb2 faulty", "member md1 vdb4 faulty",
		"md1 : active raid1 vdb4[1](F) vda4[0]", "md0 : active raid1 vdb2[1](F) vda2[0]", "[2/1] [U_]", "state: faulty")
}

// TestVMKillDM builds members on dm linear devices and turns one disk's into error tables.
func TestVMKillDM(t *testing.T) {
	vmtest.Require(t)
	t.Parallel()
	res := runScenario(t, []string{"DM-A", "DM-B"}, false, `
$SIM build dm vda vdb
dmsetup ls | sort
$SIM kill-dm vdb
cat /proc/mdstat
dmsetup table rs-vdb4
`)
	golden.Contains(t, res.Output, "rs-vda2", "rs-vdb4", "(F)", "[2/1] [U_]", "0 323551 error")
}
