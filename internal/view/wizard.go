package view

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/human"
	"github.com/raidswap/raidswap/internal/plan"
)

// The wizard's screens (internal/wizard holds only the conversation): what discovery found
// as it opens, the warnings before anything is pulled, and the summary at its end.

// WizardShow writes what discovery found, as the wizard opens: the arrays, the disks with their
// identity, bay and SMART, the failed one marked, and the warnings an operator must see
// before pulling anything.
func WizardShow(w io.Writer, sys *discover.System, width int) {
	var b strings.Builder
	fmt.Fprintf(&b, "raidswap: %s\n\nARRAYS\n", sys.Summary)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, a := range sys.Arrays {
		use := strings.Join(a.Mountpoints, " ")
		if a.Swap {
			use = strings.TrimSpace(use + " swap")
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", a.Name, a.Bar(), strings.ToUpper(string(a.State)), orDash(use), "bitmap: "+orDash(a.Bitmap))
	}
	tw.Flush()
	b.WriteString("\nDISKS\n")
	dt := Table{Indent: "  ", Header: []string{"", "NAME", "SERIAL", "MODEL", "SIZE", "BAY", "SMART", "BOOT", "VERDICT"}, Optional: []int{3, 5}}
	for _, d := range sys.Disks {
		mark := " "
		verdict := string(d.Verdict)
		switch d.Verdict {
		case discover.DiskFailed, discover.DiskPartiallyFailed, discover.DiskVanished:
			mark, verdict = ">", strings.ToUpper(strings.ReplaceAll(verdict, "_", " "))+"  <== this disk"
		}
		size := "gone"
		if d.Present {
			size = human.Bytes(d.SizeBytes)
		}
		dt.Rows = append(dt.Rows, []string{mark, d.Name, orDash(d.Serial), orDash(d.Model), size, bayShort(d), smartShort(d.SMART), bootShort(d.Boot), verdict})
	}
	b.WriteString(dt.Render(width))
	if warn := WizardWarnings(sys); len(warn) > 0 {
		b.WriteString("\nWARNINGS\n")
		for _, x := range warn {
			b.WriteString("  ! " + x + "\n")
		}
	}
	io.WriteString(w, Wrap(b.String(), width))
}

// WizardWarnings are what the operator must know before pulling a disk: a survivor whose SMART
// is not clean, /boot on one disk only, and what discovery could not read.
func WizardWarnings(sys *discover.System) []string {
	var out []string
	for _, d := range sys.Disks {
		if d.Verdict != discover.DiskHealthy || d.SMART == nil {
			continue
		}
		switch d.SMART.State {
		case identify.SMARTFailing, identify.SMARTWarning:
			out = append(out, fmt.Sprintf("%s holds the good copy and its SMART says %s: back up what matters before the rebuild reads all of it", d.Label(), d.SMART.Summary()))
		}
	}
	for _, d := range sys.Disks {
		if d.Verdict == discover.DiskHealthy && d.Boot != nil && d.Boot.State != "" && d.Boot.State != bootloader.BootOK {
			out = append(out, fmt.Sprintf("%s does not boot alone (boot %s: %s); the plan reinstalls its boot code", d.Label(), d.Boot.State, d.Boot.Reason))
		}
	}
	for _, a := range sys.Arrays {
		for _, m := range a.Mountpoints {
			if m == "/boot" && a.ActiveDisks < a.RaidDisks {
				out = append(out, fmt.Sprintf("/boot (%s) is on %d of %d disks: until the rebuild ends, only the survivor boots", a.Name, a.ActiveDisks, a.RaidDisks))
			}
		}
	}
	for _, p := range sys.Problems {
		out = append(out, "not read: "+p)
	}
	return out
}

func bayShort(d discover.Disk) string {
	if d.Bay != nil {
		return d.Bay.Label()
	}
	return "-"
}

// bootShort is a disk's boot readiness as discovery judged it: ok, missing or unknown; "-"
// for a disk holding no member of /boot's array (or not judged, as in a capture).
func bootShort(r *bootloader.Readiness) string {
	if r == nil || r.State == "" {
		return "-"
	}
	return string(r.State)
}

func smartShort(h *identify.Health) string {
	if h == nil {
		return "-"
	}
	return string(h.State)
}

// WizardSummary is the end of a session: what was done, how long it took, where the journal
// and the audit log are, which disks got boot code, how to check later, and the command that
// makes the next failure cheaper on every array without a write-intent bitmap.
func WizardSummary(w io.Writer, width int, p *plan.Plan, newDisk *discover.Disk, sys *discover.System, journal, audit string, took time.Duration) {
	var b strings.Builder
	var arrays []string
	for _, a := range sys.Arrays {
		arrays = append(arrays, fmt.Sprintf("%s %s %s", a.Name, a.Bar(), a.State))
	}
	fmt.Fprintf(&b, "\nDONE in %s: %s replaced by %s; %s.\n", human.Duration(took), p.Disks.Failed.Label(), newDisk.Label(), strings.Join(arrays, ", "))
	fmt.Fprintf(&b, "  journal    %s\n", orDash(journal))
	fmt.Fprintf(&b, "  audit log  %s\n", orDash(audit))
	for _, l := range bootLines(p, newDisk.Label()) {
		fmt.Fprintf(&b, "  boot       %s\n", l)
	}
	for _, d := range sys.Disks {
		if d.Present && d.Boot != nil && d.Boot.State != "" {
			line := string(d.Boot.State)
			if d.Boot.Reason != "" && d.Boot.State != bootloader.BootOK {
				line += ": " + d.Boot.Reason
			}
			fmt.Fprintf(&b, "  boots alone  %s: %s\n", d.Label(), line)
		}
	}
	b.WriteString("  check later: raidswap status (or cat /proc/mdstat), and the journal above\n")
	if no := NoBitmap(sys); len(no) > 0 {
		b.WriteString("\nNext time could be cheaper: without a write-intent bitmap, a disk that drops out for a moment costs a full rebuild instead of seconds. Add one (online, safe on a redundant array):\n")
		for _, a := range no {
			b.WriteString("  " + BitmapCommand(a) + "\n")
		}
	}
	io.WriteString(w, Wrap(b.String(), width))
}

// bootLines say, disk by disk, what boot code the plan installed: the survivor's and the
// new disk's steps, or why no boot code was needed.
func bootLines(p *plan.Plan, newLabel string) []string {
	var out []string
	for _, st := range p.Steps {
		if st.Action != plan.ActionBootloader {
			continue
		}
		switch {
		case st.Target.Device == "":
			out = append(out, "none needed: "+st.Reason)
		case strings.HasPrefix(st.Target.Device, "{new"):
			out = append(out, fmt.Sprintf("%s (new): boot code installed (step %s)", newLabel, st.ID))
		case st.Target.Device == p.Disks.Survivor.Device:
			out = append(out, fmt.Sprintf("%s (survivor): boot code installed (step %s)", p.Disks.Survivor.Label(), st.ID))
		default:
			out = append(out, fmt.Sprintf("%s: step %s", st.Target.Device, st.ID))
		}
	}
	sort.Strings(out)
	return out
}
