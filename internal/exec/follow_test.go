package exec

import (
	"context"
	"sync"
	"testing"

	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/progress"
	"github.com/raidswap/raidswap/mdadm"
)

// eventLog is a View that records the order of step starts and rebuild draws.
type eventLog struct {
	nopView
	mu     sync.Mutex
	events []string
}

func (l *eventLog) StepStarting(_, _ int, s plan.Step, _ []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, "start "+string(s.Action))
}

func (l *eventLog) Rebuild(p []progress.Array) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(p) > 0 {
		l.events = append(l.events, "bars "+p[0].State)
	}
}

// TestBarsFromFirstAdd: the rebuild bars are drawn from the first --add on, before the
// bootloader steps, not only when the await-rebuild step starts.
func TestBarsFromFirstAdd(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	r := hosttest.NewFakeRunner(t, seedExpect(w)...)
	o := options(t, w, r, t.TempDir())
	log := &eventLog{}
	o.View = log
	o.MDStat = func() ([]mdadm.MDStat, error) {
		m := mdadm.MDStat{Action: "recovery"}
		m.Name, m.DisksActive, m.DisksTotal, m.BlocksSyncedPct = "md0", 1, 2, 12.5
		return []mdadm.MDStat{m}, nil
	}
	if _, err := Apply(context.Background(), p, o); err != nil {
		t.Fatal(err)
	}
	firstAdd, firstBars, awaitRebuild := -1, -1, -1
	for i, e := range log.events {
		switch {
		case e == "start add-member" && firstAdd < 0:
			firstAdd = i
		case len(e) > 4 && e[:4] == "bars" && firstBars < 0:
			firstBars = i
		case e == "start await-rebuild":
			awaitRebuild = i
		}
	}
	if firstAdd < 0 || awaitRebuild < 0 || firstBars < firstAdd || firstBars > awaitRebuild {
		t.Errorf("first add at %d, first bars at %d, await-rebuild at %d: %q", firstAdd, firstBars, awaitRebuild, log.events)
	}
}
