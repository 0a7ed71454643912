package exec

import (
	"context"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// TestWholeDiskSafety: right before a whole-disk step writes, the executor checks the whole
// disk as it checks a partition: the plan's serial, not the survivor, no md member, not
// mounted or held, and no partition table (plan.WholeDiskPartitioned); and it passes the
// plan's own steps on the disk as it should be.
func TestWholeDiskSafety(t *testing.T) {
	req := plan.Request{Mode: plan.ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: plan.FirmwareBIOS}
	p := build(t, plantest.WholeDisk(), req)
	step := func(a plan.Action) plan.Step {
		for _, s := range p.Steps {
			if s.Action == a {
				return s
			}
		}
		t.Fatalf("the plan has no %s step", a)
		return plan.Step{}
	}
	zero, add := step(plan.ActionZeroSuperblock), step(plan.ActionAddMember)
	with := func(change func(*discover.System)) *discover.System {
		s := plantest.WholeDisk()
		change(s)
		return plantest.Finish(s)
	}
	partitioned := with(func(s *discover.System) { s.Disk("vde").Partitions = []string{"vde1"} })
	member := with(func(s *discover.System) {
		s.Arrays[1].Members = append(s.Arrays[1].Members, plantest.Member("vde", "vde", "", -1, discover.MemberSpare))
	})
	mounted := with(func(s *discover.System) { s.Disk("vde").Mounted = []string{"vde on /mnt"} })
	held := with(func(s *discover.System) { s.Disk("vde").Holders = []string{"dm-0"} })
	newIsSurvivor := plantest.WholeDisk()
	for _, tt := range []struct {
		name   string
		sys    *discover.System
		serial string
		step   plan.Step
		want   string // "" = allowed
	}{
		{"zero the blank new disk", plantest.WholeDisk(), plantest.New, zero, ""},
		{"add the blank new disk", plantest.WholeDisk(), plantest.New, add, ""},
		{"zero a new disk with a partition table", partitioned, plantest.New, zero,
			"refusing to write /dev/vde (WD-NEW): it has partitions (vde1), and its array's members are whole disks"},
		{"add a new disk with a partition table", partitioned, plantest.New, add,
			"refusing to write /dev/vde (WD-NEW): it has partitions (vde1), and md2's members are whole disks"},
		{"add a new disk that is an md member", member, plantest.New, add, "refusing to write /dev/vde (WD-NEW): it holds md0 member vde (spare)"},
		{"zero a mounted new disk", mounted, plantest.New, zero, "refusing to write /dev/vde (WD-NEW): it holds vde, mounted at /mnt"},
		{"add a held new disk", held, plantest.New, add, "refusing to write /dev/vde (WD-NEW)"},
		{"the survivor as the new disk", newIsSurvivor, plantest.Survivor, zero, "refusing to write /dev/vdc (WD-SURV): it is the survivor"},
		{"a whole-disk step on a partition", plantest.WholeDisk(), plantest.New, plan.Step{ID: "x", Action: plan.ActionAddMember,
			Target: plan.Target{Device: "vda2", Serial: "WD-A", Array: "md2", ArrayUUID: plantest.DataUUID, WholeDisk: true}},
			"refusing to write /dev/vda2 (WD-A): it is a partition; this step writes a whole-disk member"},
		{"a partition step on the whole disk", plantest.WholeDisk(), plantest.New, plan.Step{ID: "x", Action: plan.ActionAddMember,
			Target: plan.Target{Device: "{new}", Array: "md2", ArrayUUID: plantest.DataUUID}},
			"refusing to write /dev/vde (WD-NEW): it is a whole disk; this step writes partitions only"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := &world{sys: tt.sys, newSerial: tt.serial}
			err := w.checkSafety(p, tt.step)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestWholeDiskConditions: a member condition with partition 0 is about the disk itself.
func TestWholeDiskConditions(t *testing.T) {
	s := plantest.WholeDisk()
	s.Arrays[2].Members = append(s.Arrays[2].Members, plantest.Member("vde", "vde", "", 1, discover.MemberRebuilding))
	plantest.Finish(s)
	w := &world{sys: s, newSerial: plantest.New}
	on := plan.Condition{Kind: plan.CondMemberOn, ArrayUUID: plantest.DataUUID, Device: plan.NewDiskToken}
	if ok, found := w.holds(on); !ok {
		t.Errorf("member-on the whole new disk does not hold: %s", found)
	}
	in := on
	in.Kind = plan.CondInSyncOn
	if ok, found := w.holds(in); ok || found != "vde is rebuilding in md2" {
		t.Errorf("in-sync-on holds=%v (%s), want vde is rebuilding in md2", ok, found)
	}
}

// TestApplyWholeDisk runs whole-disk plans end to end against the fake world: the exact
// commands (no clone, the whole new disk cleared and added), the conditions on partition 0
// holding after each step, and verify passing.
func TestApplyWholeDisk(t *testing.T) {
	t.Run("replace-failed", func(t *testing.T) {
		w := plantest.NewWorld(plantest.WholeDisk())
		w.When(func(s *discover.System) bool {
			d := s.DiskBySerial(plantest.Old)
			return d != nil && len(d.Members) == 0
		},
			func(w *plantest.World) { w.Pull(plantest.Old) })
		p := build(t, w.Sys(), plan.Request{Mode: plan.ReplaceFailed, Failed: plantest.Old, New: plantest.New})
		r := hosttest.NewFakeRunner(t,
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md2", "--fail", "/dev/vdd", "--remove", "/dev/vdd"}, Do: func() { w.FailRemove("md2", "vdd") }},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "--zero-superblock", "/dev/vde"}},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md2", "--add", "/dev/vde"}, Do: func() { w.Add("md2", "vde", "vde") }},
		)
		o := options(t, w, r, t.TempDir())
		c := o.Cloner.(*fakeCloner)
		if _, err := Apply(context.Background(), p, o); err != nil {
			t.Fatal(err)
		}
		if len(c.calls) != 0 {
			t.Errorf("a whole-disk replacement cloned a table: %v", c.calls)
		}
	})
	t.Run("replace-working", func(t *testing.T) {
		w := plantest.NewWorld(plantest.WholeDiskWorking())
		w.When(func(s *discover.System) bool {
			d := s.DiskBySerial(plantest.Old)
			return d != nil && len(d.Members) == 0
		},
			func(w *plantest.World) { w.Pull(plantest.Old) })
		p := build(t, w.Sys(), plan.Request{Mode: plan.ReplaceWorking, Failed: plantest.Old, New: plantest.New})
		r := hosttest.NewFakeRunner(t,
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "--zero-superblock", "/dev/vde"}},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md2", "--add", "/dev/vde"}, Do: func() { w.Add("md2", "vde", "vde") }},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md2", "--replace", "/dev/vdd", "--with", "/dev/vde"}, Do: func() { w.Replace("md2", "vdd", "vde") }},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md2", "--fail", "/dev/vdd", "--remove", "/dev/vdd"}, Do: func() { w.FailRemove("md2", "vdd") }},
		)
		if _, err := Apply(context.Background(), p, options(t, w, r, t.TempDir())); err != nil {
			t.Fatal(err)
		}
	})
}
