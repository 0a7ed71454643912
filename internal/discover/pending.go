package discover

import (
	"fmt"

	"github.com/raidswap/raidswap/mdadm"
)

// This file judges a sync md owes an array but has not started. After an unclean shutdown
// (or a resync cut short, or a new array) md has not yet checked that the members agree
// where writes were in flight: md/resync_start holds a sector instead of "none", and
// /proc/mdstat says "resync=PENDING" (md.c status_resync: recovery_cp < MaxSector with no
// sync running; mdadm --detail shows it as "resyncing (PENDING)"). md starts that resync only
// once the array is writable: an array assembled read-auto (md_mod start_ro=1, the default on
// Debian's kernels) waits for its first write or `mdadm --readwrite`, a readonly one for
// `mdadm --readwrite`, a frozen one for sync_action "idle". Until then a read may return
// either copy, so status is not OK. A read-auto array whose resync_start is "none" is in sync:
// md wrote it clean, and it stays OK.

// pendingSync is the sync md owes the array and has not started, with the reason and what
// starts it, or nil. Two sources, either enough: mdstat's PENDING and sysfs' resync_start
// while md runs no sync.
func pendingSync(sa *mdadm.SysArray, st *mdadm.MDStat) *Sync {
	var action SyncAction
	if st != nil && st.Wait == "PENDING" {
		action = syncActionOf(st.Action)
	}
	if action == "" && sa != nil && sa.ResyncNeeded && redundantLevel(sa.Level) {
		switch sa.SyncAction {
		case "", "idle", "frozen":
			action = SyncResync
		}
	}
	if action == "" {
		return nil
	}
	name := ""
	switch {
	case sa != nil:
		name = sa.Name
	case st != nil:
		name = st.Name
	}
	s := &Sync{Action: action, Pending: true, Delayed: true, ETASeconds: -1, Reason: pendingReason(action, name, sa)}
	if sa != nil && sa.ResyncNeeded && action == SyncResync && sa.ComponentKiB > 0 {
		// resync_start is the sector md resumes from: the part before it was checked.
		s.Percent = float64(int64(float64(sa.ResyncFrom)/2*1000/float64(sa.ComponentKiB))) / 10
	}
	return s
}

// pendingReason says why md has not started the sync and what starts it.
func pendingReason(action SyncAction, name string, sa *mdadm.SysArray) string {
	dev := mdadm.ArrayDevice(name)
	what := fmt.Sprintf("resync pending: md has not yet checked that %s's members agree (an unclean shutdown, an interrupted resync or a new array leaves it so)", name)
	if action != SyncResync {
		what = fmt.Sprintf("%s pending: md has not started it on %s", action, name)
	}
	state, syncAction := "", ""
	if sa != nil {
		state, syncAction = sa.ArrayState, sa.SyncAction
	}
	switch {
	case state == "read-auto":
		return what + "; it starts on the first write or `mdadm --readwrite " + dev + "`"
	case state == "readonly":
		return what + "; the array is read-only: `mdadm --readwrite " + dev + "` lets it start"
	case syncAction == "frozen":
		return what + "; md/sync_action is frozen: `echo idle > /sys/block/" + name + "/md/sync_action` lets it start"
	}
	return what + "; md has not started it yet"
}

// syncActionOf maps mdstat's sync word to sysfs' (recovery -> recover).
func syncActionOf(word string) SyncAction {
	switch word {
	case "recovery":
		return SyncRecover
	case "resync", "check", "repair", "reshape":
		return SyncAction(word)
	}
	return ""
}

// redundantLevel: the levels md resyncs (raid0 and linear have nothing to compare).
func redundantLevel(level string) bool {
	switch level {
	case "raid1", "raid4", "raid5", "raid6", "raid10":
		return true
	}
	return false
}

// syncWaitLine is the verdict line of an array whose sync waits: pending (with its reason)
// or delayed behind another array; "" when its sync is running or there is none.
func syncWaitLine(a Array, why string) string {
	switch {
	case a.Sync == nil:
		return ""
	case a.Sync.Pending:
		return a.Name + ": " + a.Sync.Reason + why
	case a.Sync.Delayed:
		return fmt.Sprintf("%s waits to %s for another array%s", a.Name, a.Sync.Action, why)
	}
	return ""
}

// pendingBesideState is the pending line of an array whose state line does not already say
// it (a degraded array whose recovery md has not started, a check not started).
func pendingBesideState(a Array) []string {
	if a.Sync == nil || !a.Sync.Pending || a.State == ArrayRecovering || a.State == ArrayResyncing {
		return nil
	}
	return []string{syncWaitLine(a, "")}
}
