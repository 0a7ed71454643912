package discover

import (
	"testing"

	"github.com/raidswap/raidswap/mdadm"
)

func sysMember(dev, disk string, slot int, state ...string) mdadm.SysMember {
	return mdadm.SysMember{Device: dev, Disk: disk, Slot: slot, State: state, RecoveryStart: mdadm.Unknown}
}

func TestMemberState(t *testing.T) {
	tests := []struct {
		name string
		in   mdadm.SysMember
		want string
	}{
		{"in sync", sysMember("sda1", "sda", 0, "in_sync"), MemberInSync},
		{"faulty keeps its slot", sysMember("sdb1", "sdb", 1, "faulty"), MemberFaulty},
		{"faulty without slot", sysMember("sdb1", "sdb", mdadm.Unknown, "faulty"), MemberFaulty},
		{"recovering into a slot", sysMember("sdc1", "sdc", 1, "spare"), MemberRebuilding},
		{"spare", sysMember("sdc1", "sdc", mdadm.Unknown, "spare"), MemberSpare},
		{"write-mostly in sync", sysMember("sdd1", "sdd", 1, "in_sync", "write_mostly"), MemberInSync},
		{"nothing readable", sysMember("sde1", "sde", mdadm.Unknown), MemberUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := memberFromSys(tt.in).State; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBuildArrayStates(t *testing.T) {
	base := func(members ...mdadm.SysMember) *mdadm.SysArray {
		return &mdadm.SysArray{Name: "md0", Level: "raid1", ArrayState: "clean", Metadata: "1.2", RaidDisks: 2,
			SyncAction: "idle", SyncDone: mdadm.Unknown, SyncTotal: mdadm.Unknown, SyncSpeedKiB: mdadm.Unknown, Members: members}
	}
	tests := []struct {
		name        string
		sa          *mdadm.SysArray
		wantState   string
		wantMissing int
		wantBar     string
	}{
		{"clean", base(sysMember("sda1", "sda", 0, "in_sync"), sysMember("sdb1", "sdb", 1, "in_sync")), ArrayClean, 0, "[2/2] [UU]"},
		{"faulty member still listed", base(sysMember("sda1", "sda", 0, "in_sync"), sysMember("sdb1", "sdb", mdadm.Unknown, "faulty")), ArrayDegraded, 0, "[2/1] [U_]"},
		{"member removed", base(sysMember("sda1", "sda", 0, "in_sync")), ArrayDegraded, 1, "[2/1] [U_]"},
		{"slot 0 empty", base(sysMember("sdb1", "sdb", 1, "in_sync")), ArrayDegraded, 1, "[2/1] [_U]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := buildArray(tt.sa, nil)
			if a.State != tt.wantState {
				t.Errorf("state %q, want %q", a.State, tt.wantState)
			}
			missing := 0
			for _, m := range a.Members {
				if m.State == MemberMissing {
					missing++
					if m.Device != nil {
						t.Errorf("missing member has device %q", *m.Device)
					}
				}
			}
			if missing != tt.wantMissing {
				t.Errorf("%d missing members, want %d", missing, tt.wantMissing)
			}
			if got := a.Bar(); got != tt.wantBar {
				t.Errorf("bar %q, want %q", got, tt.wantBar)
			}
		})
	}
}

func TestBuildSync(t *testing.T) {
	sa := &mdadm.SysArray{Name: "md1", SyncAction: "recover", SyncDone: 500, SyncTotal: 2000, SyncSpeedKiB: 100}
	s := buildSync(sa, nil)
	if s == nil || s.Action != "recover" || s.Percent != 25 || s.SpeedKiB != 100 {
		t.Fatalf("got %+v", s)
	}
	// 1500 sectors left = 750 KiB at 100 KiB/s.
	if s.ETASeconds != 7 {
		t.Errorf("eta %d, want 7", s.ETASeconds)
	}
	st := &mdadm.MDStat{Delayed: true, Action: "resync"}
	d := buildSync(&mdadm.SysArray{SyncAction: "resync", SyncDone: mdadm.Unknown, SyncTotal: mdadm.Unknown}, st)
	if d == nil || !d.Delayed || d.ETASeconds != -1 {
		t.Errorf("delayed: got %+v", d)
	}
	if buildSync(&mdadm.SysArray{SyncAction: "idle"}, nil) != nil {
		t.Error("idle array has a sync")
	}
}

func TestDiskVerdict(t *testing.T) {
	dm := func(states ...string) []DiskMember {
		var out []DiskMember
		for i, s := range states {
			out = append(out, DiskMember{Array: "md" + string(rune('0'+i)), State: s})
		}
		return out
	}
	tests := []struct {
		name string
		d    Disk
		want string
	}{
		{"healthy", Disk{Present: true, Members: dm(MemberInSync, MemberInSync)}, DiskHealthy},
		{"failed everywhere", Disk{Present: true, Members: dm(MemberFaulty, MemberFaulty)}, DiskFailed},
		{"failed in one array", Disk{Present: true, Members: dm(MemberFaulty, MemberInSync, MemberInSync)}, DiskPartiallyFailed},
		{"vanished", Disk{Present: false, Members: dm(MemberFaulty)}, DiskVanished},
		{"rebuilding", Disk{Present: true, Members: dm(MemberInSync, MemberRebuilding)}, DiskRebuilding},
		{"spare", Disk{Present: true, Members: dm(MemberSpare)}, DiskSpare},
		{"unused", Disk{Present: true}, DiskUnused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := diskVerdict(&tt.d); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	clean := Array{Name: "md0", State: ArrayClean, RaidDisks: 2, ActiveDisks: 2}
	recovering := Array{Name: "md1", State: ArrayRecovering, RaidDisks: 2, ActiveDisks: 1, Sync: &Sync{Action: "recover", Percent: 10}}
	degraded := Array{Name: "md2", State: ArrayDegraded, RaidDisks: 2, ActiveDisks: 1}
	tests := []struct {
		name string
		s    System
		want Verdict
	}{
		{"all clean", System{Arrays: []Array{clean}}, OK},
		{"no arrays", System{}, OK},
		{"recovery running", System{Arrays: []Array{clean, recovering}}, Warning},
		{"degraded wins over recovery", System{Arrays: []Array{recovering, degraded}}, Critical},
		{"failed disk", System{Arrays: []Array{clean}, Disks: []Disk{{Name: "sdf", Verdict: DiskFailed}}}, Critical},
		{"inactive", System{Arrays: []Array{{Name: "md127", State: ArrayInactive}}}, Critical},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := judge(&tt.s)
			if got != tt.want {
				t.Errorf("got %s (%s), want %s", got, why, tt.want)
			}
		})
	}
}
