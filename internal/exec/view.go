package exec

import "github.com/raidswap/raidswap/internal/plan"

// View shows a run to a person. It never decides anything. Package view has the
// implementations (lines of text, progress bars); exec must not import it.
type View interface {
	StepStarting(i, n int, s plan.Step, argv []string)
	StepSkipped(i, n int, s plan.Step, why string)
	StepDone(i, n int, s plan.Step)
	Waiting(s plan.Step, what string)
	Rebuild(p []ArrayProgress)
	Say(msg string)
}

type nopView struct{}

func (nopView) StepStarting(int, int, plan.Step, []string) {}
func (nopView) StepSkipped(int, int, plan.Step, string)    {}
func (nopView) StepDone(int, int, plan.Step)               {}
func (nopView) Waiting(plan.Step, string)                  {}
func (nopView) Rebuild([]ArrayProgress)                    {}
func (nopView) Say(string)                                 {}
