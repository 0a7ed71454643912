package exec

import (
	"context"
	"errors"
	"testing"

	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/journal"
)

// TestInterruptedCommandIsNotAFailure (issue 18): when the run is interrupted (Ctrl-C cancels
// its context) while a step's command runs, the command dies of the kill; the step is
// interrupted, not failed: no "failed" record, no StepFailedError, and resume runs it again
// and finishes.
func TestInterruptedCommandIsNotAFailure(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	exp := seedExpect(w)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	grub := len(exp) - 2 // grub-install on the survivor
	killed := exp[grub]
	killed.Do, killed.Exit = cancel, -1 // Ctrl-C while it runs: CommandContext kills it
	r := hosttest.NewFakeRunner(t, append(append([]hosttest.Expect(nil), exp[:grub]...), killed)...)
	o := options(t, w, r, t.TempDir())
	res, err := Apply(ctx, p, o)
	var sf *StepFailedError
	if err == nil || errors.As(err, &sf) {
		t.Fatalf("interrupted run: %v, want an interruption, not a failed step", err)
	}
	recs, lerr := journal.Load(res.Journal)
	if lerr != nil {
		t.Fatal(lerr)
	}
	for _, rec := range recs {
		if rec.Event == journal.EventFailed {
			t.Errorf("the journal records step %s as failed: %s", rec.Step, rec.Error)
		}
	}
	r.Add(exp[grub:]...)
	if _, err := Apply(context.Background(), p, o); err != nil {
		t.Fatalf("resume: %v", err)
	}
}
