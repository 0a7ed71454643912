package discover

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/mdadm"
)

// This file judges an array's redundancy through mdadm's one model (mdadm.Shape): which
// arrays have FAILED, which members are faulty leftovers, and which arrays run on their last
// in-sync copy. Status, plan and the executor all ask Array.Shape; none counts members itself.

// Shape is the array's slots for the redundancy model: the slots its in_sync members hold,
// and md's own count of lost slots when that is worse. It is not Known when a member's slot
// could not be read (only /proc/mdstat was readable) or the level has no rule.
func (a Array) Shape() mdadm.Shape {
	layout := mdadm.Unknown
	if a.Layout != nil {
		layout = *a.Layout
	}
	var slots []int
	for _, m := range a.Members {
		if m.State != MemberInSync {
			// A member whose device has gone but that md still calls in_sync counts: md
			// has not failed it yet, and md is what keeps the array running.
			continue
		}
		if m.Slot == nil {
			// In sync, but where: the model cannot place it.
			return mdadm.Shape{Level: a.Level, RaidDisks: a.RaidDisks, Layout: layout}
		}
		slots = append(slots, *m.Slot)
	}
	return mdadm.NewShape(a.Level, a.RaidDisks, layout, slots, a.MDDegraded)
}

// ShapeWithout is the array's shape with the slots of the given members lost too: what
// failing or removing them now leaves.
func (a Array) ShapeWithout(gone func(Member) bool) (mdadm.Shape, []Member) {
	kept := map[int]bool{}
	for _, m := range a.Members {
		if m.Slot != nil && m.State == MemberInSync && !gone(m) {
			kept[*m.Slot] = true
		}
	}
	var slots []int
	var lost []Member
	for _, m := range a.Members {
		if m.Slot != nil && m.State == MemberInSync && gone(m) {
			lost = append(lost, m)
			if !kept[*m.Slot] {
				// A finished --replace leaves the slot held by the new member too.
				slots = append(slots, *m.Slot)
			}
		}
	}
	return a.Shape().Without(slots...), lost
}

// FaultyLeftovers are the array's faulty members that hold no slot md needs: md rebuilt the
// array without them (a spare took over, a --grow, a finished --replace), so the array is
// whole and they only wait to be removed.
func (a Array) FaultyLeftovers() []Member {
	sh := a.Shape()
	if !sh.Known() || sh.Missing() > 0 {
		return nil
	}
	var out []Member
	for _, m := range a.Members {
		if m.State == MemberFaulty {
			out = append(out, m)
		}
	}
	return out
}

// redundancyState refines arrayState's verdict with the model: an array that lost more than
// its level survives is failed, one whose only faulty members are leftovers of a finished
// rebuild is clean (judge names the leftovers). With no sysfs (only /proc/mdstat, which names
// no slots) mdstat's counts decide whether it failed.
func redundancyState(a *Array, sa *mdadm.SysArray, st *mdadm.MDStat) ArrayState {
	switch a.State {
	case ArrayInactive, ArrayMissing:
		return a.State
	}
	if sa == nil && st != nil {
		if a.State == ArrayUnknown {
			return a.State
		}
		// mdstat lists members without slots: believe its counts, never draw slots.
		if st.DisksTotal > 0 && st.DisksActive < st.DisksTotal {
			if sh := countShape(a.Level, int(st.DisksTotal), int(st.DisksActive)); sh.Failed() {
				a.Notes = append(a.Notes, "only /proc/mdstat was readable: "+sh.Describe())
				return ArrayFailed
			}
		}
		return a.State
	}
	sh := a.Shape()
	if sh.Failed() {
		return ArrayFailed
	}
	if a.State == ArrayDegraded && len(a.FaultyLeftovers()) > 0 && (sa == nil || sa.ArrayState != "broken") {
		return ArrayClean
	}
	return a.State
}

// countShape is a shape known only by counts (slots 0..active-1 taken as in sync): enough
// for the levels whose rule is a count, not for raid10.
func countShape(level string, total, active int) mdadm.Shape {
	var slots []int
	for i := range active {
		slots = append(slots, i)
	}
	if level == "raid10" {
		return mdadm.Shape{Level: level, RaidDisks: total, Layout: mdadm.Unknown}
	}
	return mdadm.NewShape(level, total, 0, slots, mdadm.Unknown)
}

// redundancyFindings are judge's critical lines for what the model says of an array: failed
// (restore from backup), faulty leftovers (remove them).
func redundancyFindings(a Array) (crit []string) {
	switch a.State {
	case ArrayFailed:
		crit = append(crit, fmt.Sprintf("%s has FAILED: %s; md cannot serve its data and no rebuild brings it back: restore from backup", a.Name, a.Shape().Describe()))
	case ArrayRecovering, ArrayDegraded:
		if line := lastCopy(a); line != "" {
			crit = append(crit, line)
		}
	}
	switch a.State {
	case ArrayClean, ArrayRecovering, ArrayResyncing:
		for _, m := range a.FaultyLeftovers() {
			crit = append(crit, fmt.Sprintf("%s has a faulty leftover %s: md is whole without it; remove it (mdadm %s --remove /dev/%s) and replace its disk",
				a.Name, m.Label(), mdadm.ArrayDevice(a.Name), derefOr(m.Device, "?")))
		}
	}
	return crit
}

// slotUnknownOr is how Bar draws a slot no in_sync member holds: c, or '?' when no member's
// slot is known (only /proc/mdstat named them), so a whole array is never drawn empty.
func slotUnknownOr(a Array, c byte) byte {
	for _, m := range a.Members {
		if m.Slot != nil {
			return c
		}
	}
	if len(a.Members) == 0 {
		return c
	}
	return '?'
}

// lastCopy is judge's critical line for an array that recovers from its last in-sync copy:
// one more failure there loses data, so the whole rebuild is critical, not a warning (a
// recovery with redundancy to spare, like a raid6 missing one member, stays a warning).
func lastCopy(a Array) string {
	if a.Sync == nil || a.Sync.Action != SyncRecover {
		return ""
	}
	sh := a.Shape()
	if !sh.Known() || sh.Tolerance() != 0 {
		return ""
	}
	var from []string
	for _, m := range a.Members {
		if m.State == MemberInSync {
			from = append(from, m.Label())
		}
	}
	if sh.ParityLevel() {
		return fmt.Sprintf("%s is recovering with no redundancy left (%s): every in-sync member (%s) is needed, one more failure loses its data", a.Name, sh.Describe(), strings.Join(from, ", "))
	}
	return fmt.Sprintf("%s is recovering from its last good copy %s: one more failure loses its data", a.Name, strings.Join(from, ", "))
}
