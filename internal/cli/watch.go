package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/view"
)

func init() { register(newWatchCmd) }

// WatchOptions are the inputs of `raidswap watch`.
type WatchOptions struct {
	F        *Factory
	Interval time.Duration
	Plain    bool
}

func newWatchCmd(f *Factory) *cobra.Command {
	o := &WatchOptions{F: f}
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Follow running rebuilds, one progress bar per array; Ctrl-C detaches",
		Long: `watch shows each array's rebuild with speed and time left; arrays md queues behind
another (resync=DELAYED) show as waiting. It only reads. Ctrl-C detaches: the rebuild goes
on in the kernel, and 'raidswap watch' shows it again. It ends when no array is rebuilding.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runWatch(cmd.Context(), o) },
	}
	cmd.Flags().DurationVar(&o.Interval, "interval", time.Second, "how often to look")
	cmd.Flags().BoolVar(&o.Plain, "plain", false, "print a line when progress changes instead of bars")
	return cmd
}

func runWatch(ctx context.Context, o *WatchOptions) error {
	root, cleanup, err := o.F.DiscoveryRoot()
	if err != nil {
		return WithCode(ExitUnknown, err)
	}
	defer cleanup()
	ctx, stop := stopOnSignals(ctx, o.F.IO.ErrOut, "md goes on rebuilding; `raidswap watch` shows it again")
	defer stop()
	v := view.NewRun(o.F.IO.Out, o.F.IO.Interactive && !o.Plain)
	defer v.Close()
	started := false
	for {
		sys, err := discover.Discover(root)
		if err != nil {
			return WithCode(ExitUnknown, err)
		}
		prog := exec.Progress(sys, nil)
		active := false
		for _, p := range prog {
			if p.State == "rebuilding" || p.State == "waiting" {
				active = true
			}
		}
		if !active {
			if !started {
				fmt.Fprintf(o.F.IO.Out, "no rebuild is running: %s\n", sys.Summary)
			} else {
				v.Rebuild(prog)
				fmt.Fprintln(o.F.IO.Out, "every rebuild has finished")
			}
			return Silent(sys.Verdict.ExitCode())
		}
		started = true
		v.Rebuild(prog)
		if !root.IsLive() {
			// A capture does not move: one picture is all there is.
			return Silent(sys.Verdict.ExitCode())
		}
		select {
		case <-ctx.Done():
			v.Close()
			fmt.Fprintln(o.F.IO.Out, "detached: the rebuild continues in the kernel; `raidswap watch` shows it again")
			return nil
		case <-time.After(o.Interval):
		}
	}
}
