package view

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/progress"
)

// Run shows a run (apply, replace, resume) or a rebuild being watched: progress.View, and Close,
// which stops drawing and leaves what was drawn on the screen.
type Run interface {
	progress.View
	Close()
}

// NewRun gives progress bars, one per array, when bars is set (a terminal) and one line
// per event otherwise (logs, scripts, --plain).
func NewRun(w io.Writer, bars bool) Run { return NewRunWidth(w, bars, 0) }

// RunText writes one line per event: for logs, scripts and terminals without bars.
type RunText struct {
	W io.Writer
	// Width, when set, wraps each line at word boundaries to the terminal's width.
	Width int
	mu    sync.Mutex
	last  string
	// plan and newDisk name the steps (Steps).
	plan    *plan.Plan
	newDisk string
}

func (v *RunText) printf(format string, a ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprint(v.W, Wrap(fmt.Sprintf(format, a...), v.Width))
}

// NewRunWidth is NewRun with its lines wrapped at word boundaries to width (a terminal's).
func NewRunWidth(w io.Writer, bars bool, width int) Run {
	if !bars {
		return &RunText{W: w, Width: width}
	}
	return newRunBars(w, width)
}

// Steps takes the plan and the new disk's name the next step lines are about.
func (v *RunText) Steps(p *plan.Plan, newDisk string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.plan, v.newDisk = p, newDisk
}

// title is what step s does in the operator's words (StepTitle), or its id without a plan.
func (v *RunText) title(s plan.Step) string {
	v.mu.Lock()
	p, newDisk := v.plan, v.newDisk
	v.mu.Unlock()
	if p == nil {
		return s.ID
	}
	return StepTitle(p, s, newDisk)
}

// StepStarting prints what the step does and its command.
func (v *RunText) StepStarting(i, n int, s plan.Step, argv []string) {
	line := fmt.Sprintf("[%d/%d] %s\n", i+1, n, v.title(s))
	if len(argv) > 0 && !s.InProcess {
		// The command on a line of its own: a serial console's 80 columns hold it whole.
		line += "      " + plan.Command(argv) + "\n"
	}
	v.printf("%s", line)
}

// StepSkipped says why a step does not run.
func (v *RunText) StepSkipped(i, n int, s plan.Step, why string) {
	v.printf("[%d/%d] %s: skipped, %s\n", i+1, n, v.title(s), why)
}

// StepDone is quiet: the next line shows progress.
func (v *RunText) StepDone(int, int, plan.Step) {}

// Waiting says what the run waits for.
func (v *RunText) Waiting(s plan.Step, what string) { v.printf("      %s\n", what) }

// Rebuild prints a line when the rounded progress changes.
func (v *RunText) Rebuild(p []progress.Array) {
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
func (v *RunText) Say(msg string) { v.printf("      %s\n", msg) }

// Close has nothing to stop: every line is already written.
func (v *RunText) Close() {}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
