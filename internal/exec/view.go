package exec

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/raidswap/raidswap/internal/plan"
)

// View shows a run to a person. It never decides anything.
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

// TextView writes one line per event: for logs, scripts and terminals without bars.
type TextView struct {
	W    io.Writer
	mu   sync.Mutex
	last string
}

func (v *TextView) printf(format string, a ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprintf(v.W, format, a...)
}

// StepStarting prints the step and its command.
func (v *TextView) StepStarting(i, n int, s plan.Step, argv []string) {
	line := fmt.Sprintf("[%d/%d] %s", i+1, n, s.ID)
	if len(argv) > 0 && !s.InProcess {
		line += ": " + plan.Command(argv)
	}
	v.printf("%s\n", line)
}

// StepSkipped says why a step does not run.
func (v *TextView) StepSkipped(i, n int, s plan.Step, why string) {
	v.printf("[%d/%d] %s: skipped, %s\n", i+1, n, s.ID, why)
}

// StepDone is quiet: the next line shows progress.
func (v *TextView) StepDone(int, int, plan.Step) {}

// Waiting says what the run waits for.
func (v *TextView) Waiting(s plan.Step, what string) { v.printf("      %s\n", what) }

// Rebuild prints a line when the rounded progress changes.
func (v *TextView) Rebuild(p []ArrayProgress) {
	var parts []string
	for _, a := range p {
		switch a.State {
		case "rebuilding":
			parts = append(parts, fmt.Sprintf("%s %.0f%%", a.Array, a.Percent))
		default:
			parts = append(parts, a.Array+" "+a.State)
		}
	}
	line := strings.Join(parts, ", ")
	v.mu.Lock()
	defer v.mu.Unlock()
	if line != v.last {
		v.last = line
		fmt.Fprintf(v.W, "      rebuild: %s\n", line)
	}
}

// Say prints a message.
func (v *TextView) Say(msg string) { v.printf("      %s\n", msg) }
