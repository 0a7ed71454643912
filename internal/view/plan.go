package view

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/human"
	"github.com/raidswap/raidswap/internal/plan"
)

// The plan renderers. Every one shows the same plan: what was observed, each step with its
// exact command, and what cannot be undone.

// Formats Plan accepts.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
)

// Plan writes the plan in format.
func Plan(w io.Writer, p *plan.Plan, format string) error {
	switch format {
	case FormatText, "":
		return PlanText(w, p)
	case FormatMarkdown:
		return PlanMarkdown(w, p)
	case FormatJSON:
		return p.Write(w)
	default:
		return fmt.Errorf("unknown format %q: use text, markdown or json", format)
	}
}

func title(p *plan.Plan) string {
	f := p.Disks.Failed.Label()
	switch p.Request.Mode {
	case plan.ReplaceWorking:
		return fmt.Sprintf("Replace working disk %s with %s (mdadm --replace)", f, newText(p))
	case plan.ReAdd:
		return fmt.Sprintf("Return disk %s to its arrays", f)
	}
	return fmt.Sprintf("Replace failed disk %s with %s", f, newText(p))
}

func newText(p *plan.Plan) string {
	n := p.Disks.New
	switch {
	case n.Serial != "" && n.Device != "":
		return fmt.Sprintf("%s (%s)", n.Device, n.Serial)
	case n.Serial != "":
		return "new disk " + n.Serial
	}
	return "a new disk"
}

// estimateSeconds is the sum of the steps' estimates.
func estimateSeconds(p *plan.Plan) int64 {
	var s int64
	for _, st := range p.Steps {
		s += st.EstimateSeconds
	}
	return s
}

func placeholderLegend(p *plan.Plan) string {
	n := p.Disks.New
	who := "the disk that appears and was not attached when the plan was built"
	if n.Serial != "" {
		who = "the disk with serial " + n.Serial
	}
	return fmt.Sprintf("{new} is %s, and {new:N} its partition N: raidswap finds it by serial when the step runs, never by a /dev name fixed in advance.", who)
}

// PlanText writes the plan for a terminal.
func PlanText(w io.Writer, p *plan.Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "PLAN: %s\n", title(p))
	switch {
	case len(p.RebuildsFrom) == 0:
		fmt.Fprintf(&b, "  survivor  %s — holds the good copy; only read, except its boot code\n", p.Disks.Survivor.Label())
	case clones(p):
		fmt.Fprintf(&b, "  survivor  %s — its partition table is cloned; only read, except its boot code\n", p.Disks.Survivor.Label())
	default:
		fmt.Fprintf(&b, "  survivor  %s — only read, except its boot code\n", p.Disks.Survivor.Label())
	}
	for _, f := range p.RebuildsFrom {
		fmt.Fprintf(&b, "  from      %s\n", wrap(f, 90, "            "))
	}
	fmt.Fprintf(&b, "  host      %s (machine-id %s), built %s by raidswap %s\n", p.Host.Hostname, p.Host.MachineID, p.CreatedAt.Format(time.RFC3339), p.RaidswapVersion)
	fmt.Fprintf(&b, "  plan id   %s, fingerprint %s\n", p.ID(), short(p.Fingerprint))
	fmt.Fprintf(&b, "  rebuild   about %s at %s (%s)\n\n", human.Seconds(estimateSeconds(p)), human.RateKiB(p.SpeedKiB), p.SpeedSource)
	for i, s := range p.Steps {
		mark := " "
		if s.Destructive {
			mark = "!"
		}
		fmt.Fprintf(&b, "%s %2d. %s", mark, i+1, s.Action)
		if s.Target.Array != "" {
			fmt.Fprintf(&b, " %s", s.Target.Array)
		}
		if s.Target.Device != "" {
			fmt.Fprintf(&b, " %s", s.Target.Device)
		}
		if s.EstimateSeconds > 0 {
			fmt.Fprintf(&b, " (about %s)", human.Seconds(s.EstimateSeconds))
		}
		b.WriteString("\n")
		if len(s.Argv) > 0 {
			prefix := "$ "
			if s.InProcess {
				prefix = "(in-process, like) $ "
			}
			fmt.Fprintf(&b, "      %s%s\n", prefix, plan.Command(s.Argv))
		}
		fmt.Fprintf(&b, "      %s\n", wrap(s.Reason, 90, "      "))
	}
	b.WriteString("\n! = writes to a disk or changes an array. " + placeholderLegend(p) + "\n")
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "NOTE: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// PlanMarkdown writes the plan as a change ticket.
func PlanMarkdown(w io.Writer, p *plan.Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", title(p))
	b.WriteString("## Summary\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Host | %s (machine-id `%s`) |\n", p.Host.Hostname, p.Host.MachineID)
	fmt.Fprintf(&b, "| Mode | %s |\n", p.Request.Mode)
	fmt.Fprintf(&b, "| Disk out | %s%s |\n", p.Disks.Failed.Label(), diskDetail(p.Disks.Failed))
	switch {
	case len(p.RebuildsFrom) == 0:
		fmt.Fprintf(&b, "| Survivor (good copy) | %s%s |\n", p.Disks.Survivor.Label(), diskDetail(p.Disks.Survivor))
	case clones(p):
		fmt.Fprintf(&b, "| Survivor (partition table source) | %s%s |\n", p.Disks.Survivor.Label(), diskDetail(p.Disks.Survivor))
	default:
		fmt.Fprintf(&b, "| Survivor | %s%s |\n", p.Disks.Survivor.Label(), diskDetail(p.Disks.Survivor))
	}
	for _, f := range p.RebuildsFrom {
		fmt.Fprintf(&b, "| Rebuilds from | %s |\n", f)
	}
	fmt.Fprintf(&b, "| New disk | %s, at least %d bytes |\n", newText(p), p.Disks.New.MinSizeBytes)
	fmt.Fprintf(&b, "| Expected duration | about %s (rebuild at %s, %s) |\n", human.Seconds(estimateSeconds(p)), human.RateKiB(p.SpeedKiB), p.SpeedSource)
	fmt.Fprintf(&b, "| Built | %s by raidswap %s |\n", p.CreatedAt.Format(time.RFC3339), p.RaidswapVersion)
	fmt.Fprintf(&b, "| Plan id / fingerprint | `%s` / `%s` |\n\n", p.ID(), p.Fingerprint)
	b.WriteString("Apply with `raidswap apply PLANFILE`. raidswap re-reads the system first and refuses the plan if anything below under *Observed state* has changed, if the file was edited, or on another machine. Before each step it checks the step's preconditions again; a journal under /var/lib/raidswap/journal records every step, and `raidswap resume` continues an interrupted run.\n\n")
	changeBoard(&b, p)
	b.WriteString("## Observed state\n\n```\n")
	for _, l := range p.Observed {
		b.WriteString(l + "\n")
	}
	b.WriteString("```\n\n")
	b.WriteString("## Steps\n\n")
	b.WriteString(placeholderLegend(p) + "\n\n")
	for i, s := range p.Steps {
		kind := "read-only"
		if s.Destructive {
			kind = "**changes the system**"
		}
		fmt.Fprintf(&b, "### %d. %s (`%s`) — %s\n\n", i+1, s.Action, s.ID, kind)
		b.WriteString(s.Reason + "\n\n")
		if len(s.Argv) > 0 {
			if s.InProcess {
				b.WriteString("Done by raidswap in-process; the equivalent command:\n\n")
			}
			fmt.Fprintf(&b, "```\n%s\n```\n\n", plan.Command(s.Argv))
		}
		if s.EstimateSeconds > 0 {
			fmt.Fprintf(&b, "Expected duration: about %s.\n\n", human.Seconds(s.EstimateSeconds))
		}
		if len(s.Preconditions) > 0 {
			b.WriteString("Checked right before: ")
			b.WriteString(condTexts(s.Preconditions))
			b.WriteString(".\n\n")
		}
		if len(s.Postconditions) > 0 {
			b.WriteString("Done when: ")
			b.WriteString(condTexts(s.Postconditions))
			b.WriteString(".\n\n")
		}
		if s.Undo != "" {
			fmt.Fprintf(&b, "Back out: %s\n\n", s.Undo)
		}
	}
	cannotUndo(&b, p)
	b.WriteString("\nNothing in this plan writes to the survivor except GRUB's boot code (the MBR code area and the BIOS boot partition, saved first so the old code can be put back): raidswap refuses any other write to a disk that holds an in_sync member, a mounted or held partition, or active swap, and never removes the last in_sync member of an array.\n\n")
	b.WriteString("## How to back out\n\n")
	b.WriteString("- Before the first step that changes the system: nothing has changed; stop here.\n")
	b.WriteString("- Interrupted (Ctrl-C, ssh drop, crash): `raidswap resume` decides from the live system which steps are done and continues; nothing is repeated that is already true.\n")
	b.WriteString("- After the failed disk is detached: the arrays run degraded on the survivor, as they did before; to stop, leave them so and put the old disk back only if it is the same serial (`raidswap --plan --re-add --failed SERIAL`).\n")
	b.WriteString("- After the new disk's members are added: `mdadm /dev/mdX --fail {new:N} --remove {new:N}` takes them out again; the survivor is untouched.\n")
	postChecks(&b, p)
	if len(p.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range p.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func diskDetail(d plan.DiskRef) string {
	var parts []string
	if d.Model != "" {
		parts = append(parts, d.Model)
	}
	if d.SizeBytes > 0 {
		parts = append(parts, fmt.Sprintf("%d bytes", d.SizeBytes))
	}
	if d.Bay != "" {
		parts = append(parts, "at "+d.Bay)
	}
	if !d.Present {
		parts = append(parts, "not attached")
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, ", ")
}

func condTexts(cs []plan.Condition) string {
	t := make([]string, len(cs))
	for i, c := range cs {
		t[i] = c.Text
	}
	return strings.Join(t, "; ")
}

func short(s string) string {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

// wrap breaks text at width, indenting continuation lines.
func wrap(s string, width int, indent string) string {
	words := strings.Fields(s)
	var b strings.Builder
	n := 0
	for i, w := range words {
		if i > 0 {
			if n+1+len(w) > width {
				b.WriteString("\n" + indent)
				n = 0
			} else {
				b.WriteString(" ")
				n++
			}
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

// clones reports whether the plan clones the survivor's partition table (a plan for arrays
// built over whole disks does not).
func clones(p *plan.Plan) bool {
	for _, s := range p.Steps {
		if s.Action == plan.ActionPartitionClone {
			return true
		}
	}
	return false
}
