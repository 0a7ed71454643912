package view

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/raidswap/raidswap/internal/discover"
)

// writeBays adds the BAYS section to the status table: where each disk sits and how its LEDs
// are driven, a vanished disk's bay as the inventory remembers it, and why a bay is unknown
// when the kernel's enclosure data disagree. Nothing is written when no disk has a bay.
func writeBays(b *strings.Builder, s *discover.System) {
	any := false
	for _, d := range s.Disks {
		any = any || d.Bay != nil || d.BayProblem != ""
	}
	if !any {
		return
	}
	b.WriteString("\nBAYS\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, d := range s.Disks {
		switch {
		case d.BayProblem != "":
			fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Label(), "no LED", "UNKNOWN: "+d.BayProblem)
		case d.Bay == nil:
			fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Label(), "no LED", "unknown")
		case !d.Present:
			fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Label(), "LED "+string(d.Bay.LED), "was in "+d.Bay.Label()+" (remembered)")
		default:
			fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Label(), "LED "+string(d.Bay.LED), d.Bay.Label())
		}
	}
	tw.Flush()
}
