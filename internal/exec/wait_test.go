package exec

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/plan"
)

type waitView struct {
	nopView
	lines *[]string
}

func (v waitView) Waiting(_ plan.Step, what string) { *v.lines = append(*v.lines, what) }

// TestWaitSaysElapsed: a wait says what it waits for, then, while it still waits, how long
// it has waited (issue 20, item 3: every wait shows its elapsed time).
func TestWaitSaysElapsed(t *testing.T) {
	var lines []string
	r := &run{p: &plan.Plan{}, o: Options{View: waitView{lines: &lines}, Poll: time.Millisecond, Remind: time.Nanosecond,
		Discover: func() (*discover.System, error) { return &discover.System{}, nil }},
		w: &world{sys: &discover.System{}}}
	r.wire(io.Discard)
	looks := 0
	err := r.wait(context.Background(), plan.Step{ID: "05-await-removal", Action: plan.ActionAwaitRemoval}, "vdb (WD-OLD) to be pulled",
		func() (bool, string, error) { looks++; return looks > 3, "still there", nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || lines[0] != "waiting for vdb (WD-OLD) to be pulled" {
		t.Fatalf("lines %q", lines)
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "still waiting for vdb (WD-OLD) to be pulled: ") || !strings.HasSuffix(l, "s so far") {
			t.Errorf("line %q", l)
		}
	}
}
