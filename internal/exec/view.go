package exec

import (
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/progress"
)

// nopView is Options.View when none is given: a run that shows nothing.
type nopView struct{}

func (nopView) Steps(*plan.Plan, string)                   {}
func (nopView) StepStarting(int, int, plan.Step, []string) {}
func (nopView) StepSkipped(int, int, plan.Step, string)    {}
func (nopView) StepDone(int, int, plan.Step)               {}
func (nopView) Waiting(plan.Step, string)                  {}
func (nopView) Rebuild([]progress.Array)                   {}
func (nopView) Say(string)                                 {}
