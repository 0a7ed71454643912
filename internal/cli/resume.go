package cli

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
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
		Use:   "resume [--new SERIAL]",
		Short: "Continue an interrupted replacement from its journal",
		Long: `resume finds the journal of the replacement that did not finish (an ssh drop, Ctrl-C,
kill -9 or a power cut), reads the plan it carries, and applies it again: each step whose
result already holds on the live system is skipped, the others run with their checks.
The plan's fingerprint is not compared again (the run itself changed the system); the
steps' preconditions guard each write instead.

When the new disk an earlier run chose was refused (too small, say) and swapped before
anything was written to it, resume waits for the disk now in the bay. --new SERIAL names
the new disk when the earlier one cannot come back; 'raidswap abort' closes the run instead.`,
		Example: `  raidswap resume
  raidswap resume --new WD-WX42D8`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lock, err := takeLock(o.F, &o.Engine)
			if err != nil {
				return err
			}
			defer lock.Release()
			p, _, err := unfinishedPlan(o.F, o.Engine.JournalDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(o.F.IO.Out, "resuming plan %s: %s\n", p.ID(), p.Disks.Failed.Label())
			o.Engine.NewSerial = o.New
			return applyPlan(cmd.Context(), o.F, p, &o.Engine, lock, false)
		},
	}
	cmd.Flags().StringVar(&o.New, "new", "", "the new disk's `SERIAL`, when it is not the one an earlier run chose")
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
			lock, err := takeLock(o.F, &o.Engine)
			if err != nil {
				return err
			}
			defer lock.Release()
			p, path, err := unfinishedPlan(o.F, o.Engine.JournalDir)
			if err != nil {
				return err
			}
			said, err := exec.Abort(path, exec.ProcSpeed{Root: o.F.Root()})
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

// unfinishedPlan reads the plan of the one unfinished journal, and the journal's path.
func unfinishedPlan(f *Factory, dir string) (*plan.Plan, string, error) {
	paths, err := journal.Unfinished(dir)
	if err != nil {
		return nil, "", WithCode(ExitFailed, err)
	}
	switch len(paths) {
	case 0:
		return nil, "", WithCode(ExitRefused, fmt.Errorf("nothing to resume: no unfinished journal in %s", dir))
	case 1:
	default:
		return nil, "", WithCode(ExitRefused, fmt.Errorf("more than one unfinished journal in %s (%v): raidswap runs one replacement at a time; `raidswap abort` closes the newest", dir, paths))
	}
	recs, err := journal.Load(paths[0])
	if err != nil {
		return nil, "", WithCode(ExitFailed, err)
	}
	if len(recs) == 0 || recs[0].Event != journal.EventPlan || len(recs[0].Plan) == 0 {
		return nil, "", WithCode(ExitRefused, errors.New(paths[0]+": the journal does not start with its plan"))
	}
	key, err := f.PlanKey(true)
	if err != nil {
		return nil, "", WithCode(ExitRefused, err)
	}
	p, err := plan.Read(bytes.NewReader(recs[0].Plan), key)
	if err != nil {
		return nil, "", engineError(err)
	}
	return p, paths[0], nil
}
