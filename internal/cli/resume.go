package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/view"
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
kill -9 or a power cut), reads the plan it carries, lists each step as done, next or to do
(the new disk by its device name once the journal has chosen it), and applies it again:
each step whose result already holds on the live system is skipped, the others run with
their checks.
The plan's fingerprint is not compared again (the run itself changed the system); the
steps' preconditions guard each write instead. It asks you to type the last 4 characters
of the serial of a disk that is present: the new disk once the run has chosen it, or when
the failed disk has gone the one disk that can be the new one (after a swap with the power
off), else the disk coming out (as on its label); --yes stands for that (and is required
without a terminal).

When the new disk an earlier run chose was refused (too small, say) and swapped before
anything was written to it, resume waits for the disk now in the bay. --new SERIAL names
the new disk when the earlier one cannot come back; 'raidswap abort' closes the run instead.`,
		Example: `  raidswap resume
  raidswap resume --new WD-WX42D8 --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			refused := func(err error) error { return sayNext(o.F.IO.Out, o.F.IO.ErrOut, err, nextAfterRun(err, "", nil)) }
			env, lock, err := actingEnv(o.F, &o.Engine)
			if err != nil {
				return refused(err)
			}
			defer lock.Release()
			p, path, err := env.Unfinished()
			if err != nil {
				return refused(engineError(err))
			}
			confirm, err := showResume(o.F.IO.Out, env, p, path, o.New)
			if err != nil {
				return refused(WithCode(ExitFailed, err))
			}
			o.Engine.NewSerial = o.New
			return applyPlan(cmd.Context(), o.F, env, p, &o.Engine, lock, path, confirm)
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
			ended := func(err error) error { return sayNext(o.F.IO.Out, o.F.IO.ErrOut, err, nextAfterAbort(err)) }
			env, lock, err := actingEnv(o.F, &o.Engine)
			if err != nil {
				return ended(err)
			}
			defer lock.Release()
			p, path, err := env.Unfinished()
			if err != nil {
				return ended(engineError(err))
			}
			said, err := env.Abort(path)
			for _, s := range said {
				fmt.Fprintln(o.F.IO.Out, s)
			}
			if err != nil {
				return ended(WithCode(ExitFailed, err))
			}
			fmt.Fprintf(o.F.IO.Out, "plan %s (%s) aborted; its journal %s is closed.\n", p.ID(), p.Disks.Failed.Label(), path)
			return ended(nil)
		},
	}
	addEngineFlags(cmd, &o.Engine)
	return cmd
}

// showResume shows what the unfinished run did and what remains, with the new disk by its
// kernel name once the journal has chosen it and it is attached (or named now with --new),
// and returns the disk the operator confirms with: that new disk when present, else the disk
// coming out.
func showResume(w io.Writer, env *engine.Env, p *plan.Plan, path, named string) (*confirmDisk, error) {
	recs, err := journal.Load(path)
	if err != nil {
		return nil, err
	}
	pr := exec.ReadProgress(p, recs, named)
	v := view.ResumeView{Plan: p, Journal: path, Progress: pr}
	confirm := &confirmDisk{Serial: p.Disks.Failed.Serial, Device: p.Disks.Failed.Device, Why: "the disk coming out", Last4: true}
	if sys, err := env.Discover(); err == nil {
		confirm = resumeConfirmDisk(p, sys, pr.NewSerial, confirm)
		if pr.NewSerial != "" && confirm.Serial == pr.NewSerial {
			v.NewDevice = confirm.Device
		}
	}
	return confirm, view.ResumeText(w, v)
}

// resumeConfirmDisk is the present disk a resume confirms with: the new disk the journal
// chose; before it chose one, the one disk that can be the new disk when the failed disk has
// gone (a swap with the power off: the failed disk is out of the chassis, the new one in);
// else the disk coming out, as on its label (def).
func resumeConfirmDisk(p *plan.Plan, sys *discover.System, chosen string, def *confirmDisk) *confirmDisk {
	if chosen != "" {
		if d := sys.DiskBySerial(chosen); d != nil && d.Present {
			return &confirmDisk{Serial: d.Serial, Device: d.Name, Why: "the new disk", Last4: true}
		}
		return def
	}
	if d := sys.DiskBySerial(p.Disks.Failed.Serial); p.Disks.Failed.Serial != "" && d != nil && d.Present {
		return def
	}
	if c := exec.NewDiskCandidates(p, sys); len(c) == 1 {
		return &confirmDisk{Serial: c[0].Serial, Device: c[0].Name, Why: "the new disk", Last4: true}
	}
	return def
}
