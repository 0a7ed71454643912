package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/progress"
)

// ResumeView is what `raidswap resume` shows before it goes on: the plan's steps marked
// done or still to do, as the journal says.
type ResumeView struct {
	Plan     *plan.Plan
	Journal  string
	Progress progress.Run
	// NewDevice is the kernel name the new disk has now ("" when it is not attached or not
	// chosen yet): the steps on it are shown with that name instead of {new}/{new:N}.
	NewDevice string
}

// ResumeText writes the resume view for a terminal: one line per step, marked "done",
// "next" (the first step still to do) or "to do".
func ResumeText(w io.Writer, v ResumeView) error {
	p, pr := v.Plan, v.Progress
	var b strings.Builder
	known := *p
	if pr.NewSerial != "" {
		known.Disks.New.Serial, known.Disks.New.Device = pr.NewSerial, v.NewDevice
	}
	head := title(&known)
	fmt.Fprintf(&b, "resuming plan %s: %s\n", p.ID(), strings.ToLower(head[:1])+head[1:])
	fmt.Fprintf(&b, "journal %s: %d of %d steps done, %d to do\n", v.Journal, len(p.Steps)-pr.Remaining(), len(p.Steps), pr.Remaining())
	switch {
	case pr.NewSerial == "":
		b.WriteString("new disk: not chosen yet ({new} is the disk that appears in the empty bay)\n")
	case v.NewDevice == "":
		fmt.Fprintf(&b, "new disk: serial %s, not attached now ({new} is that disk once it is back)\n", pr.NewSerial)
	default:
		fmt.Fprintf(&b, "new disk: /dev/%s (serial %s)\n", v.NewDevice, pr.NewSerial)
	}
	next := true
	for i, s := range p.Steps {
		mark := "to do"
		switch {
		case i < len(pr.Done) && pr.Done[i]:
			mark = "done"
		case next:
			mark, next = "next", false
		}
		line := fmt.Sprintf("  %-5s %2d. %s", mark, i+1, s.ID)
		if len(s.Argv) > 0 && !s.InProcess {
			line += ": " + plan.Command(withNewDisk(s.Argv, v.NewDevice))
		}
		b.WriteString(line + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// withNewDisk is argv with the new disk's placeholders replaced by its kernel name, when
// that is known; otherwise argv as the plan has it.
func withNewDisk(argv []string, dev string) []string {
	if dev == "" {
		return argv
	}
	out, err := plan.Expand(argv, dev)
	if err != nil {
		return argv
	}
	return out
}
