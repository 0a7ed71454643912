package discover

import (
	"fmt"

	"github.com/prometheus/procfs"

	"github.com/raidswap/raidswap/mdadm"
)

// This file reads md's two sources of array state, sysfs and /proc/mdstat, and merges
// them into Arrays and their Members.

// mergeArrays joins what sysfs and /proc/mdstat say of each array. sysfs is preferred: it
// has slots, UUIDs and exact sync sectors; mdstat fills gaps and knows about DELAYED syncs.
func mergeArrays(sys []mdadm.SysArray, stats []mdadm.MDStat) []Array {
	byName := map[string]*mdadm.MDStat{}
	for i := range stats {
		byName[stats[i].Name] = &stats[i]
	}
	seen := map[string]bool{}
	out := []Array{}
	for _, sa := range sys {
		seen[sa.Name] = true
		out = append(out, buildArray(&sa, byName[sa.Name]))
	}
	for i := range stats {
		if !seen[stats[i].Name] {
			out = append(out, buildArray(nil, &stats[i]))
		}
	}
	return out
}

func strp(s string) *string { return &s }
func intp(i int) *int       { return &i }

func buildArray(sa *mdadm.SysArray, st *mdadm.MDStat) Array {
	a := Array{State: ArrayUnknown, Members: []Member{}, RaidDisks: mdadm.Unknown, ActiveDisks: mdadm.Unknown, SizeKiB: mdadm.Unknown, MDDegraded: mdadm.Unknown}
	if sa != nil {
		a.Name, a.UUID, a.Level, a.Metadata = sa.Name, sa.UUID, sa.Level, sa.Metadata
		a.MDDegraded = sa.Degraded
		if sa.Layout != mdadm.Unknown {
			a.Layout = intp(sa.Layout)
		}
		a.SizeKiB, a.Bitmap = sa.ComponentKiB, sa.Bitmap
		if sa.RaidDisks > 0 {
			a.RaidDisks = sa.RaidDisks
		}
		for _, m := range sa.Members {
			a.Members = append(a.Members, memberFromSys(m))
		}
	}
	if st != nil {
		a.Name = st.Name
		if a.Level == "" && st.Type != "unknown" {
			a.Level = st.Type
		}
		if a.Metadata == "" {
			a.Metadata = st.Metadata
		}
		if st.DisksTotal > 0 {
			switch {
			case a.RaidDisks == mdadm.Unknown:
				a.RaidDisks = int(st.DisksTotal)
			case a.RaidDisks != int(st.DisksTotal):
				a.Notes = append(a.Notes, fmt.Sprintf("md/raid_disks is %d but /proc/mdstat says %d", a.RaidDisks, st.DisksTotal))
				a.RaidDisks = max(a.RaidDisks, int(st.DisksTotal))
			}
		}
		if sa == nil {
			a.MDStatOnly = true
			if st.DisksTotal > 0 {
				// md's own count of lost slots, as mdstat's [n/m] gives it.
				a.MDDegraded = max(int(st.DisksTotal-st.DisksActive), 0)
			}
		}
		if sa == nil || len(sa.Members) == 0 {
			for _, c := range st.Devices {
				a.Members = append(a.Members, memberFromMDStat(c, st.Action != ""))
			}
		}
	}
	a.ActiveDisks = inSyncCount(a.Members, a.RaidDisks)
	faulty := 0
	for _, m := range a.Members {
		if m.State == MemberFaulty {
			faulty++
		}
	}
	a.Members = withMissingSlots(a.Members, a.RaidDisks, faulty)
	a.Sync = buildSync(sa, st)
	a.State = arrayState(&a, sa, st)
	a.State = redundancyState(&a, sa, st)
	return a
}

// inSyncCount counts the slots in_sync members hold: a member in a slot past raid_disks, or
// two claiming one slot, do not make the array whole. A member whose slot is not known
// (mdstat lists none) counts on its own.
func inSyncCount(members []Member, raidDisks int) int {
	held := map[int]bool{}
	n := 0
	for _, m := range members {
		if m.State != MemberInSync {
			continue
		}
		switch {
		case m.Slot == nil:
			n++
		case *m.Slot >= 0 && (raidDisks <= 0 || *m.Slot < raidDisks) && !held[*m.Slot]:
			held[*m.Slot] = true
			n++
		}
	}
	return n
}

func memberFromSys(m mdadm.SysMember) Member {
	mem := Member{Device: strp(m.Device), Flags: m.State, Gone: m.Gone}
	if m.Disk != "" {
		mem.Disk = strp(m.Disk)
	}
	if m.Slot != mdadm.Unknown {
		mem.Slot = intp(m.Slot)
	}
	if m.DataOffset != mdadm.Unknown {
		off := m.DataOffset
		mem.DataOffsetSectors = &off
	}
	mem.State, mem.Warnings = judgeMemberState(mdadm.ParseDevState(m.State), len(m.State) == 0, m.Slot != mdadm.Unknown)
	return mem
}

// memberFromMDStat is the fallback when sysfs lists no members: mdstat has only the (F) and
// (S) marks, no slots, so a member of a syncing array cannot be told in_sync or rebuilding.
func memberFromMDStat(c procfs.MDStatComponent, syncing bool) Member {
	m := Member{Device: strp(c.Name), State: MemberInSync}
	switch {
	case c.Faulty:
		m.State = MemberFaulty
	case c.Spare:
		m.State = MemberSpare
	case syncing:
		m.State = MemberUnknown
	}
	return m
}

// withMissingSlots adds a "missing" member for each slot that no in_sync or rebuilding member
// holds. A faulty member still listed by the kernel stands for its slot until it is removed,
// so each faulty member cancels one missing slot.
func withMissingSlots(members []Member, raidDisks, faulty int) []Member {
	if raidDisks <= 0 {
		return members
	}
	placed := false
	for _, m := range members {
		placed = placed || m.Slot != nil
	}
	if !placed && len(members) > 0 {
		// Only /proc/mdstat named the members, without slots: which slots are empty is
		// unknown, and inventing "missing" ones would draw a whole array as [__].
		return members
	}
	held := map[int]bool{}
	for _, m := range members {
		if m.Slot != nil && (m.State == MemberInSync || m.State == MemberRebuilding) {
			held[*m.Slot] = true
		}
	}
	for slot := 0; slot < raidDisks; slot++ {
		if held[slot] {
			continue
		}
		if faulty > 0 {
			faulty--
			continue
		}
		members = append(members, Member{Slot: intp(slot), State: MemberMissing})
	}
	return members
}

func buildSync(sa *mdadm.SysArray, st *mdadm.MDStat) *Sync {
	if p := pendingSync(sa, st); p != nil {
		return p
	}
	var action SyncAction
	if sa != nil && sa.SyncAction != "" && sa.SyncAction != "idle" && sa.SyncAction != "frozen" {
		action = SyncAction(sa.SyncAction)
	}
	delayed := st != nil && st.Delayed
	if action == "" && st != nil {
		action = syncActionOf(st.Action)
	}
	if action == "" {
		return nil
	}
	s := &Sync{Action: action, Delayed: delayed, SpeedKiB: 0, ETASeconds: -1}
	switch {
	case sa != nil && sa.SyncTotal > 0 && sa.SyncDone >= 0:
		s.Percent = float64(sa.SyncDone) * 100 / float64(sa.SyncTotal)
	case st != nil:
		s.Percent = st.BlocksSyncedPct
	}
	if sa != nil && sa.SyncSpeedKiB > 0 {
		s.SpeedKiB = sa.SyncSpeedKiB
	} else if st != nil && st.BlocksSyncedSpeed > 0 {
		s.SpeedKiB = int64(st.BlocksSyncedSpeed)
	}
	switch {
	case delayed:
		s.SpeedKiB = 0
	case sa != nil && sa.SyncTotal > 0 && s.SpeedKiB > 0:
		s.ETASeconds = (sa.SyncTotal - sa.SyncDone) / 2 / s.SpeedKiB
	case st != nil && st.BlocksSyncedFinishTime > 0:
		s.ETASeconds = int64(st.BlocksSyncedFinishTime * 60)
	}
	s.Percent = float64(int64(s.Percent*10)) / 10
	return s
}
