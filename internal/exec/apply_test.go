package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/paths"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
	"github.com/raidswap/raidswap/partition"
)

// testKey seals the test plans.
var testKey = []byte("raidswap exec test plan key 32b!")

func build(t *testing.T, sys *discover.System, req plan.Request) *plan.Plan {
	t.Helper()
	if req.Firmware == "" {
		req.Firmware = plan.FirmwareBIOS
	}
	p, err := plan.Build(sys, req, plan.Options{Version: "test", Now: time.Unix(0, 0), Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type fakeCloner struct {
	w     *plantest.World
	calls []string
	// cleared is what the clone reports of its write (Cloned.Cleared).
	cleared bool
}

func (c *fakeCloner) Clone(_ context.Context, from, to string, wipe bool, add *partition.NewPartition) (Cloned, error) {
	c.calls = append(c.calls, from+" -> "+to)
	if add != nil {
		c.calls = append(c.calls, fmt.Sprintf("add partition %d of %d bytes", add.Number, add.Size))
	}
	name := strings.TrimPrefix(to, "/dev/")
	for _, d := range c.w.Sys().Disks {
		if d.Name == name && d.Present {
			c.w.Partition(d.Serial, 4)
		}
	}
	return Cloned{Cleared: c.cleared}, nil
}

// Inspect refuses a disk with partitions unless wiping, as package partition refuses one that
// libblkid finds anything on.
func (c *fakeCloner) Inspect(_ context.Context, target string, wipe bool) error {
	name := strings.TrimPrefix(target, "/dev/")
	for _, d := range c.w.Sys().Disks {
		if d.Name == name && d.Present && len(d.Partitions) > 0 && !wipe {
			return &RefusedError{Device: target, Serial: d.Serial, Reason: "it already holds data"}
		}
	}
	return nil
}

type fakeSpeed struct {
	v      []int64
	max    int64
	maxv   []int64
	kicked []string
}

func (f *fakeSpeed) MaxSpeed() (int64, error) { return f.max, nil }
func (f *fakeSpeed) SetMaxSpeed(k int64) error {
	f.maxv = append(f.maxv, k)
	return nil
}

func (f *fakeSpeed) StartRecovery(a string) error {
	f.kicked = append(f.kicked, a)
	return nil
}

func (f *fakeSpeed) MinSpeed() (int64, error) {
	if len(f.v) == 0 {
		return 1000, nil
	}
	return f.v[len(f.v)-1], nil
}
func (f *fakeSpeed) SetMinSpeed(k int64) error {
	f.v = append(f.v, k)
	return nil
}

func options(t *testing.T, w *plantest.World, r *hosttest.FakeRunner, dir string) Options {
	return Options{Discover: w.Discover, Runner: r, Cloner: &fakeCloner{w: w}, Paths: paths.Under(dir), Key: testKey, Poll: time.Millisecond, SettleTimeout: 50 * time.Millisecond,
		WaitTimeout: 5 * time.Second, Audit: &bytes.Buffer{}, Disks: newFakeDisks()}
}

// seedWorld is the seed scenario with the operator's hands: once the failed disk is out of
// every array it is pulled, and the new disk is inserted under the same name vdb.
func seedWorld() *plantest.World {
	w := plantest.NewWorld(plantest.Seed())
	w.When(func(s *discover.System) bool {
		d := s.DiskBySerial(plantest.Old)
		return d != nil && len(d.Members) == 0
	},
		func(w *plantest.World) { w.Pull(plantest.Old) })
	w.When(func(s *discover.System) bool { return s.DiskBySerial(plantest.Old) == nil },
		func(w *plantest.World) { w.Insert(plantest.BlankDisk("vdb", plantest.New)) })
	return w
}

func seedReq() plan.Request {
	return plan.Request{Mode: plan.ReplaceFailed, Failed: plantest.Old, New: plantest.New,
		Swap: []plan.SwapPartition{{Partition: 4, UUID: plantest.SwapUUID, Active: true}}}
}

// seedExpect is the exact command sequence of the seed replacement. The new disk comes in as
// vdb, the name the failed disk had.
func seedExpect(w *plantest.World) []hosttest.Expect {
	return []hosttest.Expect{
		{Argv: []string{"/sbin/swapoff", "/dev/vdb4"}, Do: func() { w.SetSwap(plantest.Old, "vdb4", false) }},
		{Argv: []string{"/sbin/mdadm", "/dev/md0", "--fail", "/dev/vdb2", "--remove", "/dev/vdb2"}, Do: func() { w.FailRemove("md0", "vdb2") }},
		{Argv: []string{"/sbin/mdadm", "/dev/md1", "--fail", "/dev/vdb3", "--remove", "/dev/vdb3"}, Do: func() { w.FailRemove("md1", "vdb3") }},
		{Argv: []string{"/sbin/mdadm", "--zero-superblock", "/dev/vdb2", "/dev/vdb3"}},
		{Argv: []string{"/sbin/mdadm", "/dev/md0", "--add", "/dev/vdb2"}, Do: func() { w.Add("md0", "vdb2", "vdb") }},
		{Argv: []string{"/sbin/mdadm", "/dev/md1", "--add", "/dev/vdb3"}, Do: func() { w.Add("md1", "vdb3", "vdb") }},
		{Argv: []string{"/sbin/mkswap", "-U", plantest.SwapUUID, "/dev/vdb4"}},
		{Argv: []string{"/sbin/swapon", "/dev/vdb4"}, Do: func() { w.SetSwap(plantest.New, "vdb4", true) }},
		{Argv: []string{"/usr/sbin/grub-install", "--target=i386-pc", "--modules=part_gpt mdraid1x ext2", "/dev/vda"}},
		{Argv: []string{"/usr/sbin/grub-install", "--target=i386-pc", "--modules=part_gpt mdraid1x ext2", "/dev/vdb"}},
	}
}

func TestApplySeed(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	r := hosttest.NewFakeRunner(t, seedExpect(w)...)
	dir := t.TempDir()
	o := options(t, w, r, dir)
	audit := o.Audit.(*bytes.Buffer)
	res, err := Apply(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Ran) != len(p.Steps) {
		t.Errorf("ran %d steps, want %d: %v (skipped %v)", len(res.Ran), len(p.Steps), res.Ran, res.Skipped)
	}
	recs, err := journal.Load(res.Journal)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Event != journal.EventPlan || recs[len(recs)-1].Event != journal.EventFinished {
		t.Errorf("journal starts with %q and ends with %q", recs[0].Event, recs[len(recs)-1].Event)
	}
	var resolved bool
	for _, rec := range recs {
		if rec.Event == journal.EventStarted && strings.Join(rec.Argv, " ") == "/sbin/mdadm /dev/md0 --add /dev/vdb2" {
			resolved = true
		}
	}
	if !resolved {
		t.Error("the journal does not record the resolved command of add-md0")
	}
	if !strings.Contains(audit.String(), `"argv":["/sbin/mdadm","/dev/md0","--add","/dev/vdb2"]`) {
		t.Errorf("audit log lacks the add command:\n%s", audit)
	}
	// Applying again: the journal says finished, nothing runs.
	if _, err := Apply(context.Background(), p, o); err != nil {
		t.Fatal(err)
	}
}

// TestResumeAtEveryStepBoundary interrupts the seed run after each step and resumes it: the
// commands run are exactly the seed's, once each.
func TestResumeAtEveryStepBoundary(t *testing.T) {
	ids := build(t, plantest.Seed(), seedReq()).Steps
	for _, stop := range ids {
		t.Run(stop.ID, func(t *testing.T) {
			w := seedWorld()
			p := build(t, w.Sys(), seedReq())
			r := hosttest.NewFakeRunner(t, seedExpect(w)...)
			o := options(t, w, r, t.TempDir())
			o.StopAfter = stop.ID
			if _, err := Apply(context.Background(), p, o); !errors.Is(err, ErrStopped) && !(err == nil && stop.ID == ids[len(ids)-1].ID) {
				t.Fatalf("first run: %v", err)
			}
			o.StopAfter = ""
			if _, err := Apply(context.Background(), p, o); err != nil {
				t.Fatalf("resume: %v", err)
			}
		})
	}
}

// TestResumeAfterCrashMidStep: the command ran but the process died before journalling
// "done": resume finds the step's postconditions true and does not run it again.
func TestResumeAfterCrashMidStep(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	exp := seedExpect(w)
	r := hosttest.NewFakeRunner(t, exp[:2]...)
	dir := t.TempDir()
	o := options(t, w, r, dir)
	o.StopAfter = p.Steps[1].ID // swapoff, after the preflight
	if _, err := Apply(context.Background(), p, o); !errors.Is(err, ErrStopped) {
		t.Fatal(err)
	}
	// Crash mid-step 3: "started" journalled and the member removed, no "done".
	j, err := journal.Open(o.Paths.Journal, p.ID())
	if err != nil {
		t.Fatal(err)
	}
	j.Append(journal.Record{Event: journal.EventStarted, Step: p.Steps[2].ID})
	j.Close()
	r.Run(context.Background(), exp[1].Argv...) // the command ran, as the FakeRunner saw it
	r.Add(exp[2:]...)
	o.StopAfter = ""
	res, err := Apply(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) < 2 || res.Skipped[1] != p.Steps[2].ID {
		t.Errorf("skipped %v, want the interrupted %s among them", res.Skipped, p.Steps[2].ID)
	}
}

func TestApplyStalePlan(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	// Someone removed md1's failed member by hand after the plan was built.
	w.FailRemove("md1", "vdb3")
	r := hosttest.NewFakeRunner(t)
	_, err := Apply(context.Background(), p, options(t, w, r, t.TempDir()))
	var se *plan.StaleError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a stale plan", err)
	}
	if !strings.Contains(err.Error(), "- member md1 uuid="+plantest.RootUUID+" disk=WD-OLD state=faulty") {
		t.Errorf("the stale error does not name what changed:\n%v", err)
	}
}

func TestApplyOtherHost(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	o := options(t, w, hosttest.NewFakeRunner(t), t.TempDir())
	w.SetHost(discover.Host{Hostname: "db2", MachineID: "ffff"})
	_, err := Apply(context.Background(), p, o)
	var ie *plan.InvalidError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "built on db1") {
		t.Fatalf("err = %v, want refused for another host", err)
	}
}

func TestApplyLocked(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	dir := t.TempDir()
	o := options(t, w, hosttest.NewFakeRunner(t), dir)
	l, err := AcquireLock(o.Paths.Lock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	_, err = Apply(context.Background(), p, o)
	var le *LockedError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "pid ") {
		t.Fatalf("err = %v, want LockedError naming the holder", err)
	}
}

// TestNamesSwappedAfterPlan: after a reboot the survivor became vdb and the failed disk vda.
// The fingerprint (serials) still matches, but the detach command names /dev/vdb2, which
// is now the survivor's: refused before anything runs.
func TestNamesSwappedAfterPlan(t *testing.T) {
	sys := plantest.Seed()
	p := build(t, sys, seedReq())
	swapped := plantest.Seed()
	swapped.Disks[0].Serial, swapped.Disks[1].Serial = plantest.Old, plantest.Survivor
	swapped.Disks[0].Swap, swapped.Disks[1].Swap = []string{"vda4"}, []string{"vdb4"}
	swapped.Arrays[0].Members[0].State, swapped.Arrays[0].Members[1].State = discover.MemberFaulty, discover.MemberInSync
	swapped.Arrays[1].Members[0].State, swapped.Arrays[1].Members[1].State = discover.MemberFaulty, discover.MemberInSync
	for ai := range swapped.Arrays {
		swapped.Arrays[ai].Members[0].Slot, swapped.Arrays[ai].Members[1].Slot = nil, new(int)
	}
	plantest.Finish(swapped)
	w := plantest.NewWorld(swapped)
	r := hosttest.NewFakeRunner(t)
	_, err := Apply(context.Background(), p, options(t, w, r, t.TempDir()))
	var pe *PreconditionError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "WD-OLD is now named vda") {
		t.Fatalf("err = %v, want a refusal naming the new name of WD-OLD", err)
	}
}

// TestFailedDiskReturnsAsNew: after the pull, the failed disk comes back under another
// name while raidswap waits for a new disk (no serial given).
func TestFailedDiskReturnsAsNew(t *testing.T) {
	w := plantest.NewWorld(plantest.Seed())
	w.When(func(s *discover.System) bool {
		d := s.DiskBySerial(plantest.Old)
		return d != nil && len(d.Members) == 0
	},
		func(w *plantest.World) { w.Pull(plantest.Old) })
	w.When(func(s *discover.System) bool { return s.DiskBySerial(plantest.Old) == nil },
		func(w *plantest.World) { w.Insert(plantest.Disk("vdc", plantest.Old)) })
	req := seedReq()
	req.New = ""
	p := build(t, w.Sys(), req)
	exp := seedExpect(w)[:3]
	r := hosttest.NewFakeRunner(t, exp...)
	_, err := Apply(context.Background(), p, options(t, w, r, t.TempDir()))
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "refusing to write /dev/vdc (WD-OLD): it is the failed disk WD-OLD, back (now named vdc)") {
		t.Fatalf("err = %v", err)
	}
}

// TestNewDiskInUse: the disk inserted as new holds an in_sync member of another array.
func TestNewDiskInUse(t *testing.T) {
	w := plantest.NewWorld(plantest.Seed())
	w.When(func(s *discover.System) bool {
		d := s.DiskBySerial(plantest.Old)
		return d != nil && len(d.Members) == 0
	},
		func(w *plantest.World) { w.Pull(plantest.Old) })
	w.When(func(s *discover.System) bool { return s.DiskBySerial(plantest.Old) == nil },
		func(w *plantest.World) {
			d := plantest.Disk("vdc", plantest.New)
			d.Members = []discover.DiskMember{{Array: "md9", Device: "vdc1", State: discover.MemberInSync}}
			d.Mounted = []string{"vdc1 on /srv"}
			w.Insert(d)
		})
	p := build(t, w.Sys(), seedReq())
	r := hosttest.NewFakeRunner(t, seedExpect(w)[:3]...)
	_, err := Apply(context.Background(), p, options(t, w, r, t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "refusing") || !strings.Contains(err.Error(), "WD-NEW") {
		t.Fatalf("err = %v, want a refusal of the new disk", err)
	}
}

func TestApplyScenarios(t *testing.T) {
	t.Run("vanished", func(t *testing.T) {
		w := plantest.NewWorld(plantest.Vanished())
		// md dropped the vanished members already: the detach steps find nothing to do.
		w.When(func(s *discover.System) bool { return w.Looks > 4 },
			func(w *plantest.World) { w.Insert(plantest.BlankDisk("vdb", plantest.New)) })
		p := build(t, w.Sys(), plan.Request{Mode: plan.ReplaceFailed, Failed: plantest.Old,
			Swap: []plan.SwapPartition{{Partition: 4, UUID: plantest.SwapUUID}}})
		r := hosttest.NewFakeRunner(t,
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "--zero-superblock", "/dev/vdb2", "/dev/vdb3"}},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md0", "--add", "/dev/vdb2"}, Do: func() { w.Add("md0", "vdb2", "vdb") }},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md1", "--add", "/dev/vdb3"}, Do: func() { w.Add("md1", "vdb3", "vdb") }},
			hosttest.Expect{Argv: []string{"/sbin/mkswap", "-U", plantest.SwapUUID, "/dev/vdb4"}},
			hosttest.Expect{Argv: []string{"/sbin/swapon", "/dev/vdb4"}, Do: func() { w.SetSwap(plantest.New, "vdb4", true) }},
			hosttest.Expect{Argv: []string{"/usr/sbin/grub-install", "--target=i386-pc", "--modules=part_gpt mdraid1x ext2", "/dev/vda"}},
			hosttest.Expect{Argv: []string{"/usr/sbin/grub-install", "--target=i386-pc", "--modules=part_gpt mdraid1x ext2", "/dev/vdb"}},
		)
		if _, err := Apply(context.Background(), p, options(t, w, r, t.TempDir())); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("partial", func(t *testing.T) {
		w := plantest.NewWorld(plantest.Partial())
		w.When(func(s *discover.System) bool {
			d := s.DiskBySerial(plantest.Old)
			return d != nil && len(d.Members) == 0
		},
			func(w *plantest.World) { w.Pull(plantest.Old) })
		w.When(func(s *discover.System) bool { return s.DiskBySerial(plantest.Old) == nil },
			func(w *plantest.World) { w.Insert(plantest.BlankDisk("vdd", plantest.New)) })
		p := build(t, w.Sys(), plan.Request{Mode: plan.ReplaceFailed, Failed: "vdb", New: plantest.New})
		r := hosttest.NewFakeRunner(t,
			hosttest.Expect{Argv: []string{"/sbin/swapoff", "/dev/vdb4"}, Do: func() { w.SetSwap(plantest.Old, "vdb4", false) }},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md0", "--fail", "/dev/vdb2", "--remove", "/dev/vdb2"}, Do: func() { w.FailRemove("md0", "vdb2") }},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md1", "--fail", "/dev/vdb3", "--remove", "/dev/vdb3"}, Do: func() { w.FailRemove("md1", "vdb3") }},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "--zero-superblock", "/dev/vdd2", "/dev/vdd3"}},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md0", "--add", "/dev/vdd2"}, Do: func() { w.Add("md0", "vdd2", "vdd") }},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md1", "--add", "/dev/vdd3"}, Do: func() { w.Add("md1", "vdd3", "vdd") }},
			hosttest.Expect{Argv: []string{"/usr/sbin/grub-install", "--target=i386-pc", "--modules=part_gpt mdraid1x ext2", "/dev/vda"}},
			hosttest.Expect{Argv: []string{"/usr/sbin/grub-install", "--target=i386-pc", "--modules=part_gpt mdraid1x ext2", "/dev/vdd"}},
		)
		if _, err := Apply(context.Background(), p, options(t, w, r, t.TempDir())); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("replace-working", func(t *testing.T) {
		w := plantest.NewWorld(plantest.Working())
		w.When(func(s *discover.System) bool {
			d := s.DiskBySerial(plantest.Old)
			return d != nil && len(d.Members) == 0 && len(d.Swap) == 0
		},
			func(w *plantest.World) { w.Pull(plantest.Old) })
		p := build(t, w.Sys(), plan.Request{Mode: plan.ReplaceWorking, Failed: plantest.Old, New: plantest.New, RebuildSpeedKiB: 200000,
			Swap: []plan.SwapPartition{{Partition: 4, UUID: plantest.SwapUUID, Active: true}}})
		r := hosttest.NewFakeRunner(t,
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "--zero-superblock", "/dev/vdc2", "/dev/vdc3"}},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md0", "--add", "/dev/vdc2"}, Do: func() { w.Add("md0", "vdc2", "vdc") }},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md0", "--replace", "/dev/vdb2", "--with", "/dev/vdc2"}, Do: func() { w.Replace("md0", "vdb2", "vdc2") }},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md1", "--add", "/dev/vdc3"}, Do: func() { w.Add("md1", "vdc3", "vdc") }},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md1", "--replace", "/dev/vdb3", "--with", "/dev/vdc3"}, Do: func() { w.Replace("md1", "vdb3", "vdc3") }},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md0", "--fail", "/dev/vdb2", "--remove", "/dev/vdb2"}, Do: func() { w.FailRemove("md0", "vdb2") }},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md1", "--fail", "/dev/vdb3", "--remove", "/dev/vdb3"}, Do: func() { w.FailRemove("md1", "vdb3") }},
			hosttest.Expect{Argv: []string{"/sbin/swapoff", "/dev/vdb4"}, Do: func() { w.SetSwap(plantest.Old, "vdb4", false) }},
			hosttest.Expect{Argv: []string{"/sbin/mkswap", "-U", plantest.SwapUUID, "/dev/vdc4"}},
			hosttest.Expect{Argv: []string{"/sbin/swapon", "/dev/vdc4"}, Do: func() { w.SetSwap(plantest.New, "vdc4", true) }},
			hosttest.Expect{Argv: []string{"/usr/sbin/grub-install", "--target=i386-pc", "--modules=part_gpt mdraid1x ext2", "/dev/vda"}},
			hosttest.Expect{Argv: []string{"/usr/sbin/grub-install", "--target=i386-pc", "--modules=part_gpt mdraid1x ext2", "/dev/vdc"}},
		)
		o := options(t, w, r, t.TempDir())
		sp := &fakeSpeed{max: 200000}
		v := &sayView{}
		o.Speed, o.View = sp, v
		if _, err := Apply(context.Background(), p, o); err != nil {
			t.Fatal(err)
		}
		if len(sp.v) != 2 || sp.v[0] != 200000 || sp.v[1] != 1000 {
			t.Errorf("speed_limit_min writes %v, want [200000 1000] (raised, then restored)", sp.v)
		}
		if n := slices.Index(v.said, "restored /proc/sys/dev/raid/speed_limit_min to 1000"); n < 0 || slices.Contains(v.said[n+1:], v.said[n]) {
			t.Errorf("the restore is not said exactly once: %q", v.said)
		}
		if len(sp.maxv) != 0 {
			t.Errorf("speed_limit_max writes %v, want none: it already allowed 200000", sp.maxv)
		}
	})
	t.Run("re-add", func(t *testing.T) {
		w := plantest.NewWorld(plantest.Returned())
		p := build(t, w.Sys(), plan.Request{Mode: plan.ReAdd, Failed: plantest.Old})
		r := hosttest.NewFakeRunner(t,
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "--zero-superblock", "/dev/vdd2"}},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md0", "--add", "/dev/vdd2"}, Do: func() { w.Add("md0", "vdd2", "vdd") }},
			hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md1", "--re-add", "/dev/vdd3"}, Do: func() { w.Add("md1", "vdd3", "vdd") }},
		)
		if _, err := Apply(context.Background(), p, options(t, w, r, t.TempDir())); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }

// TestOneLookBetweenCommands: the look that proves a command's postconditions is the one the
// next step's checks use, so two steps' commands in a row are one discovery apart, never
// none (each step's checks see the system after the last command) and not two.
func TestOneLookBetweenCommands(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	looks := 0
	var at []int // discoveries so far when each command ran
	exp := seedExpect(w)
	for i := range exp {
		do := exp[i].Do
		exp[i].Do = func() {
			at = append(at, looks)
			if do != nil {
				do()
			}
		}
	}
	r := hosttest.NewFakeRunner(t, exp...)
	o := options(t, w, r, t.TempDir())
	o.Discover = func() (*discover.System, error) { looks++; return w.Discover() }
	if _, err := Apply(context.Background(), p, o); err != nil {
		t.Fatal(err)
	}
	if len(at) != len(exp) {
		t.Fatalf("%d commands ran, want %d", len(at), len(exp))
	}
	// swapoff, then the two detaches: adjacent steps.
	for i := 1; i < 3; i++ {
		if d := at[i] - at[i-1]; d != 1 {
			t.Errorf("%d discoveries between %q and %q, want 1", d, exp[i-1].Argv, exp[i].Argv)
		}
	}
	for i := 1; i < len(at); i++ {
		if at[i] == at[i-1] {
			t.Errorf("no discovery between %q and %q", exp[i-1].Argv, exp[i].Argv)
		}
	}
}

// slowView takes longer than LookReuse to show a finished step.
type slowView struct{ nopView }

func (slowView) StepDone(int, int, plan.Step) { time.Sleep(LookReuse + 50*time.Millisecond) }

// TestOldLookIsNotReused: when showing a step took longer than LookReuse, the next step
// discovers again before its checks.
func TestOldLookIsNotReused(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	looks := 0
	var at []int
	exp := seedExpect(w)[:2]
	for i := range exp {
		do := exp[i].Do
		exp[i].Do = func() { at = append(at, looks); do() }
	}
	r := hosttest.NewFakeRunner(t, exp...)
	o := options(t, w, r, t.TempDir())
	o.View = slowView{}
	o.Discover = func() (*discover.System, error) { looks++; return w.Discover() }
	o.StopAfter = p.Steps[2].ID // preflight, swapoff, detach md0
	if _, err := Apply(context.Background(), p, o); !errors.Is(err, ErrStopped) {
		t.Fatalf("run: %v", err)
	}
	if len(at) != 2 || at[1]-at[0] != 2 {
		t.Errorf("discoveries at the commands: %v, want two apart (the settle's look, then a fresh one)", at)
	}
}

type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// TestApplySeedRecords: the seed's run sends its outcomes to syslog (each step's end, the
// start and the finish, prefixed with the plan), and an audit log that stops taking lines
// (a full /var) is said once and does not fail a run whose steps' actions ran.
func TestApplySeedRecords(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	r := hosttest.NewFakeRunner(t, seedExpect(w)...)
	o := options(t, w, r, t.TempDir())
	sock := filepath.Join(t.TempDir(), "log")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadBuffer(1 << 20)
	v := &sayView{}
	o.Syslog, o.Audit, o.View = sock, fullWriter{}, v
	heard := make(chan []string)
	go func() {
		// Read as syslog does, while the run writes: a datagram socket holds few lines.
		var lines []string
		buf := make([]byte, 8192)
		for {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := c.Read(buf)
			if err == nil {
				lines = append(lines, string(buf[:n]))
			}
			if err != nil || strings.HasSuffix(lines[len(lines)-1], "plan finished") {
				heard <- lines
				return
			}
		}
	}()
	res, err := Apply(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	lines := <-heard
	prefix := "plan " + p.ID() + ": "
	want := []string{prefix + "apply started"}
	for _, id := range res.Ran {
		want = append(want, prefix+"step "+id+": step done")
	}
	want = append(want, prefix+"plan finished")
	if len(lines) != len(want) {
		t.Fatalf("syslog got %d lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i := range want {
		if !strings.HasSuffix(lines[i], want[i]) || !strings.HasPrefix(lines[i], "<30>") {
			t.Errorf("syslog line %d = %q, want <30>…%q", i, lines[i], want[i])
		}
	}
	n := 0
	for _, s := range v.said {
		if strings.HasPrefix(s, "audit log: ") {
			n++
			if !strings.Contains(s, "no space left on device") {
				t.Errorf("said %q", s)
			}
		}
	}
	if n != 1 {
		t.Errorf("the full audit log was said %d times, want once: %q", n, v.said)
	}
}
