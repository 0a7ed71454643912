package stream

import (
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/progress"
)

// View is the sink of the person's view: the step lines (Started, Skipped and Recalled with
// Say as the reason, Done), a wait's progress, the rebuild bars, and the Say of every other
// record but those the caller reports itself (Refused, Failed, Stale: the error it returns)
// and the logs' own (Plan, Command, Interrupted, MDEvent). plan gives the plan the steps
// belong to now (a resume may rename the survivor in it).
func View(v progress.View, p func() *plan.Plan) Sink { return viewSink{v, p} }

type viewSink struct {
	v    progress.View
	plan func() *plan.Plan
}

func (s viewSink) Put(rec Record) error {
	switch rec.Kind {
	case Started, Skipped, Recalled, Done, Waiting:
		p := s.plan()
		i := stepIndex(p, rec.Step)
		if rec.Kind == Waiting {
			st := plan.Step{ID: rec.Step}
			if i >= 0 {
				st = p.Steps[i]
			}
			s.v.Waiting(st, rec.Say)
			return nil
		}
		if i < 0 {
			return nil
		}
		st, n := p.Steps[i], len(p.Steps)
		s.v.Steps(p, rec.NewDisk)
		switch rec.Kind {
		case Started:
			s.v.StepStarting(i, n, st, rec.Argv)
		case Skipped, Recalled:
			s.v.StepSkipped(i, n, st, rec.Say)
		case Done:
			s.v.StepDone(i, n, st)
		}
	case Rebuild:
		s.v.Rebuild(rec.Bars)
	case Refused, Failed, Stale, Plan, Command, Interrupted, MDEvent:
	default:
		if rec.Say != "" {
			s.v.Say(rec.Say)
		}
	}
	return nil
}

func stepIndex(p *plan.Plan, id string) int {
	if p == nil {
		return -1
	}
	for i, s := range p.Steps {
		if s.ID == id {
			return i
		}
	}
	return -1
}
