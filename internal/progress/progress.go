// Package progress holds what the executor tells a person while a plan runs: the View it
// reports steps and rebuilds to, and one array's rebuild (Array). Both exec, which reports,
// and view, which renders, import it, so the renderer does not depend on the executor.
//
// It holds types only: no rule, no reading of the system, no rendering.
package progress

import (
	"time"

	"github.com/raidswap/raidswap/internal/plan"
)

// View shows a run's progress to a person (internal/view's RunText and bars); the executor
// calls it from one goroutine.
type View interface {
	// Steps says which plan the next step lines belong to and the new disk's kernel name
	// ("" while none is chosen), so a view can name each step in the operator's words with
	// the real device names; the executor says it before every step.
	Steps(p *plan.Plan, newDisk string)
	StepStarting(i, n int, s plan.Step, argv []string)
	StepSkipped(i, n int, s plan.Step, why string)
	StepDone(i, n int, s plan.Step)
	Waiting(s plan.Step, what string)
	Rebuild(p []Array)
	Say(msg string)
}

// Array is one array's rebuild, for a view.
type Array struct {
	Array string
	// State is "waiting" (queued behind another array), "rebuilding", "done" or "degraded"
	// (nothing is rebuilding it).
	State    string
	Percent  float64
	SpeedKiB int64
	ETA      time.Duration
	SizeKiB  int64
}

// Run is what a run's journal says of its plan: which steps are done, and which disk is the
// new one (exec.ReadProgress reads it; view.ResumeText shows it).
type Run struct {
	// Done has one entry per step of the plan.
	Done []bool
	// NewSerial is the new disk an earlier run chose ("" when none yet); NewDevice is the
	// kernel name it had when that run found it.
	NewSerial string
	NewDevice string
}

// Remaining is the number of steps not done.
func (r Run) Remaining() int {
	n := 0
	for _, d := range r.Done {
		if !d {
			n++
		}
	}
	return n
}
