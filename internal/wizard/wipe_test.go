package wizard

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/plan"
)

// wipePrompter says yes or no to every yes/no question and records them.
type wipePrompter struct {
	fakePrompter
	yes bool
}

func (w *wipePrompter) YesNo(q string, def bool) (bool, error) {
	w.asked = append(w.asked, q)
	return w.yes, nil
}

// TestWizardAsksBeforeErasingANewDiskThatHoldsData: a new disk named up front that holds
// data is erased only when the operator says yes; the plan is then built again with Wipe.
func TestWizardAsksBeforeErasingANewDiskThatHoldsData(t *testing.T) {
	_, sys := fixtureSystem(t, "failed")
	held := &plan.NewDiskError{Rule: plan.NewDiskHoldsData, Device: "loop2", Serial: "DRILL-C1234",
		Reason: "holds data (partitions loop2p1); check it is the right disk, then give --wipe to erase it"}
	stop := errors.New("plan built")
	for _, yes := range []bool{true, false} {
		p := &wipePrompter{yes: yes}
		var reqs []plan.Request
		var out bytes.Buffer
		d := Deps{Out: &out, Prompt: p, Discover: func() (*discover.System, error) { return sys, nil },
			Plan: func(r plan.Request) (*plan.Plan, error) {
				reqs = append(reqs, r)
				if !r.Wipe {
					return nil, held
				}
				return nil, stop
			}}
		o, err := Run(t.Context(), d, plan.Request{Mode: plan.ReplaceFailed, Failed: "WD-OLD", New: "DRILL-C1234"}, false)
		if !strings.Contains(out.String(), "serial DRILL-C1234) holds data (partitions loop2p1)") {
			t.Errorf("yes=%v: the operator was not told:\n%s", yes, out.String())
		}
		if len(p.asked) != 1 || !strings.Contains(p.asked[0], "Erase everything on the new disk with serial DRILL-C1234") {
			t.Errorf("yes=%v: asked %q", yes, p.asked)
		}
		if o.Answers != 1 {
			t.Errorf("yes=%v: %d answers counted, want 1", yes, o.Answers)
		}
		switch {
		case yes && (len(reqs) != 2 || !reqs[1].Wipe || !errors.Is(err, stop)):
			t.Errorf("yes: plans %+v, err %v: want a second plan with Wipe", reqs, err)
		case !yes && (len(reqs) != 1 || !errors.As(err, new(*plan.NewDiskError))):
			t.Errorf("no: plans %+v, err %v: want the refusal and no second plan", reqs, err)
		}
	}
}
