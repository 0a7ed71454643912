package cli

import (
	"github.com/spf13/cobra"
)

func init() { register(newReplaceCmd) }

// ReplaceOptions are the inputs of `raidswap replace`.
type ReplaceOptions struct {
	F       *Factory
	Request RequestOptions
	Engine  EngineOptions
}

func newReplaceCmd(f *Factory) *cobra.Command {
	o := &ReplaceOptions{F: f}
	cmd := &cobra.Command{
		Use:   "replace [--failed SERIAL|DEV] [--new SERIAL|DEV] [--yes]",
		Short: "Build the replacement plan and carry it out (for scripts: with --yes)",
		Long: `replace builds the same plan 'raidswap --plan' prints and applies it at once: detach the
failed disk from every array, wait for it to be pulled and for the new disk, clone the
partition table, add the new members smallest array first, recreate swap, install the
bootloader on every disk, wait for the rebuild and verify. Without a terminal, --yes is
required. An interrupted run continues with 'raidswap resume'.`,
		Example: `  raidswap replace --failed WD-WCC4N1KPB002 --new WD-WX42D8 --yes
  raidswap replace --replace --failed WD-WCC4N1KPB002 --new WD-WX42D8 --yes   # disk still works
  raidswap replace --re-add --failed WD-WCC4N1KPB002 --yes                    # same disk came back`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			refused := func(err error) error { return sayNext(o.F.IO.Out, o.F.IO.ErrOut, err, nextAfterRun(err, "", nil)) }
			env, lock, err := actingEnv(o.F, &o.Engine)
			if err != nil {
				return refused(err)
			}
			defer lock.Release()
			req, err := o.Request.request()
			if err != nil {
				return refused(WithCode(ExitUsage, err))
			}
			p, err := planWith(env, req, true)
			if err != nil {
				return refused(err)
			}
			return applyPlan(cmd.Context(), o.F, env, p, &o.Engine, lock, "", nil)
		},
	}
	addRequestFlags(cmd.Flags(), &o.Request)
	addEngineFlags(cmd, &o.Engine)
	return cmd
}
