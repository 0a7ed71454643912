package simulate

import (
	"context"
	"fmt"
	"path/filepath"
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

// Vanish makes disk disappear the way a dead drive does, then pokes every array that had a
// member on it so md notices, and waits until each such array is degraded. With udevd
// running, udev's mdadm rule (mdadm -If) removes the member at once, leaving the slot empty;
// without udevd, md marks it faulty (F) at the poke. It returns the members the disk held.
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
	default:
		return ms, fmt.Errorf("unknown vanish method %q: use auto, hotplug or pci-remove", how)
	}
	if err := waitFor(ctx, 15*time.Second, "/sys/block/"+k+" to go", func() bool { return !root.Exists("/sys/block/" + k) }); err != nil {
		return ms, err
	}
	return ms, noticeLoss(ctx, r, root, ms)
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
