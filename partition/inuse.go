package partition

import "fmt"

// Use is what the kernel says holds one block device, a disk or one of its partitions: the
// facts that make writing it unsafe. It is filled by whoever read them — discovery from its
// System, CheckTarget fresh from sysfs and /proc right before a write, simulate from the
// scratch disks it is given — and judged by InUse alone.
type Use struct {
	// Device is the kernel name (sdb, sdb2).
	Device string
	// Members are the md arrays that list it as a member, active or inactive.
	Members []MemberUse
	// Mounts are its mount points.
	Mounts []string
	// Swap is true while it is active swap.
	Swap bool
	// Holders are the devices stacked on it (dm-0, or an md array not in Members).
	Holders []Holder
}

// MemberUse is one md array's claim on a device.
type MemberUse struct {
	Array string
	// Device is the member's own name when it is not Use.Device (a dm device over it).
	Device string
	// State is md's state of the member (in_sync, spare, faulty), "" when unread.
	State string
}

// Holder is a device stacked on another.
type Holder struct {
	Name string
	// DMName is a device-mapper device's name (vg-root), "" when it is not one or unread.
	DMName string
}

// InUse is raidswap's one rule for "may this disk or partition be written": it says why
// not, in one wording, or "" when nothing uses any of the devices. An md member (active or
// inactive) is named first, then a mount, active swap, and a holder:
//
//	it holds md1 member vdb3 (in_sync)
//	it holds vdb2, mounted at /boot
//	it holds vdb4, which is active swap
//	vdb2 is held by device-mapper device dm-0 (vg-root)
func InUse(uses ...Use) string {
	for _, u := range uses {
		for _, m := range u.Members {
			dev := m.Device
			if dev == "" {
				dev = u.Device
			}
			if m.State == "" {
				return fmt.Sprintf("it holds %s member %s", m.Array, dev)
			}
			return fmt.Sprintf("it holds %s member %s (%s)", m.Array, dev, m.State)
		}
	}
	for _, u := range uses {
		if len(u.Mounts) > 0 {
			return fmt.Sprintf("it holds %s, mounted at %s", u.Device, u.Mounts[0])
		}
	}
	for _, u := range uses {
		if u.Swap {
			return fmt.Sprintf("it holds %s, which is active swap", u.Device)
		}
	}
	for _, u := range uses {
		for _, h := range u.Holders {
			if h.DMName != "" {
				return fmt.Sprintf("%s is held by device-mapper device %s (%s)", u.Device, h.Name, h.DMName)
			}
			return fmt.Sprintf("%s is held by %s", u.Device, h.Name)
		}
	}
	return ""
}
