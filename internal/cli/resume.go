package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() { register(newResumeCmd); register(newAbortCmd) }

// ResumeOptions are the inputs of `raidswap resume`.
type ResumeOptions struct {
	F      *Factory
	Engine EngineOptions
	New    string
}

func newResumeCmd(f *Factory) *cobra.Command {
	o := &ResumeOptions{F: f}
	cmd := &cobra.Command{
		Use:   "resume [--new SERIAL] [--yes]",
		Short: "Continue an interrupted replacement from its journal",
		Long: `resume finds the journal of the replacement that did not finish (an ssh drop, Ctrl-C,
kill -9 or a power cut), reads the plan it carries, and applies it again: each step whose
result already holds on the live system is skipped, the others run with their checks.
The plan's fingerprint is not compared again (the run itself changed the system); the
steps' preconditions guard each write instead. Like apply, it asks you to type the serial
of the disk coming out; --yes stands for that (and is required without a terminal).

When the new disk an earlier run chose was refused (too small, say) and swapped before
anything was written to it, resume waits for the disk now in the bay. --new SERIAL names
the new disk when the earlier one cannot come back; 'raidswap abort' closes the run instead.`,
		Example: `  raidswap resume
  raidswap resume --new WD-WX42D8 --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, lock, err := actingEnv(o.F, &o.Engine)
			if err != nil {
				return err
			}
			defer lock.Release()
			p, _, err := env.Unfinished()
			if err != nil {
				return engineError(err)
			}
			fmt.Fprintf(o.F.IO.Out, "resuming plan %s: %s\n", p.ID(), p.Disks.Failed.Label())
			o.Engine.NewSerial = o.New
			return applyPlan(cmd.Context(), o.F, env, p, &o.Engine, lock)
		},
	}
	cmd.Flags().StringVar(&o.New, "new", "", "the new disk's `SERIAL`, when it is not the one an earlier run chose")
	cmd.Flags().BoolVar(&o.Engine.AcceptNewDiskSMART, "accept-new-disk-smart", false, "take the new disk although its SMART reports reallocated, pending or uncorrectable sectors (journalled)")
	addEngineFlags(cmd, &o.Engine)
	return cmd
}

// AbortOptions are the inputs of `raidswap abort`.
type AbortOptions struct {
	F      *Factory
	Engine EngineOptions
}

func newAbortCmd(f *Factory) *cobra.Command {
	o := &AbortOptions{F: f}
	cmd := &cobra.Command{
		Use:   "abort",
		Short: "Close an unfinished replacement's journal without finishing it",
		Long: `abort closes the journal of the replacement that did not finish, so that a new plan can
be built and applied. It changes no array and no disk: whatever the run did stays done (a
rebuild it started goes on in the kernel), and 'raidswap status' shows where things stand.
md's rebuild speed limits, if the run raised them, are set back to what they were.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, lock, err := actingEnv(o.F, &o.Engine)
			if err != nil {
				return err
			}
			defer lock.Release()
			p, path, err := env.Unfinished()
			if err != nil {
				return engineError(err)
			}
			said, err := env.Abort(path)
			for _, s := range said {
				fmt.Fprintln(o.F.IO.Out, s)
			}
			if err != nil {
				return WithCode(ExitFailed, err)
			}
			fmt.Fprintf(o.F.IO.Out, "plan %s (%s) aborted; its journal %s is closed. `raidswap status` shows the arrays as they are now.\n",
				p.ID(), p.Disks.Failed.Label(), path)
			return nil
		},
	}
	addEngineFlags(cmd, &o.Engine)
	return cmd
}
