package view

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
)

// writeUnfinished shows each replacement raidswap began and neither finished nor aborted.
func writeUnfinished(b *strings.Builder, s *discover.System) {
	for _, r := range s.Unfinished {
		fmt.Fprintf(b, "\nUNFINISHED REPLACEMENT: plan %s", r.Plan)
		if r.Failed != "" {
			fmt.Fprintf(b, ", %s", r.Failed)
			if r.New != "" {
				fmt.Fprintf(b, " -> %s", r.New)
			}
		}
		fmt.Fprintf(b, "\n  journal %s, last record %s", r.File, r.LastEvent)
		if r.LastStep != "" {
			fmt.Fprintf(b, " of step %s", r.LastStep)
		}
		if !r.Last.IsZero() {
			fmt.Fprintf(b, " at %s", r.Last.UTC().Format("2006-01-02 15:04:05Z"))
		}
		if r.BeforeBoot {
			b.WriteString(", before this boot")
		}
		b.WriteString("\n  `raidswap resume` continues it; `raidswap abort` closes it unfinished.\n")
	}
}

// unfinishedMetrics: how many replacements are open, and one series for each.
func unfinishedMetrics(b *strings.Builder, s *discover.System, metric func(name, help, typ string)) {
	metric("raidswap_replacements_unfinished", "Replacements raidswap began and neither finished nor aborted (raidswap resume continues one).", "gauge")
	fmt.Fprintf(b, "raidswap_replacements_unfinished %d\n", len(s.Unfinished))
	metric("raidswap_replacement_unfinished", "1 for each unfinished replacement, by plan, with the step it stopped at.", "gauge")
	for _, r := range s.Unfinished {
		fmt.Fprintf(b, "raidswap_replacement_unfinished{plan=%q,failed=%q,new=%q,last_step=%q,before_boot=%q} 1\n",
			r.Plan, r.Failed, r.New, r.LastStep, fmt.Sprint(r.BeforeBoot))
	}
}
