package discover

import (
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
