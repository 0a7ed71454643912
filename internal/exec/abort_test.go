package exec

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/progress"
	"github.com/raidswap/raidswap/mdadm"
)

// TestAbort stops a run after md's speed limits were raised, aborts it, and checks that the
// limits are back, no unfinished journal is left, and the plan does not run again.
func TestAbort(t *testing.T) {
	w := seedWorld()
	req := seedReq()
	req.RebuildSpeedKiB = 500000
	p := build(t, w.Sys(), req)
	exp := seedExpect(w)
	r := hosttest.NewFakeRunner(t, exp[:5]...) // up to the first --add
	dir := t.TempDir()
	o := options(t, w, r, dir)
	sp := &fakeSpeed{max: 200000}
	o.Speed = sp
	for _, s := range p.Steps {
		if s.Action == plan.ActionAddMember {
			o.StopAfter = s.ID
			break
		}
	}
	res, err := Apply(context.Background(), p, o)
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("first run: %v", err)
	}
	if got := sp.v[len(sp.v)-1]; got != 500000 {
		t.Fatalf("speed_limit_min not raised: %v", sp.v)
	}
	said, err := Abort(res.Journal, sp)
	if err != nil {
		t.Fatal(err)
	}
	if sp.v[len(sp.v)-1] != 1000 || sp.maxv[len(sp.maxv)-1] != 200000 {
		t.Errorf("limits not restored: min %v max %v", sp.v, sp.maxv)
	}
	if len(said) != 2 || !strings.Contains(said[0], "speed_limit_min to 1000") {
		t.Errorf("said %q", said)
	}
	if left, _ := journal.Unfinished(filepath.Join(dir, "journal")); len(left) != 0 {
		t.Errorf("unfinished journals after abort: %v", left)
	}
	o.StopAfter = ""
	if _, err := Apply(context.Background(), p, o); err == nil || !strings.Contains(err.Error(), "was aborted") {
		t.Errorf("apply after abort: %v", err)
	}
	if _, err := Abort(res.Journal, sp); err == nil {
		t.Error("a second abort succeeded")
	}
}

// TestResumeNewRefusedWhenPlanNamesDisk: --new cannot override a plan that names the new disk.
func TestResumeNewRefusedWhenPlanNamesDisk(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	o := options(t, w, hosttest.NewFakeRunner(t), t.TempDir())
	o.NewSerial = "WD-OTHER"
	_, err := Apply(context.Background(), p, o)
	if err == nil || !strings.Contains(err.Error(), "the plan names the new disk WD-NEW: build a new plan to use WD-OTHER instead") {
		t.Fatalf("err = %v", err)
	}
}

// TestAddRacedByUdev: mdadm --add fails because udev's incremental assembly added the member
// first; the step's result holds, so the run goes on. An add that fails with nothing added
// still fails.
func TestAddRacedByUdev(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	exp := seedExpect(w)
	exp[4].Exit, exp[4].Stderr = 1, "mdadm: Cannot add disks to a 'member' array"
	r := hosttest.NewFakeRunner(t, exp...)
	o := options(t, w, r, t.TempDir())
	if _, err := Apply(context.Background(), p, o); err != nil {
		t.Fatalf("the raced add failed the run: %v", err)
	}

	w = seedWorld()
	p = build(t, w.Sys(), seedReq())
	exp = seedExpect(w)
	exp[4].Exit, exp[4].Do = 1, nil
	r = hosttest.NewFakeRunner(t, exp[:5]...)
	o = options(t, w, r, t.TempDir())
	var sf *StepFailedError
	if _, err := Apply(context.Background(), p, o); !errors.As(err, &sf) {
		t.Fatalf("a failed add with nothing added: %v", err)
	}
}

func TestFollowMDStat(t *testing.T) {
	bars := []progress.Array{{Array: "md0", State: "waiting"}, {Array: "md1", State: "rebuilding", Percent: 10}}
	st := func(name, action string, delayed bool, active, total int, pct float64) mdadm.MDStat {
		m := mdadm.MDStat{Action: action, Delayed: delayed}
		m.Name, m.DisksActive, m.DisksTotal, m.BlocksSyncedPct, m.BlocksSyncedSpeed, m.BlocksSyncedFinishTime = name, int64(active), int64(total), pct, 180000, 1.5
		return m
	}
	got, idle := followMDStat(bars, []mdadm.MDStat{st("md0", "", true, 1, 2, 0), st("md1", "recovery", false, 1, 2, 42.5)})
	if idle || got[0].State != "waiting" || got[1].State != "rebuilding" || got[1].Percent != 42.5 || got[1].SpeedKiB != 180000 || got[1].ETA != 90*time.Second {
		t.Errorf("recovering: %+v idle %t", got, idle)
	}
	if _, idle := followMDStat(bars, []mdadm.MDStat{st("md0", "", false, 2, 2, 0), st("md1", "", false, 2, 2, 0)}); !idle {
		t.Error("both idle and whole: not idle")
	}
	if _, idle := followMDStat(bars, []mdadm.MDStat{st("md0", "", false, 2, 2, 0), st("md1", "", false, 1, 2, 0)}); idle {
		t.Error("md1 degraded with nothing syncing counted idle")
	}
	if _, idle := followMDStat(bars, []mdadm.MDStat{st("md0", "", false, 2, 2, 0)}); idle {
		t.Error("md1 missing from mdstat counted idle")
	}
}

// TestRebuildWaitFollowsMDStat: while /proc/mdstat shows the rebuild running, the rebuild wait
// does not discover the whole system; when mdstat shows it over, it looks at once.
func TestRebuildWaitFollowsMDStat(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	r := hosttest.NewFakeRunner(t, seedExpect(w)...)
	o := options(t, w, r, t.TempDir())
	w.RebuildLooks = 1 << 30 // only the kernel (here: mdstat's 21st read) ends the rebuild
	calls, looksAtCall := 0, []int{}
	// Count only the rebuild wait's reads: from the first --add, the view's follower reads
	// mdstat too (rebuildFollower), and it stops when the wait starts.
	// The view hears the steps on the run's goroutine while the follower reads mdstat on its
	// own: the flag is shared.
	var waiting atomic.Bool
	o.View = stepWatch{on: func(s plan.Step) {
		if s.Action == plan.ActionAwaitRebuild {
			waiting.Store(true)
		}
	}}
	o.MDStat = func() ([]mdadm.MDStat, error) {
		if !waiting.Load() {
			return nil, errors.New("not in the rebuild wait")
		}
		calls++
		looksAtCall = append(looksAtCall, w.Looks)
		busy := calls <= 20
		if calls == 21 {
			w.FinishRebuilds()
		}
		var out []mdadm.MDStat
		for _, name := range []string{"md0", "md1"} {
			m := mdadm.MDStat{}
			m.Name, m.DisksActive, m.DisksTotal = name, 2, 2
			if busy {
				m.Action, m.DisksActive = "recovery", 1
			}
			out = append(out, m)
		}
		return out, nil
	}
	if _, err := Apply(context.Background(), p, o); err != nil {
		t.Fatal(err)
	}
	if calls < 20 {
		t.Fatalf("mdstat read %d times; the wait did not follow it", calls)
	}
	if looksAtCall[0] != looksAtCall[19] {
		t.Errorf("the whole system was discovered %d times while mdstat showed the rebuild running", looksAtCall[19]-looksAtCall[0])
	}
}

// stepWatch is a View that tells on of each step starting.
type stepWatch struct {
	nopView
	on func(plan.Step)
}

func (w stepWatch) StepStarting(_, _ int, s plan.Step, _ []string) { w.on(s) }
