package discover

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/procfs"

	"github.com/raidswap/raidswap/mdadm"
)

// TestRedundancyVerdicts: what the redundancy model makes of an array in status (issue 17).
func TestRedundancyVerdicts(t *testing.T) {
	arr := func(level string, disks, degraded int, state string, ms ...mdadm.SysMember) *mdadm.SysArray {
		return &mdadm.SysArray{Name: "md1", UUID: "u1", Level: level, ArrayState: state, RaidDisks: disks, Degraded: degraded, Layout: 2,
			SyncAction: "idle", SyncDone: mdadm.Unknown, SyncTotal: mdadm.Unknown, SyncSpeedKiB: mdadm.Unknown, Members: ms}
	}
	faulty := func(dev, disk string) mdadm.SysMember {
		m := sysMember(dev, disk, 0, "faulty")
		m.Slot = mdadm.Unknown
		return m
	}
	tests := []struct {
		name  string
		sa    *mdadm.SysArray
		state ArrayState
		want  Verdict
		say   string
	}{
		{"raid5 two of three failed", arr("raid5", 3, 2, "clean", sysMember("vda3", "vda", 0, "in_sync"), faulty("vdb3", "vdb"), faulty("vdc3", "vdc")),
			ArrayFailed, Critical, "md1 has FAILED: raid5, 2 of 3 slots lost: FAILED (a raid5 survives the loss of 1 member); md cannot serve its data and no rebuild brings it back: restore from backup"},
		{"raid5 one of three lost: degraded, not failed", arr("raid5", 3, 1, "clean", sysMember("vda3", "vda", 0, "in_sync"), sysMember("vdb3", "vdb", 1, "in_sync")),
			ArrayDegraded, Critical, "md1 is degraded [3/2] [UU_]"},
		{"raid6 two of four lost: degraded, not failed", arr("raid6", 4, 2, "clean", sysMember("vda3", "vda", 0, "in_sync"), sysMember("vdb3", "vdb", 1, "in_sync")),
			ArrayDegraded, Critical, "md1 is degraded [4/2] [UU__]"},
		{"a spare took over: faulty leftover", arr("raid1", 2, 0, "clean", sysMember("vda2", "vda", 0, "in_sync"), sysMember("vdc2", "vdc", 1, "in_sync"), faulty("vdb2", "vdb")),
			ArrayClean, Critical, "md1 has a faulty leftover vdb2 on vdb: md is whole without it; remove it (mdadm /dev/md1 --remove /dev/vdb2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := buildArray(tt.sa, nil)
			if a.State != tt.state {
				t.Errorf("state %s, want %s", a.State, tt.state)
			}
			got, why := judge(&System{Arrays: []Array{a}})
			if got != tt.want || !strings.Contains(why, tt.say) {
				t.Errorf("got %s (%s), want %s saying %q", got, why, tt.want, tt.say)
			}
			if strings.Contains(why, "is degraded") && tt.state != ArrayDegraded {
				t.Errorf("called degraded: %s", why)
			}
		})
	}
}

// TestMDStatOnlyNotDrawnEmpty: with only /proc/mdstat (no sysfs), which slot each member holds
// is unknown: a whole array is not drawn [__], and a raid5 mdstat counts two short of is
// FAILED.
func TestMDStatOnlyNotDrawnEmpty(t *testing.T) {
	st := func(level string, total, active int64, devs ...string) mdadm.MDStat {
		s := mdadm.MDStat{}
		s.Name, s.ActivityState, s.Type, s.DisksTotal, s.DisksActive = "md0", "active", level, total, active
		for _, d := range devs {
			s.Devices = append(s.Devices, procfs.MDStatComponent{Name: d})
		}
		return s
	}
	whole := buildArray(nil, ptr(st("raid1", 2, 2, "sda1", "sdb1")))
	if bar := whole.Bar(); strings.Contains(bar, "_") {
		t.Errorf("a whole mdstat-only array is drawn %s", bar)
	}
	for _, m := range whole.Members {
		if m.State == MemberMissing {
			t.Errorf("a whole mdstat-only array has a missing member: %+v", whole.Members)
		}
	}
	failed := buildArray(nil, ptr(st("raid5", 3, 1, "sda1")))
	if failed.State != ArrayFailed {
		t.Errorf("mdstat-only raid5 [3/1]: state %s, want failed", failed.State)
	}
}

func ptr[T any](v T) *T { return &v }

// TestRedundantDuringRebuild: per level, whether an array rebuilding a member still has its
// redundancy, what status calls it, and the verdict: critical until every array whose level
// gives redundancy has it back (issue 20, item 5).
func TestRedundantDuringRebuild(t *testing.T) {
	recov := func(level string, disks, degraded int, ms ...mdadm.SysMember) *mdadm.SysArray {
		return &mdadm.SysArray{Name: "md1", UUID: "u1", Level: level, ArrayState: "clean", RaidDisks: disks, Degraded: degraded, Layout: 0x102,
			SyncAction: "recover", SyncDone: 42, SyncTotal: 100, SyncSpeedKiB: mdadm.Unknown, Members: ms}
	}
	in := func(slot int) mdadm.SysMember {
		return sysMember(fmt.Sprintf("vd%c3", 'a'+slot), fmt.Sprintf("vd%c", 'a'+slot), slot, "in_sync")
	}
	rb := func(slot int) mdadm.SysMember {
		return sysMember(fmt.Sprintf("vd%c3", 'a'+slot), fmt.Sprintf("vd%c", 'a'+slot), slot, "spare")
	}
	mdstat := func(level string, total, active int64, action string) *mdadm.MDStat {
		st := &mdadm.MDStat{}
		st.Name, st.ActivityState, st.Type, st.DisksTotal, st.DisksActive, st.Action = "md1", "active", level, total, active, action
		st.BlocksSyncedPct = 42
		for i := range total {
			st.Devices = append(st.Devices, procfs.MDStatComponent{Name: fmt.Sprintf("vd%c3", 'a'+i)})
		}
		return st
	}
	tests := []struct {
		name       string
		sa         *mdadm.SysArray
		st         *mdadm.MDStat
		redundant  bool
		known      bool
		rebuilding string
		want       Verdict
	}{
		{"raid1 rebuilding its second member", recov("raid1", 2, 1, in(0), rb(1)), nil, false, true, "rebuilding, 42 % (one copy until done)", Critical},
		{"raid1 three-way rebuilding its third", recov("raid1", 3, 1, in(0), in(1), rb(2)), nil, true, true, "rebuilding, 42 % (still redundant)", Warning},
		{"raid5 rebuilding one", recov("raid5", 3, 1, in(0), in(1), rb(2)), nil, false, true, "rebuilding, 42 % (no redundancy until done)", Critical},
		{"raid6 rebuilding one of one lost", recov("raid6", 4, 1, in(0), in(1), in(2), rb(3)), nil, true, true, "rebuilding, 42 % (still redundant)", Warning},
		{"raid6 rebuilding both lost", recov("raid6", 4, 2, in(0), in(1), rb(2), rb(3)), nil, false, true, "rebuilding, 42 % (no redundancy until done)", Critical},
		{"raid10 near2 rebuilding one", recov("raid10", 4, 1, in(0), in(1), in(2), rb(3)), nil, false, true, "rebuilding, 42 % (one copy until done)", Critical},
		{"raid1 --replace onto a third member", recov("raid1", 2, 0, in(0), in(1), rb(1)), nil, true, true, "rebuilding, 42 % (still redundant)", Warning},
		{"mdstat only, raid1 [2/1] recovering", nil, mdstat("raid1", 2, 1, "recovery"), false, true, "rebuilding, 42 % (one copy until done)", Critical},
		{"mdstat only, raid6 [4/3] recovering", nil, mdstat("raid6", 4, 3, "recovery"), false, false, "rebuilding, 42 % (redundancy unknown)", Critical},
		{"mdstat only, raid1 [2/2]", nil, mdstat("raid1", 2, 2, ""), false, false, "", Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := buildArray(tt.sa, tt.st)
			red, known := a.Redundant()
			if red != tt.redundant || known != tt.known {
				t.Errorf("Redundant() = %v, %v; want %v, %v (state %s, shape %s)", red, known, tt.redundant, tt.known, a.State, a.Shape().Describe())
			}
			if got := a.Rebuilding(); got != tt.rebuilding {
				t.Errorf("Rebuilding() = %q, want %q", got, tt.rebuilding)
			}
			if got, why := judge(&System{Arrays: []Array{a}}); got != tt.want {
				t.Errorf("verdict %s (%s), want %s", got, why, tt.want)
			}
		})
	}
}
