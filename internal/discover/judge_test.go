package discover

import (
	"strings"
	"testing"

	"github.com/prometheus/procfs"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/mdadm"
)

func sysMember(dev, disk string, slot int, state ...string) mdadm.SysMember {
	return mdadm.SysMember{Device: dev, Disk: disk, Slot: slot, State: state, RecoveryStart: mdadm.Unknown}
}

func TestMemberState(t *testing.T) {
	tests := []struct {
		name string
		in   mdadm.SysMember
		want MemberState
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
		wantState   ArrayState
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
	dm := func(states ...MemberState) []DiskMember {
		var out []DiskMember
		for i, s := range states {
			out = append(out, DiskMember{Array: "md" + string(rune('0'+i)), State: s})
		}
		return out
	}
	tests := []struct {
		name string
		d    Disk
		want DiskState
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
	// A three-way mirror rebuilding its third member keeps two copies meanwhile.
	recovering := Array{Name: "md1", Level: "raid1", State: ArrayRecovering, RaidDisks: 3, ActiveDisks: 2, Sync: &Sync{Action: "recover", Percent: 10},
		Members: []Member{{Slot: intp(0), State: MemberInSync}, {Slot: intp(1), State: MemberInSync}, {Slot: intp(2), State: MemberRebuilding}}}
	// A mirror rebuilding its second member has one copy until it is done (issue 20).
	lastCopy := Array{Name: "md1", Level: "raid1", State: ArrayRecovering, RaidDisks: 2, ActiveDisks: 1, Sync: &Sync{Action: "recover", Percent: 10},
		Members: []Member{{Slot: intp(0), State: MemberInSync}, {Slot: intp(1), State: MemberRebuilding}}}
	// What it can lose cannot be read (no level): neither warning nor OK.
	shapeless := Array{Name: "md1", State: ArrayRecovering, RaidDisks: 2, ActiveDisks: 1, Sync: &Sync{Action: "recover", Percent: 10}}
	degraded := Array{Name: "md2", State: ArrayDegraded, RaidDisks: 2, ActiveDisks: 1}
	tests := []struct {
		name string
		s    System
		want Verdict
	}{
		{"all clean", System{Arrays: []Array{clean}}, OK},
		{"no arrays", System{}, OK},
		{"recovery running, still redundant", System{Arrays: []Array{clean, recovering}}, Warning},
		{"recovery onto the last missing mirror", System{Arrays: []Array{clean, lastCopy}}, Critical},
		{"recovery of a shape not read", System{Arrays: []Array{clean, shapeless}}, Unknown},
		{"a resync on one copy is never OK", System{Arrays: []Array{{Name: "md3", Level: "raid1", State: ArrayResyncing, RaidDisks: 2, ActiveDisks: 1,
			Sync: &Sync{Action: SyncResync}, Members: []Member{{Slot: intp(0), State: MemberInSync}}}}}, Critical},
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

// TestMemberFlagsVerdict: every dev-*/state flag md documents, alone and combined, with md's
// own degraded count and /proc/mdstat; none of the unhealthy ones may judge OK.
func TestMemberFlagsVerdict(t *testing.T) {
	md0 := func(deg int, state, action string, members ...mdadm.SysMember) *mdadm.SysArray {
		return &mdadm.SysArray{Name: "md0", UUID: "u0", Level: "raid1", ArrayState: state, Metadata: "1.2", RaidDisks: 2,
			Degraded: deg, SyncAction: action, SyncDone: mdadm.Unknown, SyncTotal: mdadm.Unknown, SyncSpeedKiB: mdadm.Unknown,
			Members: append([]mdadm.SysMember{sysMember("sda1", "sda", 0, "in_sync")}, members...)}
	}
	stat := func(total, active int64, bar string) *mdadm.MDStat {
		st := &mdadm.MDStat{}
		st.Name, st.ActivityState, st.DisksTotal, st.DisksActive = "md0", "active", total, active
		st.DisksDown = int64(strings.Count(bar, "_"))
		return st
	}
	ok := stat(2, 2, "UU")
	one := stat(2, 1, "U_")
	tests := []struct {
		name string
		sa   *mdadm.SysArray
		st   *mdadm.MDStat
		want Verdict
		say  string // in the summary
	}{
		{"in_sync", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "in_sync")), ok, OK, "clean"},
		{"write_mostly", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "in_sync", "write_mostly")), ok, OK, "clean"},
		{"writemostly as md.rst spells it", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "in_sync", "writemostly")), ok, OK, "clean"},
		{"failfast", md0(0, "active", "idle", sysMember("sdb1", "sdb", 1, "in_sync", "failfast")), ok, OK, "clean"},
		{"external_bbl", md0(0, "active-idle", "idle", sysMember("sdb1", "sdb", 1, "in_sync", "external_bbl")), ok, OK, "clean"},
		{"write_error", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "in_sync", "write_error")), ok, Warning, "sdb1 on sdb: write_error"},
		{"want_replacement", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "in_sync", "want_replacement")), ok, Warning, "want_replacement: md asks for it to be replaced"},
		{"blocked in sync", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "in_sync", "blocked")), ok, Warning, "blocked: md holds writes"},
		{"write_mostly with write_error", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "in_sync", "write_mostly", "write_error")), ok, Warning, "write_error"},
		{"unknown flag", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "in_sync", "bitmap_sync")), ok, Warning, `"bitmap_sync"`},
		{"empty word", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "in_sync", "")), ok, Warning, `flag ""`},
		{"faulty", md0(1, "clean", "idle", sysMember("sdb1", "sdb", mdadm.Unknown, "faulty")), one, Critical, "md0 is degraded [2/1] [U_]"},
		{"faulty blocked, failure not yet recorded", md0(1, "active", "idle", sysMember("sdb1", "sdb", mdadm.Unknown, "faulty", "blocked")), one, Critical, "degraded"},
		{"unacknowledged bad blocks", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "faulty", "in_sync", "blocked")), ok, Critical, "degraded"},
		{"spare in a slot with no recovery running", md0(1, "clean", "frozen", sysMember("sdb1", "sdb", 1, "spare")), one, Critical, "degraded"},
		{"spare in a slot, recovering from the last copy", md0(1, "clean", "recover", sysMember("sdb1", "sdb", 1, "spare")), one, Critical, "recovering from its last good copy sda1 on sda: rebuilding, 0 % (one copy until done)"},
		{"replacement being built", md0(0, "clean", "recover", sysMember("sdb1", "sdb", 1, "in_sync", "want_replacement"), sysMember("sdc1", "sdc", 1, "spare", "replacement")), ok, Warning, "md0 is rebuilding, 0 % (still redundant)"},
		{"idle spare", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "in_sync"), sysMember("sdc1", "sdc", mdadm.Unknown, "spare")), ok, OK, "clean"},
		{"journal", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "in_sync"), sysMember("sdc1", "sdc", mdadm.Unknown, "journal")), ok, OK, "clean"},
		{"blocked alone", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "blocked")), ok, Critical, "neither in_sync, faulty nor spare"},
		{"write_mostly alone", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "write_mostly")), ok, Critical, "neither in_sync, faulty nor spare"},
		{"state unreadable", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1)), ok, Critical, "could not be read"},
		{"in_sync and spare", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "in_sync", "spare")), ok, Critical, "contradictory"},
		{"md counts one degraded, the members none", md0(1, "clean", "idle", sysMember("sdb1", "sdb", 1, "in_sync")), ok, Critical, "md/degraded is 1"},
		{"mdstat shows one missing, sysfs none", md0(0, "clean", "idle", sysMember("sdb1", "sdb", 1, "in_sync")), one, Critical, "/proc/mdstat says 1 missing"},
		{"array broken", md0(1, "broken", "idle", sysMember("sdb1", "sdb", 1, "in_sync")), ok, Critical, "broken"},
		{"array read-only", md0(0, "readonly", "idle", sysMember("sdb1", "sdb", 1, "in_sync")), ok, Warning, "readonly"},
		{"array auto-read-only after assembly", md0(0, "read-auto", "idle", sysMember("sdb1", "sdb", 1, "in_sync")), ok, OK, "clean"},
		{"array_state unreadable", md0(0, "", "idle", sysMember("sdb1", "sdb", 1, "in_sync")), ok, Critical, "md/array_state could not be read"},
		{"array_state unknown word", md0(0, "frobbed", "idle", sysMember("sdb1", "sdb", 1, "in_sync")), ok, Critical, `"frobbed"`},
		{"array inactive", md0(0, "inactive", "", sysMember("sdb1", "sdb", 1, "in_sync")), ok, Critical, "inactive"},
		{"array clear", md0(0, "clear", "", sysMember("sdb1", "sdb", 1, "in_sync")), ok, Critical, "inactive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &System{Arrays: []Array{buildArray(tt.sa, tt.st)}}
			got, why := judge(s)
			if got != tt.want || !strings.Contains(why, tt.say) {
				t.Errorf("got %s (%s), want %s saying %q", got, why, tt.want, tt.say)
			}
		})
	}
}

// TestListedBySourceAlone: an array that only one of /proc/mdstat and /sys/block lists (md is
// assembling or stopping it) is still judged, and never OK.
func TestListedBySourceAlone(t *testing.T) {
	stat := func(state string, total, active int64, devs ...string) mdadm.MDStat {
		st := mdadm.MDStat{}
		st.Name, st.ActivityState, st.DisksTotal, st.DisksActive = "md0", state, total, active
		for _, d := range devs {
			st.Devices = append(st.Devices, procfs.MDStatComponent{Name: d, Spare: state == "inactive"})
		}
		return st
	}
	sys := func(state string, members ...mdadm.SysMember) mdadm.SysArray {
		return mdadm.SysArray{Name: "md0", UUID: "u0", Level: "raid1", ArrayState: state, RaidDisks: 2, Degraded: 0,
			SyncAction: "idle", SyncDone: mdadm.Unknown, SyncTotal: mdadm.Unknown, SyncSpeedKiB: mdadm.Unknown, Members: members}
	}
	whole := []mdadm.SysMember{sysMember("sda1", "sda", 0, "in_sync"), sysMember("sdb1", "sdb", 1, "in_sync")}
	tests := []struct {
		name  string
		sys   []mdadm.SysArray
		stats []mdadm.MDStat
		want  Verdict
	}{
		{"mdstat only, inactive", nil, []mdadm.MDStat{stat("inactive", 0, 0, "sda1", "sdb1")}, Critical},
		// mdstat names no member's slot or state: the array cannot be judged (issue 17, item 12).
		{"mdstat only, active and whole", nil, []mdadm.MDStat{stat("active", 2, 2, "sda1", "sdb1")}, Unknown},
		{"sysfs only, whole", []mdadm.SysArray{sys("clean", whole...)}, nil, Warning},
		{"sysfs only, no members yet", []mdadm.SysArray{sys("clear")}, nil, Critical},
		{"sysfs inactive, mdstat whole", []mdadm.SysArray{sys("inactive", whole...)}, []mdadm.MDStat{stat("active", 2, 2, "sda1", "sdb1")}, Critical},
		{"sysfs without md dir, mdstat whole", []mdadm.SysArray{{Name: "md0", RaidDisks: mdadm.Unknown, Degraded: mdadm.Unknown, SyncDone: mdadm.Unknown, SyncTotal: mdadm.Unknown}},
			[]mdadm.MDStat{stat("active", 2, 2, "sda1", "sdb1")}, Critical},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &System{Arrays: mergeArrays(tt.sys, tt.stats)}
			if len(s.Arrays) != 1 {
				t.Fatalf("%d arrays, want md0 alone", len(s.Arrays))
			}
			if got, why := judge(s); got != tt.want {
				t.Errorf("got %s (%s), want %s", got, why, tt.want)
			}
		})
	}
}

// TestJudgeBootAlone: a disk of a mirrored /boot that cannot boot alone makes the verdict a
// warning; one that could not be judged does not.
func TestJudgeBootAlone(t *testing.T) {
	s := &System{Disks: []Disk{
		{Name: "vda", Serial: "A", Present: true, Boot: &bootloader.Readiness{State: bootloader.BootMissing, Reason: "no boot code in the MBR"}},
		{Name: "vdb", Serial: "B", Present: true, Boot: &bootloader.Readiness{State: bootloader.BootUnknown, Reason: "x"}},
	}}
	s.Host.Boot.Boot.Array = "md0"
	v, sum := judge(s)
	if v != Warning || !strings.Contains(sum, "disk vda (A) cannot boot alone (md0): no boot code in the MBR") || strings.Contains(sum, "vdb") {
		t.Errorf("got %s %q", v, sum)
	}
}
