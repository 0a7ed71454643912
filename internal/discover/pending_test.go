package discover

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/mdadm"
)

// TestPendingSync: a resync md owes but has not started (an unclean shutdown, then assembly
// read-auto) is never OK, from either source alone, and the reason says what starts it. The
// values are those md 6.1 showed in the VM (TestVMStatusResyncPending).
func TestPendingSync(t *testing.T) {
	sys := func(level, state, action, resyncStart string) mdadm.SysArray {
		a := mdadm.SysArray{Name: "md1", UUID: "u1", Level: level, ArrayState: state, RaidDisks: 2, Degraded: 0,
			SyncAction: action, SyncDone: mdadm.Unknown, SyncTotal: mdadm.Unknown, SyncSpeedKiB: mdadm.Unknown, ComponentKiB: 64512,
			Members: []mdadm.SysMember{sysMember("vda4", "vda", 0, "in_sync"), sysMember("vdb4", "vdb", 1, "in_sync")}}
		if resyncStart != "none" {
			a.ResyncNeeded = true
			a.ResyncFrom = map[string]int64{"0": 0, "12800": 12800}[resyncStart]
		}
		return a
	}
	stat := func(action, wait string, pct float64) mdadm.MDStat {
		st := mdadm.MDStat{Action: action, Wait: wait, Delayed: wait != ""}
		st.Name, st.ActivityState, st.DisksTotal, st.DisksActive, st.BlocksSyncedPct = "md1", "active", 2, 2, pct
		return st
	}
	tests := []struct {
		name    string
		sa      mdadm.SysArray
		st      mdadm.MDStat
		want    Verdict
		pending bool
		says    []string // in the summary
	}{
		{"read-auto after an unclean shutdown (both sources)", sys("raid1", "read-auto", "idle", "0"), stat("resync", "PENDING", 0), Warning, true,
			[]string{"md1: resync pending: md has not yet checked that md1's members agree", "it starts on the first write or `mdadm --readwrite /dev/md1`"}},
		{"resync_start alone (mdstat read without the line)", sys("raid1", "read-auto", "idle", "0"), stat("", "", 0), Warning, true,
			[]string{"resync pending", "--readwrite /dev/md1"}},
		{"mdstat PENDING alone", sys("raid1", "read-auto", "idle", "none"), stat("resync", "PENDING", 0), Warning, true, []string{"resync pending"}},
		{"interrupted resync, frozen", sys("raid1", "clean", "frozen", "12800"), stat("resync", "PENDING", 0), Warning, true,
			[]string{"md/sync_action is frozen: `echo idle > /sys/block/md1/md/sync_action` lets it start"}},
		{"readonly", sys("raid1", "readonly", "idle", "0"), stat("resync", "PENDING", 0), Warning, true, []string{"the array is read-only: `mdadm --readwrite /dev/md1`"}},
		{"read-auto, in sync", sys("raid1", "read-auto", "idle", "none"), stat("", "", 0), OK, false, []string{"1 array(s) clean"}},
		{"resync running (resync_start is its checkpoint)", sys("raid1", "clean", "resync", "12800"), stat("resync", "", 4.5), Warning, false, []string{"md1 is resyncing (4.5%)"}},
		{"delayed behind another array", sys("raid1", "clean", "resync", "0"), stat("resync", "DELAYED", 0), Warning, false, []string{"md1 waits to resync for another array"}},
		{"raid0 has nothing to resync", sys("raid0", "read-auto", "idle", "0"), stat("", "", 0), OK, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &System{Arrays: mergeArrays([]mdadm.SysArray{tt.sa}, []mdadm.MDStat{tt.st})}
			v, sum := judge(s)
			if v != tt.want {
				t.Errorf("verdict %s (%s), want %s", v, sum, tt.want)
			}
			for _, w := range tt.says {
				if !strings.Contains(sum, w) {
					t.Errorf("summary %q does not say %q", sum, w)
				}
			}
			a := s.Arrays[0]
			if got := a.Sync != nil && a.Sync.Pending; got != tt.pending {
				t.Errorf("pending %v (sync %+v), want %v", got, a.Sync, tt.pending)
			}
			if tt.pending && (a.State != ArrayResyncing || a.Sync == nil || a.Sync.Reason == "") {
				t.Errorf("state %s sync %+v, want resyncing with a reason", a.State, a.Sync)
			}
		})
	}
}
