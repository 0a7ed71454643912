package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/paths"
)

func init() { register(newForgetCmd) }

// ForgetOptions are the inputs of `raidswap forget`.
type ForgetOptions struct {
	F     *Factory
	Array string
	Lock  string
}

func newForgetCmd(f *Factory) *cobra.Command {
	o := &ForgetOptions{F: f}
	cmd := &cobra.Command{
		Use:   "forget ARRAY|UUID",
		Short: "Stop reporting an array that was stopped or taken apart on purpose",
		Long: `status remembers every array it has seen (in /var/lib/raidswap/inventory.json), so that an
array whose disks all vanished is still reported, CRITICAL and missing. When an array was
stopped or taken apart on purpose, forget drops what raidswap remembers of it. An array md
still lists (active or inactive) is not forgotten: stop it first.`,
		Example: `  raidswap forget md2
  raidswap forget 3f1c2a9e:5b7d8e01:22c4a6f3:9e0b1d57`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Array = args[0]
			return runForget(o)
		},
	}
	cmd.Flags().StringVar(&o.Lock, "lock", paths.Host().Lock, "the lock file that keeps two raidswaps apart")
	_ = cmd.Flags().MarkHidden("lock")
	return cmd
}

func runForget(o *ForgetOptions) error {
	_, lock, err := actingEnv(o.F, &EngineOptions{LockPath: o.Lock})
	if err != nil {
		return err
	}
	defer lock.Release()
	root := o.F.Root()
	sys, err := discover.Discover(root)
	if err != nil {
		return WithCode(ExitFailed, err)
	}
	name := strings.TrimPrefix(o.Array, "/dev/")
	var a *discover.Array
	for i := range sys.Arrays {
		if sys.Arrays[i].Name == name || sys.Arrays[i].UUID == o.Array {
			a = &sys.Arrays[i]
		}
	}
	switch {
	case a == nil:
		return WithCode(ExitUsage, fmt.Errorf("%s: no array of that name or UUID is listed or remembered (`raidswap status` lists them)", o.Array))
	case a.State != discover.ArrayMissing:
		return WithCode(ExitRefused, fmt.Errorf("refusing to forget %s (uuid %s): md lists it (%s); stop it first (mdadm --stop /dev/%s)", a.Name, a.UUID, a.State, a.Name))
	case sys.Inventory == nil:
		return WithCode(ExitFailed, errors.New("no inventory to forget it from"))
	}
	n := sys.Inventory.Forget(a.UUID)
	if err := sys.Inventory.Save("/"); err != nil {
		return WithCode(ExitFailed, err)
	}
	fmt.Fprintf(o.F.IO.Out, "forgot %s (uuid %s): %d remembered slot(s) dropped\n", a.Name, a.UUID, n)
	return nil
}
