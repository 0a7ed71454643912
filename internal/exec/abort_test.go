package exec

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
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
