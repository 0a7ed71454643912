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
	if a.MDStatOnly {
		// mdstat names no slots: the model cannot place anything (see Redundant for what
		// its counts do prove).
		return mdadm.Shape{Level: a.Level, RaidDisks: a.RaidDisks, Layout: layout}
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
		if a.State == ArrayDegraded {
			return a.State // a lost slot is what mdstat's counts do prove
		}
		// Whole by mdstat's counts, but no member's state flags or slot are known (an
		// in_sync member with write errors, a rebuilding one, look the same there): the
		// array cannot be judged (issue 17, item 12).
		a.Notes = append(a.Notes, fmt.Sprintf("only /proc/mdstat was readable: it counts %d of %d members in use but names no member's slot or md state, so whether %s is whole cannot be judged",
			st.DisksActive, st.DisksTotal, a.Name))
		return ArrayUnknown
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

// Redundant reports whether the array can lose one more member, whichever it is, and keep
// its data (mdadm.Shape.Tolerance of at least 1), and whether that could be judged at all. It
// is the one answer to "has the array its redundancy back": judge keeps the verdict critical
// while an array whose level gives redundancy has none (a raid1 rebuilding onto its second
// member, a raid5 rebuilding one, a raid6 rebuilding two; a raid6 rebuilding one, or a
// three-way raid1 rebuilding one, still has it), status says "one copy until done", and
// raidswap_array_redundant reports it. With only /proc/mdstat, its counts can prove the
// redundancy lost, never that it is there.
func (a Array) Redundant() (redundant, known bool) {
	switch a.State {
	case ArrayFailed, ArrayInactive, ArrayMissing:
		return false, true
	}
	if a.MDStatOnly {
		if a.Level == "raid10" || a.MDDegraded < 0 || a.RaidDisks <= 0 {
			return false, false
		}
		if sh := countShape(a.Level, a.RaidDisks, a.RaidDisks-a.MDDegraded); sh.Known() && sh.Tolerance() < 1 {
			return false, true
		}
		return false, false
	}
	sh := a.Shape()
	if !sh.Known() {
		return false, false
	}
	return sh.Tolerance() >= 1, true
}

// LevelRedundant reports whether the array's level, with every slot in sync, survives the
// loss of a member: raid1 of two or more slots, raid10, raid4/5/6; not raid0 or linear. An
// array whose level gives no redundancy never had any to lose.
func (a Array) LevelRedundant() bool {
	layout := mdadm.Unknown
	if a.Layout != nil {
		layout = *a.Layout
	}
	all := make([]int, max(a.RaidDisks, 0))
	for i := range all {
		all[i] = i
	}
	return mdadm.NewShape(a.Level, a.RaidDisks, layout, all, 0).Tolerance() >= 1
}

// SingleCopy reports that the array's level gives redundancy and the array has none now
// (Redundant, judged): one more failure loses data.
func (a Array) SingleCopy() bool {
	red, known := a.Redundant()
	return known && !red && a.LevelRedundant()
}

// Rebuilding is how status names a recovering array: "rebuilding, 42 % (one copy until
// done)", "(no redundancy until done)" on a parity level, "(still redundant)" where the
// model says it can lose one more member meanwhile; "" when md is not recovering it.
func (a Array) Rebuilding() string {
	if a.Sync == nil || a.Sync.Action != SyncRecover || a.Sync.Pending {
		return ""
	}
	what := fmt.Sprintf("rebuilding, %d %%", int(a.Sync.Percent))
	if a.Sync.Delayed {
		what = "waiting to rebuild"
	}
	red, known := a.Redundant()
	switch {
	case !known:
		return what + " (redundancy unknown)"
	case red:
		return what + " (still redundant)"
	case !a.LevelRedundant():
		return what
	case mdadm.NewShape(a.Level, a.RaidDisks, 0, nil, 0).ParityLevel():
		return what + " (no redundancy until done)"
	}
	return what + " (one copy until done)"
}

// lastCopy is judge's critical line for an array that recovers from its last in-sync copy:
// one more failure there loses data, so the whole rebuild is critical, not a warning (a
// recovery with redundancy to spare, like a raid6 missing one member, stays a warning).
func lastCopy(a Array) string {
	if a.Sync == nil || a.Sync.Action != SyncRecover || !a.SingleCopy() {
		return ""
	}
	var from []string
	for _, m := range a.Members {
		if m.State == MemberInSync && !a.MDStatOnly {
			from = append(from, m.Label())
		}
	}
	if len(from) == 0 {
		return fmt.Sprintf("%s is recovering with no redundancy left (/proc/mdstat counts %d of %d members in sync): %s; one more failure loses its data", a.Name, a.RaidDisks-a.MDDegraded, a.RaidDisks, a.Rebuilding())
	}
	if sh := a.Shape(); sh.ParityLevel() {
		return fmt.Sprintf("%s is recovering with no redundancy left (%s): %s; every in-sync member (%s) is needed, one more failure loses its data", a.Name, sh.Describe(), a.Rebuilding(), strings.Join(from, ", "))
	}
	return fmt.Sprintf("%s is recovering from its last good copy %s: %s; one more failure loses its data", a.Name, strings.Join(from, ", "), a.Rebuilding())
}
