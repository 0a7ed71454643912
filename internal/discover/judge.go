package discover

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/mdadm"
)

// This file judges: a member's state from its md flags, an array's state, a disk's verdict,
// and the overall verdict with its one-line summary.

// judgeMemberState gives a member's state from its dev-*/state flags and the warnings they
// call for. md prints exactly one of faulty, in_sync, journal or spare (faulty may come with
// in_sync while bad blocks are unacknowledged); anything else cannot be judged.
func judgeMemberState(d mdadm.DevState, empty, hasSlot bool) (MemberState, []string) {
	var warn []string
	state := MemberUnknown
	switch {
	case empty:
		warn = append(warn, "its md state could not be read")
	case d.Faulty:
		state = MemberFaulty
	case d.InSync && (d.Spare || d.Journal):
		warn = append(warn, "its md state is contradictory (in_sync with spare or journal)")
	case d.InSync:
		state = MemberInSync
	case d.Journal:
		state = MemberJournal
	case d.Spare && hasSlot:
		state = MemberRebuilding
	case d.Spare:
		state = MemberSpare
	default:
		warn = append(warn, "its md state is neither in_sync, faulty nor spare")
	}
	if d.Blocked && !d.Faulty {
		warn = append(warn, "blocked: md holds writes to it until a failure or bad blocks on it are acknowledged")
	}
	if d.WriteError {
		warn = append(warn, "write_error: it has failed a write")
	}
	if d.WantReplacement {
		warn = append(warn, "want_replacement: md asks for it to be replaced")
	}
	for _, u := range d.Unknown {
		warn = append(warn, fmt.Sprintf("its md state has the flag %q, which raidswap does not know", u))
	}
	return state, warn
}

// arrayState judges the array from three sources that md keeps separately and that a reader
// may catch mid-change: md/array_state and md/degraded in sysfs, the [n/m] [U_] of
// /proc/mdstat, and the tally of in_sync members. When they disagree the worse wins, and the
// disagreement is noted.
func arrayState(a *Array, sa *mdadm.SysArray, st *mdadm.MDStat) ArrayState {
	note := func(format string, args ...any) { a.Notes = append(a.Notes, fmt.Sprintf(format, args...)) }
	inactive, broken, unknown := false, false, false
	if sa != nil {
		switch sa.ArrayState {
		case "clean", "active", "active-idle", "write-pending", "read-auto":
			// read-auto: not written since assembly. Whether md still owes it a resync is
			// judged from resync_start and mdstat (pending.go), not from this word.
		case "readonly":
			note("md/array_state is readonly: the array takes no writes")
		case "suspended":
			note("md/array_state is suspended: I/O to the array waits")
		case "inactive", "clear":
			inactive = true
		case "broken":
			broken = true
			note("md/array_state is broken: md has lost a member it cannot do without")
		case "":
			unknown = true
			note("md/array_state could not be read")
		default:
			unknown = true
			note("md/array_state is %q, which raidswap does not know", sa.ArrayState)
		}
	}
	if st != nil && st.ActivityState == "inactive" {
		inactive = true
	}
	switch {
	case sa == nil && st == nil:
		return ArrayUnknown
	case sa == nil:
		note("listed in /proc/mdstat but not in /sys/block")
	case st == nil:
		note("listed in /sys/block but not in /proc/mdstat")
	}
	if inactive {
		return ArrayInactive
	}
	if a.RaidDisks <= 0 {
		note("the number of member slots could not be read")
		return ArrayUnknown
	}

	tally := max(a.RaidDisks-a.ActiveDisks, 0)
	worst := tally
	var said []string
	if sa != nil && sa.Degraded >= 0 {
		worst = max(worst, sa.Degraded)
		if sa.Degraded != tally {
			said = append(said, fmt.Sprintf("md/degraded is %d", sa.Degraded))
		}
	}
	if st != nil && st.DisksTotal > 0 {
		down := max(int(st.DisksTotal-st.DisksActive), int(st.DisksDown))
		worst = max(worst, down)
		if down != tally {
			said = append(said, fmt.Sprintf("/proc/mdstat says %d missing", down))
		}
	}
	if len(said) > 0 {
		note("%s but %d of %d slots hold an in_sync member: the worse is taken", strings.Join(said, ", "), a.ActiveDisks, a.RaidDisks)
	}

	rebuilding, faulty := 0, 0
	for _, m := range a.Members {
		switch m.State {
		case MemberRebuilding:
			rebuilding++
		case MemberFaulty:
			faulty++
		}
	}
	recovering := a.Sync != nil && a.Sync.Action == SyncRecover
	switch {
	case worst > 0 && recovering && rebuilding >= worst && !broken:
		// Every missing slot is being rebuilt: redundancy is on its way back.
		return ArrayRecovering
	case worst > 0 || broken || faulty > 0:
		return ArrayDegraded
	case unknown:
		return ArrayUnknown
	case recovering:
		return ArrayRecovering
	case a.Sync != nil && a.Sync.Action == SyncResync:
		return ArrayResyncing
	}
	return ArrayClean
}

func diskVerdict(d *Disk) DiskState {
	if !d.Present {
		return DiskVanished
	}
	if len(d.Members) == 0 {
		return DiskUnused
	}
	var faulty, inSync, rebuilding, spare int
	for _, m := range d.Members {
		switch m.State {
		case MemberFaulty:
			faulty++
		case MemberInSync:
			inSync++
		case MemberRebuilding:
			rebuilding++
		case MemberSpare:
			spare++
		}
	}
	switch {
	case faulty > 0 && (inSync > 0 || rebuilding > 0):
		return DiskPartiallyFailed
	case faulty > 0:
		return DiskFailed
	case rebuilding > 0:
		return DiskRebuilding
	case spare == len(d.Members):
		return DiskSpare
	default:
		return DiskHealthy
	}
}

// judge gives the overall verdict and the one line that explains it: what is critical
// first, then what cannot be judged (UNKNOWN), then what needs attention. Whatever could not
// be read makes it at least a warning. The verdict stays critical until every array whose
// level gives redundancy has it back (Array.SingleCopy): a rebuild onto the last missing
// member of a mirror is one copy until it is done.
func judge(s *System) (Verdict, string) {
	var crit, unknown, warn []string
	judged := 0
	for _, a := range s.Arrays {
		if a.Drill != "" && s.Scope == nil {
			continue // a drill's array: shown, never the host's alarm
		}
		judged++
		why := ""
		if len(a.Notes) > 0 {
			why = " (" + strings.Join(a.Notes, "; ") + ")"
		}
		crit = append(crit, redundancyFindings(a)...)
		switch a.State {
		case ArrayFailed:
		case ArrayInactive:
			crit = append(crit, a.Name+" is inactive"+why)
		case ArrayDegraded:
			crit = append(crit, fmt.Sprintf("%s is degraded %s%s", a.Name, a.Bar(), why))
		case ArrayMissing:
			crit = append(crit, a.Name+" is missing: md lists it nowhere"+why)
		case ArrayUnknown:
			if a.MDStatOnly {
				// mdstat's counts show nothing lost, and nothing more can be read.
				unknown = append(unknown, a.Name+" cannot be judged"+why)
			} else {
				crit = append(crit, a.Name+" is in an unknown state"+why)
			}
		case ArrayRecovering, ArrayResyncing:
			_, known := a.Redundant()
			switch {
			case a.SingleCopy() && lastCopy(a) != "":
				// lastCopy's critical line says it, with the progress.
			case a.SingleCopy():
				crit = append(crit, fmt.Sprintf("%s has no redundancy left (%s)%s", a.Name, a.Shape().Describe(), why))
			case a.State == ArrayRecovering && !known:
				unknown = append(unknown, fmt.Sprintf("%s is %s: raidswap cannot judge what it can lose (%s)%s", a.Name, a.Rebuilding(), a.Shape().Describe(), why))
			case syncWaitLine(a, why) != "":
				warn = append(warn, syncWaitLine(a, why))
			case a.Rebuilding() != "":
				warn = append(warn, fmt.Sprintf("%s is %s%s", a.Name, a.Rebuilding(), why))
			case a.Sync != nil:
				warn = append(warn, fmt.Sprintf("%s is %s (%.1f%%)%s", a.Name, a.State, a.Sync.Percent, why))
			}
		default:
			if len(a.Notes) > 0 {
				warn = append(warn, a.Name+": "+strings.Join(a.Notes, "; "))
			}
		}
		warn = append(warn, pendingBesideState(a)...)
		for _, m := range a.Members {
			if m.State == MemberFaulty && a.State != ArrayDegraded && a.State != ArrayFailed && a.State != ArrayClean {
				crit = append(crit, fmt.Sprintf("%s has faulty member %s", a.Name, *m.Device))
			}
			if len(m.Warnings) > 0 {
				warn = append(warn, fmt.Sprintf("%s member %s: %s", a.Name, m.Label(), strings.Join(m.Warnings, "; ")))
			}
		}
	}
	for _, d := range s.Disks {
		if d.Drill != "" && s.Scope == nil {
			continue
		}
		switch d.Verdict {
		case DiskVanished:
			line := fmt.Sprintf("disk %s has vanished", d.Label())
			if d.LastSeen != "" {
				line += ", last seen " + d.LastSeen
			}
			crit = append(crit, line)
		case DiskFailed, DiskPartiallyFailed:
			crit = append(crit, fmt.Sprintf("disk %s has %s", d.Label(), strings.ReplaceAll(string(d.Verdict), "_", " ")))
		}
		warn = append(warn, smartWarnings(d)...)
	}
	warn = append(warn, bootWarnings(s)...)
	warn = append(warn, unfinishedLines(s)...)
	if len(s.Problems) > 0 {
		warn = append(warn, fmt.Sprintf("could not read %d thing(s), first: %s", len(s.Problems), s.Problems[0]))
	}
	v, line := OK, fmt.Sprintf("%d array(s) clean", judged)
	switch {
	case len(crit) > 0:
		v, line = Critical, strings.Join(append(append(crit, unknown...), warn...), "; ")
	case len(unknown) > 0:
		v, line = Unknown, strings.Join(append(unknown, warn...), "; ")
	case len(warn) > 0:
		v, line = Warning, strings.Join(warn, "; ")
	case judged == 0:
		line = "no md arrays"
	}
	if n := drillNote(s); n != "" {
		line += "; " + n
	}
	return v, line
}

// Label is "vdb2 on vdb (WD-X9)", or what is known of the member: how status, the plan and
// the executor name a member.
func (m Member) Label() string {
	n := derefOr(m.Device, "slot ?")
	if m.Device == nil && m.Slot != nil {
		n = fmt.Sprintf("slot %d", *m.Slot)
	}
	if m.Disk != nil {
		n += " on " + *m.Disk
		if m.Serial != "" {
			n += " (" + m.Serial + ")"
		}
	}
	return n
}

func derefOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

// Bar is the familiar [UU] / [U_] picture of the array's slots.
func (a Array) Bar() string {
	if a.RaidDisks <= 0 {
		return "[?]"
	}
	slots := make([]byte, a.RaidDisks)
	for i := range slots {
		slots[i] = slotUnknownOr(a, '_')
	}
	for _, m := range a.Members {
		if m.Slot != nil && *m.Slot >= 0 && *m.Slot < a.RaidDisks && m.State == MemberInSync {
			slots[*m.Slot] = 'U'
		}
	}
	return fmt.Sprintf("[%d/%d] [%s]", a.RaidDisks, a.ActiveDisks, slots)
}
