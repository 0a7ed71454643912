package simulate

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/host"
)

// FailMember marks one member of an array faulty, as md does after an I/O error:
// mdadm MD --fail MEMBER.
func FailMember(ctx context.Context, r host.Runner, md, member string) error {
	_, err := run(ctx, r, "failing "+member+" in "+mdName(md), host.Mdadm, devPath(md), "--fail", devPath(member))
	return err
}

// RemoveMember takes a faulty member out of its array: mdadm MD --remove MEMBER.
func RemoveMember(ctx context.Context, r host.Runner, md, member string) error {
	_, err := run(ctx, r, "removing "+member+" from "+mdName(md), host.Mdadm, devPath(md), "--remove", devPath(member))
	return err
}

// FailDisk fails every member that lives on disk, in every array, and returns them.
func FailDisk(ctx context.Context, r host.Runner, root *host.Root, disk string) ([]Member, error) {
	ms, err := onDisk(root, disk)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("%s holds no md member", devPath(disk))
	}
	for _, m := range ms {
		if err := FailMember(ctx, r, m.Array, m.Device); err != nil {
			return ms, err
		}
	}
	return ms, nil
}

// Poke makes md do one write to every mirror of the array, so it notices a member whose disk
// is gone (md only finds out at the next I/O). It reads the array's first 4 KiB and writes
// the same bytes back with O_DIRECT: harmless while the array is not mounted, and refused
// when it is.
func Poke(ctx context.Context, r host.Runner, root *host.Root, md string) error {
	dev := devPath(md)
	if b, err := root.ReadFile("/proc/self/mounts"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == dev {
				return fmt.Errorf("refusing to poke %s: it is mounted on %s; write and sync a file there instead", dev, f[1])
			}
		}
	}
	_, err := run(ctx, r, "writing to "+dev+" so md notices a missing member", host.Dd,
		"if="+dev, "of="+dev, "bs=4096", "count=1", "iflag=direct", "oflag=direct", "conv=notrunc", "status=none")
	return err
}

// How a disk vanishes.
const (
	// VanishAuto uses VanishHotplug inside an internal/vmtest VM, VanishPCIRemove elsewhere.
	VanishAuto = "auto"
	// VanishHotplug asks the VM's host to unplug the disk (QMP device_del): the drive drops
	// off the bus exactly as a dead or pulled drive does. Only inside an internal/vmtest VM.
	VanishHotplug = "hotplug"
	// VanishPCIRemove writes 1 to the disk's PCI device's remove attribute (in-guest unplug;
	// /sys/bus/pci/rescan brings it back).
	VanishPCIRemove = "pci-remove"
)

// settleTimeout bounds each wait for udev and md once a disk has gone: udev's remove events
// run one quick mdadm -If each, and md fails a member at the first I/O; 30 s leaves a slow
// TCG guest ample room.
const settleTimeout = 30 * time.Second

// Vanish makes disk disappear the way a dead drive does, pokes every array that had a member
// on it so md notices, and returns once md has settled each member, with its State saying
// how: "removed" (md no longer lists it: udev's mdadm rule, mdadm -If, took it out),
// "faulty" (md lists it failed: no udevd, or the rule did not remove it), or "stopped" (the
// array lost its last member).
//
// udev's rule fires only for a partition its database knows as a linux_raid_member. On a
// booted server it always does; right after the arrays were built it may not (udev misses a
// probe while mdadm writes), so with udevd running Vanish first has udev re-read the members,
// and after the unplug waits for udev to finish its remove events before judging.
func Vanish(ctx context.Context, r host.Runner, root *host.Root, disk, how string) ([]Member, error) {
	k := kname(disk)
	ms, err := onDisk(root, k)
	if err != nil {
		return nil, err
	}
	if how == "" || how == VanishAuto {
		how = VanishPCIRemove
		if root.Exists(host.VMTestHotplug) {
			how = VanishHotplug
		}
	}
	if how != VanishHotplug && how != VanishPCIRemove {
		return ms, fmt.Errorf("unknown vanish method %q: use auto, hotplug or pci-remove", how)
	}
	udev := udevRunning(ctx, r)
	if udev {
		argv := []string{host.Udevadm, "trigger", "--action=change"}
		for _, m := range ms {
			argv = append(argv, devPath(m.Device))
		}
		if _, err := run(ctx, r, "having udev re-read "+k+"'s md members", argv...); err != nil {
			return ms, err
		}
		if err := settleUdev(ctx, r); err != nil {
			return ms, err
		}
	}
	switch how {
	case VanishHotplug:
		if _, err := run(ctx, r, "unplugging "+k, host.VMTestHotplug, "unplug", k); err != nil {
			return ms, err
		}
	case VanishPCIRemove:
		pci, err := pciDevice(root, k)
		if err != nil {
			return ms, err
		}
		if err := writeAttr(root, pci+"/remove", "1"); err != nil {
			return ms, err
		}
	}
	if err := waitFor(ctx, 15*time.Second, "/sys/block/"+k+" to go", func() bool { return !root.Exists("/sys/block/" + k) }); err != nil {
		return ms, err
	}
	if udev {
		if err := settleUdev(ctx, r); err != nil {
			return ms, err
		}
	}
	if err := noticeLoss(ctx, r, root, ms); err != nil {
		return ms, err
	}
	return ms, settleMembers(ctx, root, k, ms)
}

// udevRunning asks udevd itself; without it nothing runs udev's rules.
func udevRunning(ctx context.Context, r host.Runner) bool {
	_, err := r.Run(ctx, host.Udevadm, "control", "--ping", "--timeout=5")
	return err == nil
}

func settleUdev(ctx context.Context, r host.Runner) error {
	_, err := run(ctx, r, "waiting for udev", host.Udevadm, "settle", "--timeout="+strconv.Itoa(int(settleTimeout/time.Second)))
	return err
}

// settleMembers waits until md has settled each member of a vanished disk and records how in
// its State; a member md still counts as working after settleTimeout is an error naming it.
func settleMembers(ctx context.Context, root *host.Root, disk string, ms []Member) error {
	pending := func() []string {
		var out []string
		for i, m := range ms {
			state, settled := vanishedState(root, m)
			ms[i].State = state
			if !settled {
				out = append(out, fmt.Sprintf("%s in %s as %q", m.Device, m.Array, state))
			}
		}
		return out
	}
	if err := waitFor(ctx, settleTimeout, "md to settle "+disk+"'s members", func() bool { return len(pending()) == 0 }); err != nil {
		return fmt.Errorf("%s vanished, but md still lists %s: %w", devPath(disk), strings.Join(pending(), ", "), err)
	}
	return nil
}

// vanishedState is how md holds a member whose disk has gone, and whether that is final.
func vanishedState(root *host.Root, m Member) (string, bool) {
	md := "/sys/block/" + m.Array + "/md"
	if !root.Exists(md) {
		return "stopped", true
	}
	state, err := root.ReadString(md + "/dev-" + m.Device + "/state")
	if err != nil {
		if !root.Exists(md + "/dev-" + m.Device) {
			return "removed", true
		}
		return "unreadable", false
	}
	for _, w := range strings.Split(state, ",") {
		if w == "faulty" {
			return "faulty", true
		}
	}
	return state, false
}

// noticeLoss pokes each array that had one of ms and waits until md counts it degraded.
func noticeLoss(ctx context.Context, r host.Runner, root *host.Root, ms []Member) error {
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.Array] {
			continue
		}
		seen[m.Array] = true
		if !root.Exists("/sys/block/" + m.Array + "/md") {
			continue // stopped: it lost its last member (udev's mdadm -If stops such arrays)
		}
		if err := Poke(ctx, r, root, m.Array); err != nil {
			return err
		}
		if err := waitFor(ctx, 15*time.Second, m.Array+" to degrade", func() bool {
			d, err := root.ReadString("/sys/block/" + m.Array + "/md/degraded")
			return err == nil && d != "0"
		}); err != nil {
			return err
		}
	}
	return nil
}

// pciDevice finds the PCI device directory (with its remove attribute) a disk hangs off.
func pciDevice(root *host.Root, k string) (string, error) {
	p, err := root.ResolveLink("/sys/block/" + k)
	if err != nil {
		return "", fmt.Errorf("%s: %w", k, err)
	}
	for d := filepath.Dir(p); d != "/sys/devices" && d != "/"; d = filepath.Dir(d) {
		sub, err := root.ResolveLink(d + "/subsystem")
		if err == nil && filepath.Base(sub) == "pci" && root.Exists(d+"/remove") {
			return d, nil
		}
	}
	return "", fmt.Errorf("cannot make %s vanish: it is not on a PCI device (for loop devices build with dm members and use KillDM)", k)
}

// KillDM turns every simulate dm device over disk's partitions (BuildSeed with DMMembers)
// into an error table, so every I/O to those members fails as on a dead disk, then pokes the
// arrays until md has failed them. It returns the members affected.
func KillDM(ctx context.Context, r host.Runner, root *host.Root, disk string) ([]Member, error) {
	ms, err := onDisk(root, disk)
	if err != nil {
		return nil, err
	}
	var killed []Member
	for _, m := range ms {
		name, err := root.ReadString("/sys/class/block/" + m.Device + "/dm/name")
		if err != nil || !strings.HasPrefix(name, "rs-") {
			continue
		}
		sectors, err := root.ReadString("/sys/class/block/" + m.Device + "/size")
		if err != nil {
			return killed, err
		}
		for _, argv := range [][]string{
			{host.Dmsetup, "suspend", name},
			{host.Dmsetup, "load", name, "--table", "0 " + sectors + " error"},
			{host.Dmsetup, "resume", name},
		} {
			if _, err := run(ctx, r, "making "+name+" fail every I/O", argv...); err != nil {
				return killed, err
			}
		}
		killed = append(killed, m)
	}
	if len(killed) == 0 {
		return nil, fmt.Errorf("%s holds no md member on a simulate dm device (build with DMMembers)", devPath(disk))
	}
	return killed, noticeLoss(ctx, r, root, killed)
}
