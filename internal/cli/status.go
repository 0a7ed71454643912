package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/view"
)

func init() { register(newStatusCmd) }

// StatusOptions are the inputs of `raidswap status`.
type StatusOptions struct {
	F      *Factory
	Format string
}

func newStatusCmd(f *Factory) *cobra.Command {
	o := &StatusOptions{F: f}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every md array and disk, and say loudly if one has failed",
		Long: `status reads /proc/mdstat, /sys/block and the udev database and shows each array
([UU] / [U_]), each member's state, any rebuild's progress, and each disk's serial,
model, size, sector sizes, membership and verdict.

Exit codes follow the monitoring-plugin convention:
  0 OK        all arrays clean
  1 WARNING   a resync, or a recovery that keeps the array redundant, is running or
              pending (e.g. an array read-auto after an unclean shutdown), or a
              replacement's journal is open (raidswap resume)
  2 CRITICAL  an array is degraded or inactive, a member is faulty, or an array rebuilds
              with one copy until done (critical until every array is redundant again)
  3 UNKNOWN   md state cannot be read (e.g. the kernel has no md driver, or only
              /proc/mdstat lists an array: it names no member's slot or state)

The last line names the command to run next (NEXT:, "next" in --json,
raidswap_next_step_info in --format prometheus): sudo raidswap or raidswap --plan for a
failed disk, raidswap resume for an unfinished replacement, nothing when OK.

A running raidswap drill's arrays (all members on its loop devices) are shown, marked
"drill, not judged", and left out of the verdict, the exit code, the Prometheus output
and the inventory.`,
		Example: `  raidswap status
  raidswap status --json | jq .disks
  raidswap status --format prometheus > /var/lib/prometheus/node-exporter/raidswap.prom
  raidswap status --root ./capture`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON {
				o.Format = "json"
			}
			return runStatus(o)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (same as --format json)")
	cmd.Flags().StringVar(&o.Format, "format", "human", "output `format`: human, json or prometheus")
	return cmd
}

func runStatus(o *StatusOptions) error {
	root, cleanup, err := o.F.DiscoveryRoot()
	if err != nil {
		return WithCode(ExitUnknown, err)
	}
	defer cleanup()
	sys, err := discover.Discover(root)
	if err != nil {
		return WithCode(ExitUnknown, err)
	}
	if root.IsLive() {
		// The inventory is what names a disk after it vanishes; status, run from cron, keeps
		// it current. Failing to save it must not change what status reports.
		if inv, changed := sys.Remember(time.Now()); changed {
			if err := inv.Save("/"); err != nil {
				fmt.Fprintf(o.F.IO.ErrOut, "raidswap: note: %v\n", err)
			}
		}
	}
	switch o.Format {
	case "json":
		err = view.StatusJSON(o.F.IO.Out, sys)
	case "prometheus":
		err = view.StatusPrometheus(o.F.IO.Out, sys)
	case "human", "":
		width := 0
		if o.F.IO.Interactive {
			// A person at a terminal (a serial console of 80 columns): fit it.
			width = terminalWidth()
		}
		err = view.StatusHumanWidth(o.F.IO.Out, sys, width)
	default:
		return WithCode(ExitUsage, fmt.Errorf("unknown --format %q: use human, json or prometheus", o.Format))
	}
	if err != nil {
		return WithCode(ExitUnknown, err)
	}
	return Silent(sys.Verdict.ExitCode())
}
