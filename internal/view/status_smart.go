package view

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
)

// writeSMART adds the SMART section to the human status: one line per present disk whose
// SMART was read, and what to do about a disk whose SMART predicts its failure. Nothing when
// no disk's SMART was read (a capture).
func writeSMART(b *strings.Builder, s *discover.System) {
	read := false
	for _, d := range s.Disks {
		read = read || d.SMART != nil
	}
	if !read {
		return
	}
	b.WriteString("\nSMART\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, d := range s.Disks {
		if d.SMART == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Name, orDash(d.Serial), smartText(d.SMART))
	}
	tw.Flush()
	for _, d := range s.Disks {
		if d.SMARTReplaceCandidate {
			fmt.Fprintf(b, "\n%s: SMART predicts its failure while its members are still in sync. Replace it now, keeping\nredundancy during the copy: raidswap replace --replace --failed %s --new SERIAL\n", d.Label(), orDash(d.Serial))
		}
	}
}

// smartText is a disk's SMART line: its verdict, then its counters.
func smartText(h *identify.Health) string {
	switch h.State {
	case identify.SMARTUnavailable:
		return h.Summary()
	case identify.SMARTUnknown:
		return "UNKNOWN: " + strings.Join(h.Reasons, "; ")
	}
	var facts []string
	if n := h.NVMe; n != nil {
		facts = append(facts, fmt.Sprintf("critical warning 0x%02x", n.CriticalWarning),
			fmt.Sprintf("spare %d%% (threshold %d%%)", n.AvailableSpare, n.SpareThreshold),
			fmt.Sprintf("used %d%%", n.PercentageUsed), fmt.Sprintf("media errors %d", n.MediaErrors))
	}
	for _, c := range []struct {
		p    *uint64
		what string
	}{{h.Reallocated, "reallocated"}, {h.Pending, "pending"}, {h.Uncorrectable, "offline uncorrectable"},
		{h.Reported, "reported uncorrectable"}, {h.Timeouts, "timeouts"}, {h.CRCErrors, "CRC errors"}} {
		if c.p != nil {
			facts = append(facts, fmt.Sprintf("%s %d", c.what, *c.p))
		}
	}
	t := h.Protocol + " " + string(h.State)
	if h.State != identify.SMARTOK {
		t = h.Protocol + " " + strings.ToUpper(string(h.State))
	}
	if len(facts) > 0 {
		t += " (" + strings.Join(facts, ", ") + ")"
	}
	if h.State != identify.SMARTOK {
		t += ": " + strings.Join(h.Reasons, "; ") + "  <=="
	}
	return strings.TrimSpace(t)
}
