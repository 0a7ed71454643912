package cli

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/plan"
)

func init() { register(newResumeCmd) }

// ResumeOptions are the inputs of `raidswap resume`.
type ResumeOptions struct {
	F      *Factory
	Engine EngineOptions
}

func newResumeCmd(f *Factory) *cobra.Command {
	o := &ResumeOptions{F: f}
	cmd := &cobra.Command{
		Use:   "resume",
		Short: "Continue an interrupted replacement from its journal",
		Long: `resume finds the journal of the replacement that did not finish (an ssh drop, Ctrl-C,
kill -9 or a power cut), reads the plan it carries, and applies it again: each step whose
result already holds on the live system is skipped, the others run with their checks.
The plan's fingerprint is not compared again (the run itself changed the system); the
steps' preconditions guard each write instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := unfinishedPlan(o.Engine.JournalDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(o.F.IO.Out, "resuming plan %s: %s\n", p.ID(), p.Disks.Failed.Label())
			return applyPlan(cmd.Context(), o.F, p, &o.Engine, false)
		},
	}
	addEngineFlags(cmd, &o.Engine)
	return cmd
}

// unfinishedPlan reads the plan of the one unfinished journal.
func unfinishedPlan(dir string) (*plan.Plan, error) {
	paths, err := journal.Unfinished(dir)
	if err != nil {
		return nil, WithCode(ExitFailed, err)
	}
	switch len(paths) {
	case 0:
		return nil, WithCode(ExitRefused, fmt.Errorf("nothing to resume: no unfinished journal in %s", dir))
	case 1:
	default:
		return nil, WithCode(ExitRefused, fmt.Errorf("more than one unfinished journal in %s (%v): raidswap runs one replacement at a time; move the stale one away", dir, paths))
	}
	recs, err := journal.Load(paths[0])
	if err != nil {
		return nil, WithCode(ExitFailed, err)
	}
	if len(recs) == 0 || recs[0].Event != journal.EventPlan || len(recs[0].Plan) == 0 {
		return nil, WithCode(ExitRefused, errors.New(paths[0]+": the journal does not start with its plan"))
	}
	p, err := plan.Read(bytes.NewReader(recs[0].Plan))
	if err != nil {
		return nil, engineError(err)
	}
	return p, nil
}
