package exec

import (
	"fmt"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/partition"
)

// world is one fresh discovery plus what the run has learned (the new disk's serial).
type world struct {
	sys       *discover.System
	newSerial string
	// scope is Options.Scope: a drill's run is confined to its lab (scope.go).
	scope *discover.Scope
}

// newDisk is the new disk as attached now, or nil.
func (w *world) newDisk() *discover.Disk {
	if w.newSerial == "" {
		return nil
	}
	d := w.sys.DiskBySerial(w.newSerial)
	if d == nil || !d.Present {
		return nil
	}
	return d
}

// disk resolves a condition's or target's disk: the new disk for a placeholder, else by
// serial when given (wherever it is now), else by name.
func (w *world) disk(device, serial string) *discover.Disk {
	if _, ok := plan.ParsePlaceholder(device); ok {
		return w.newDisk()
	}
	if serial != "" {
		if d := w.sys.DiskBySerial(serial); d != nil && d.Present {
			return d
		}
		return nil
	}
	if d := w.sys.Disk(device); d != nil && d.Present {
		return d
	}
	return nil
}

func (w *world) arrayByUUID(uuid string) *discover.Array {
	for i := range w.sys.Arrays {
		if w.sys.Arrays[i].UUID == uuid {
			return &w.sys.Arrays[i]
		}
	}
	return nil
}

func memberDev(m discover.Member) string {
	if m.Device == nil {
		return ""
	}
	return *m.Device
}

// holds evaluates a condition. When it does not hold, found says what is there instead.
func (w *world) holds(c plan.Condition) (ok bool, found string) {
	switch c.Kind {
	case plan.CondDiskSerial:
		d := w.sys.Disk(c.Device)
		if d != nil && d.Present && d.Serial == c.Serial {
			return true, ""
		}
		if o := w.sys.DiskBySerial(c.Serial); o != nil && o.Present {
			return false, fmt.Sprintf("%s is now named %s: its name changed since the plan was built", c.Serial, o.Name)
		}
		if d == nil || !d.Present {
			return false, fmt.Sprintf("%s is not attached and no disk carries %s", c.Device, c.Serial)
		}
		return false, fmt.Sprintf("%s carries serial %q", c.Device, d.Serial)
	case plan.CondArrayUUID:
		a := w.sys.Array(c.Array)
		if a != nil && a.UUID == c.ArrayUUID {
			return true, ""
		}
		if a == nil {
			return false, fmt.Sprintf("there is no array %s", c.Array)
		}
		return false, fmt.Sprintf("%s has UUID %s", c.Array, a.UUID)
	case plan.CondOtherInSync:
		a := w.arrayByUUID(c.ArrayUUID)
		if a == nil {
			return false, fmt.Sprintf("no array has UUID %s", c.ArrayUUID)
		}
		for _, m := range a.Members {
			if m.State == discover.MemberInSync && !m.Gone && !onDisk(m, c.Device, c.Serial) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%s has no in_sync member outside %s", a.Name, label(c.Device, c.Serial))
	case plan.CondNoMemberOn:
		a := w.arrayByUUID(c.ArrayUUID)
		if a == nil {
			return false, fmt.Sprintf("no array has UUID %s", c.ArrayUUID)
		}
		for _, m := range a.Members {
			if m.State == discover.MemberMissing {
				continue
			}
			if m.Gone {
				return false, fmt.Sprintf("%s still lists %s, whose device has gone", a.Name, memberDev(m))
			}
			if onDisk(m, c.Device, c.Serial) {
				return false, fmt.Sprintf("%s still has member %s (%s) on %s", a.Name, memberDev(m), m.State, label(c.Device, c.Serial))
			}
		}
		return true, ""
	case plan.CondDiskAbsent:
		if d := w.sys.DiskBySerial(c.Serial); d != nil && d.Present {
			return false, fmt.Sprintf("%s is still attached as %s", c.Serial, d.Name)
		}
		return true, ""
	case plan.CondDiskPresent:
		if d := w.disk(c.Device, c.Serial); d != nil {
			return true, ""
		}
		return false, "the disk is not attached"
	case plan.CondDiskFree:
		d := w.disk(c.Device, c.Serial)
		if d == nil {
			return false, "the disk is not attached"
		}
		if why := inUse(d); why != "" {
			return false, d.Label() + ": " + why
		}
		return true, ""
	case plan.CondPartitioned:
		d := w.disk(c.Device, c.Serial)
		if d == nil {
			return false, "the disk is not attached"
		}
		if len(d.Partitions) >= c.Count {
			return true, ""
		}
		return false, fmt.Sprintf("%s has %d partitions", d.Name, len(d.Partitions))
	case plan.CondPartitionFree:
		d := w.disk(c.Device, c.Serial)
		if d == nil {
			return false, "the disk is not attached"
		}
		if why := partitionInUse(w.sys, d, blockstack.PartitionName(d.Name, c.Partition)); why != "" {
			return false, fmt.Sprintf("/dev/%s (%s): %s", blockstack.PartitionName(d.Name, c.Partition), d.Serial, why)
		}
		return true, ""
	case plan.CondMemberOn, plan.CondInSyncOn, plan.CondCopyOnto:
		a := w.arrayByUUID(c.ArrayUUID)
		if a == nil {
			return false, fmt.Sprintf("no array has UUID %s", c.ArrayUUID)
		}
		d := w.disk(c.Device, c.Serial)
		if d == nil {
			return false, "the disk is not attached"
		}
		// Partition 0 is the disk itself: a whole-disk member.
		name := plan.MemberName(d.Name, c.Partition)
		for _, m := range a.Members {
			if memberDev(m) != name || m.Gone {
				continue
			}
			switch {
			case m.State == discover.MemberInSync:
				return true, ""
			case c.Kind == plan.CondMemberOn && (m.State == discover.MemberRebuilding || m.State == discover.MemberSpare):
				return true, ""
			case c.Kind == plan.CondCopyOnto && contains(m.Flags, "replacement"):
				return true, ""
			}
			return false, fmt.Sprintf("%s is %s in %s", name, m.State, a.Name)
		}
		return false, fmt.Sprintf("%s is not in %s", name, a.Name)
	case plan.CondSwapActive, plan.CondSwapInactive:
		d := w.disk(c.Device, c.Serial)
		if d == nil {
			// A disk that has gone has no active swap.
			return c.Kind == plan.CondSwapInactive, "the disk is not attached"
		}
		name := blockstack.PartitionName(d.Name, c.Partition)
		active := contains(d.Swap, name)
		if active == (c.Kind == plan.CondSwapActive) {
			return true, ""
		}
		if active {
			return false, name + " is active swap"
		}
		return false, name + " is not active swap"
	case plan.CondRedundant:
		a := w.arrayByUUID(c.ArrayUUID)
		if a == nil {
			return false, fmt.Sprintf("no array has UUID %s", c.ArrayUUID)
		}
		if ok, why := redundant(a); !ok {
			return false, why
		}
		return true, ""
	default:
		return false, fmt.Sprintf("unreachable: condition kind %q is unknown to this raidswap", c.Kind)
	}
}

// redundant reports whether every slot of an array is in_sync and no recovery runs.
func redundant(a *discover.Array) (bool, string) {
	in := 0
	for _, m := range a.Members {
		if m.State == discover.MemberInSync && !m.Gone {
			in++
		}
	}
	if a.Sync != nil && (a.Sync.Action == discover.SyncRecover || a.Sync.Action == discover.SyncResync || a.Sync.Action == discover.SyncReshape) {
		return false, fmt.Sprintf("%s is in %s (%.1f%%)", a.Name, a.Sync.Action, a.Sync.Percent)
	}
	if a.RaidDisks <= 0 || in < a.RaidDisks {
		return false, fmt.Sprintf("%s has %d of %d members in_sync", a.Name, in, a.RaidDisks)
	}
	// md's own count (md/degraded), which status believes too: members that all read in_sync
	// do not make an array whole that md counts short.
	if a.MDDegraded > 0 {
		return false, fmt.Sprintf("%s has %d of %d members in_sync, but md counts %d lost slot(s) (md/degraded)", a.Name, in, a.RaidDisks, a.MDDegraded)
	}
	return true, ""
}

// onDisk reports whether member m is on the disk named by serial (or, without a serial, by
// name).
func onDisk(m discover.Member, device, serial string) bool {
	if serial != "" {
		return m.Serial == serial || (m.State == discover.MemberMissing && m.LastSerial == serial)
	}
	return m.Disk != nil && *m.Disk == device
}

func label(device, serial string) string {
	switch {
	case serial == "":
		return device
	case device == "":
		return serial
	}
	return device + " (" + serial + ")"
}

// inUse says why a whole disk may not be written, or "": package partition's one rule.
func inUse(d *discover.Disk) string {
	return partition.InUse(d.Uses()...)
}

// partitionInUse says why one partition may not be written, or "": package partition's
// one rule.
func partitionInUse(sys *discover.System, d *discover.Disk, part string) string {
	return partition.InUse(sys.PartitionUse(d, part))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
