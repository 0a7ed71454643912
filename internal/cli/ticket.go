package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/internal/view"
)

func init() { register(newTicketCmd) }

// TicketOptions are the inputs of `raidswap ticket`.
type TicketOptions struct {
	F       *Factory
	Request RequestOptions
	Cold    bool
}

func newTicketCmd(f *Factory) *cobra.Command {
	o := &TicketOptions{F: f}
	cmd := &cobra.Command{
		Use:   "ticket [--failed SERIAL|DEV] [--cold]",
		Short: "Print a disk-swap request for remote hands: the serial to pull, the serials to keep",
		Long: `ticket prints a text to paste into a data-centre ticket, for a technician who swaps
the disk by hand: the failed disk's serial, model, size and bay; the serials of the disks
that hold the data and must stay; what new disk is needed (minimum size, sector size);
whether the server stays running; and what the technician should expect. It changes
nothing and holds no command. --cold says the chassis has no hot-swap bays (the server is
shut down for the swap).`,
		Example: `  raidswap ticket
  raidswap ticket --failed WD-WCC4N1KPB002 --cold`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTicket(o) },
	}
	cmd.Flags().StringVar(&o.Request.Failed, "failed", "", "the disk coming out: `SERIAL` or device; default: the one disk that failed")
	cmd.Flags().BoolVar(&o.Cold, "cold", false, "the chassis has no hot-swap bays: the server is powered off for the swap")
	return cmd
}

func runTicket(o *TicketOptions) error {
	req, err := o.Request.request()
	if err != nil {
		return WithCode(ExitUsage, err)
	}
	root, cleanup, err := o.F.DiscoveryRoot()
	if err != nil {
		return WithCode(ExitFailed, err)
	}
	defer cleanup()
	env := o.F.Env(root)
	sys, err := env.Discover()
	if err != nil {
		return engineError(err)
	}
	p, err := env.PlanFor(sys, req, false)
	if err != nil {
		return engineError(err)
	}
	if err := view.Ticket(o.F.IO.Out, p, sys, view.TicketOptions{Host: sys.Host.Hostname, Cold: o.Cold, Now: time.Now()}); err != nil {
		return WithCode(ExitFailed, err)
	}
	return nil
}
