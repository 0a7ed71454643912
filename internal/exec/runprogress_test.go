package exec

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// lineView records every line a run shows.
type lineView struct {
	nopView
	lines []string
}

func (v *lineView) Say(s string) { v.lines = append(v.lines, s) }
func (v *lineView) StepSkipped(i, n int, s plan.Step, why string) {
	v.lines = append(v.lines, fmt.Sprintf("skipped %s: %s", s.ID, why))
}

// TestContinuingIsNotAResume: the wizard's second phase continues the run its first phase
// began in the same session; only a real resume says "resuming" and lists steps done in an
// earlier run.
func TestContinuingIsNotAResume(t *testing.T) {
	for _, tc := range []struct {
		name       string
		continuing bool
		shown      bool
		wantResume bool
	}{
		{"resume", false, false, true},
		{"second phase", true, false, false},
		// raidswap resume listed done, next and to do itself (issue 20, item 2).
		{"resume after its own list", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := seedWorld()
			p := build(t, w.Sys(), seedReq())
			r := hosttest.NewFakeRunner(t, seedExpect(w)...)
			o := options(t, w, r, t.TempDir())
			// Stop after the last detach: the first phase's end in the wizard.
			for _, s := range p.Steps {
				if s.Action == plan.ActionDetach {
					o.StopAfter = s.ID
				}
			}
			if _, err := Apply(context.Background(), p, o); !errors.Is(err, ErrStopped) {
				t.Fatalf("first run: %v", err)
			}
			v := &lineView{}
			stop := o.StopAfter
			o.StopAfter, o.View, o.Continuing, o.ProgressShown = "", v, tc.continuing, tc.shown
			res, err := Apply(context.Background(), p, o)
			if err != nil {
				t.Fatalf("second run: %v", err)
			}
			said := strings.Join(v.lines, "\n")
			if got := strings.Contains(said, "resuming plan"); got != tc.wantResume {
				t.Errorf("says resuming: %v, want %v:\n%s", got, tc.wantResume, said)
			}
			if got := strings.Contains(said, "done in an earlier run"); got != tc.wantResume {
				t.Errorf("lists steps done in an earlier run: %v, want %v:\n%s", got, tc.wantResume, said)
			}
			if !slices.Contains(res.Skipped, stop) || slices.Contains(res.Skipped, p.Steps[len(p.Steps)-1].ID) {
				t.Errorf("skipped %v, want the first phase's steps (up to %s)", res.Skipped, stop)
			}
		})
	}
}

// TestReadProgress: the steps a journal shows done, and the new disk it chose, are what
// resume shows; a step on the new disk done before another new disk was chosen is not done.
func TestReadProgress(t *testing.T) {
	p := build(t, plantest.Seed(), seedReq())
	var clone, add string
	for _, s := range p.Steps {
		if s.Action == plan.ActionPartitionClone {
			clone = s.ID
		}
		if s.Action == plan.ActionAddMember && add == "" {
			add = s.ID
		}
	}
	var first string // the swapoff: a step a resume does not run again
	for _, s := range p.Steps {
		if s.Action == plan.ActionSwapOff && first == "" {
			first = s.ID
		}
	}
	recs := func(rs ...journal.Record) []journal.Record { return rs }
	done := func(id string) journal.Record { return journal.Record{Event: journal.EventDone, Step: id} }
	note := func(serial, dev string) journal.Record {
		return journal.Record{Event: journal.EventNote, Data: map[string]string{noteNewSerial: serial, "new_device": dev}}
	}
	for _, tc := range []struct {
		name       string
		recs       []journal.Record
		named      string
		done       []string
		newSerial  string
		newDevice  string
		remainingN int
	}{
		{"nothing yet", nil, "", nil, plantest.New, "", len(p.Steps)},
		{"first step", recs(done(first)), "", []string{first}, plantest.New, "", len(p.Steps) - 1},
		{"new disk chosen and cloned", recs(done(first), note("WD-OTHER", "sdc"), done(clone)), "", []string{first, clone}, "WD-OTHER", "sdc", len(p.Steps) - 2},
		{"cloned before the disk was swapped", recs(done(first), done(clone), note("WD-OTHER", "sdd")), "", []string{first}, "WD-OTHER", "sdd", len(p.Steps) - 1},
		{"resume --new names another disk", recs(done(first), note("WD-OTHER", "sdc"), done(clone)), "WD-THIRD", []string{first}, "WD-THIRD", "", len(p.Steps) - 1},
		{"resume --new names the chosen disk", recs(done(first), note("WD-OTHER", "sdc"), done(clone)), "WD-OTHER", []string{first, clone}, "WD-OTHER", "sdc", len(p.Steps) - 2},
		{"skipped counts as done", recs(journal.Record{Event: journal.EventSkipped, Step: add}), "", []string{add}, plantest.New, "", len(p.Steps) - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := ReadProgress(p, tc.recs, tc.named)
			var got []string
			for i, d := range pr.Done {
				if d {
					got = append(got, p.Steps[i].ID)
				}
			}
			if !slices.Equal(got, tc.done) {
				t.Errorf("done %v, want %v", got, tc.done)
			}
			if pr.NewSerial != tc.newSerial || pr.NewDevice != tc.newDevice {
				t.Errorf("new disk %q (%q), want %q (%q)", pr.NewSerial, pr.NewDevice, tc.newSerial, tc.newDevice)
			}
			if pr.Remaining() != tc.remainingN {
				t.Errorf("remaining %d, want %d", pr.Remaining(), tc.remainingN)
			}
		})
	}
}
