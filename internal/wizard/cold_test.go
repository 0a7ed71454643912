package wizard

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/plan"
)

// TestColdStopsAfterPhaseOne: with Cold (raidswap --cold) the wizard runs phase 1 as always,
// then neither waits for the pull nor asks about a new disk: it says to power off, which
// serial to take out and which to keep, and that `sudo raidswap` continues after the boot,
// and ends with a PowerOffError naming the open journal. One answer: the failed disk's
// last 4.
func TestColdStopsAfterPhaseOne(t *testing.T) {
	fp := &fakePrompter{typed: []string{"B002"}}
	w, d, out := newSession(t, "failed", fp)
	d.Cold = true
	looks := d.Discover
	d.Discover = func() (*discover.System, error) {
		if w.detached {
			// A look for the pull: a cold session has nothing to wait for.
			return nil, errors.New("the wizard looked for the pull after phase 1")
		}
		return looks()
	}
	o, err := Run(context.Background(), d, plan.Request{Mode: plan.ReplaceFailed}, false)
	var off *PowerOffError
	if !errors.As(err, &off) {
		t.Fatalf("err %v, want a PowerOffError\n%s", err, out)
	}
	if len(w.runs) != 1 || w.runs[0].StopAfter == "" || o.Answers != 1 {
		t.Errorf("runs %+v, %d answers: want phase 1 alone, one answer", w.runs, o.Answers)
	}
	if off.Journal == "" || !strings.Contains(err.Error(), off.Journal) || !strings.Contains(err.Error(), "sudo raidswap") {
		t.Errorf("error %q names no journal or next command", err)
	}
	for _, s := range []string{"sudo systemctl poweroff", "Take out the disk with serial WD-WCC4N1KPB002",
		"Keep the disk with serial WD-WCC4N1KPA001", "Run:  sudo raidswap", off.Journal, "at least 128.0 MiB"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	for _, s := range []string{"Pull the disk with serial", "Insert the new disk", "Phase 2"} {
		if strings.Contains(out.String(), s) {
			t.Errorf("a cold session says %q:\n%s", s, out)
		}
	}
}

// TestColdNothingToDetach: with nothing to take out of the arrays (phase 1 empty: the disk's
// members are gone from md already), a cold session runs nothing and asks nothing: it says to
// power off and swap, and that `sudo raidswap` plans the replacement after the boot; it does
// not wait for a disk to be inserted into a running chassis without hot-swap bays.
func TestColdNothingToDetach(t *testing.T) {
	fp := &fakePrompter{}
	w, d, out := newSession(t, "vanished", fp)
	d.Cold = true
	build, looks, planned := d.Plan, d.Discover, false
	d.Discover = func() (*discover.System, error) {
		if planned {
			return nil, errors.New("the wizard looked for a disk after planning")
		}
		return looks()
	}
	d.Plan = func(r plan.Request) (*plan.Plan, error) {
		planned = true
		p, err := build(r)
		if err != nil {
			return nil, err
		}
		// The same plan once md no longer lists the failed disk's members: no detach.
		var steps []plan.Step
		waiting := false
		for _, s := range p.Steps {
			waiting = waiting || s.Action == plan.ActionAwaitRemoval || s.Action == plan.ActionAwaitNewDisk
			if waiting || s.Action == plan.ActionPreflight {
				steps = append(steps, s)
			}
		}
		p.Steps = steps
		return p, nil
	}
	o, err := Run(context.Background(), d, plan.Request{Mode: plan.ReplaceFailed}, false)
	var off *PowerOffError
	if !errors.As(err, &off) || off.Journal != "" || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("err %v, want a PowerOffError without a journal\n%s", err, out)
	}
	if len(w.runs) != 0 || o.Answers != 0 {
		t.Errorf("runs %+v, %d answers: want none", w.runs, o.Answers)
	}
	for _, s := range []string{"sudo systemctl poweroff", "Take out the disk with serial WD-WCC4N1KPB002", "It plans the replacement again"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out.String(), "Insert the new disk") {
		t.Errorf("a cold session asks to insert a disk into the running chassis:\n%s", out)
	}
}
