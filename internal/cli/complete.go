package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/drill"
	"github.com/raidswap/raidswap/partition"
)

// Shell completion (cobra's `__complete`, which the bash and zsh scripts of `raidswap
// completion` call). Disk serials come from discovery without SMART: it reads sysfs, udev's
// database and the inventory, runs no command and touches no device, so pressing Tab stays
// cheap. A completion never fails: when discovery does, it offers nothing.

// Completion flags, by flag name, on whatever command carries them: the request's --failed
// and --new (raidswap, plan, replace) and resume's --new share one meaning each.
var diskFlagCompletions = map[string]func(discover.Disk) bool{
	"failed": failedCandidate,
	"new":    newCandidate,
}

// registerCompletions wires the completion functions into the command tree.
func registerCompletions(f *Factory, root *cobra.Command) {
	walk(root, func(c *cobra.Command) {
		for name, keep := range diskFlagCompletions {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, completeSerials(f, keep))
			}
		}
		switch c.Name() {
		case "locate":
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return completeSerials(f, presentDisk)(cmd, args, "")
			}
		case "drill":
			if c.Flags().Lookup("scenario") != nil {
				_ = c.RegisterFlagCompletionFunc("scenario", completeScenarios)
			}
		}
	})
}

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// completeSerials offers the serials of the disks keep accepts, each described by its
// kernel name, model and state so the operator sees which disk a serial is.
func completeSerials(f *Factory, keep func(discover.Disk) bool) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return diskSerials(f, keep), cobra.ShellCompDirectiveNoFileComp
	}
}

// diskSerials is discovery's disks that keep accepts, as "SERIAL\tdescription"; nil when
// discovery fails.
func diskSerials(f *Factory, keep func(discover.Disk) bool) (out []string) {
	defer func() {
		// Untrusted sysfs or a broken capture must not turn Tab into a crash.
		if recover() != nil {
			out = nil
		}
	}()
	root, cleanup, err := f.DiscoveryRoot()
	if err != nil {
		return nil
	}
	defer cleanup()
	sys, err := discover.DiscoverWith(root, discover.Options{})
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	for _, d := range sys.Disks {
		// A serial with a tab, newline or space would break the shell's list, and a serial
		// shared or unprintable names no one disk (discover.IdentityProblem).
		if d.Serial == "" || d.IdentityProblem != "" || d.Drill != "" || strings.ContainsAny(d.Serial, " \t\r\n") || seen[d.Serial] || !keep(d) {
			continue
		}
		seen[d.Serial] = true
		out = append(out, d.Serial+"\t"+describeDisk(d))
	}
	return out
}

func describeDisk(d discover.Disk) string {
	parts := []string{d.Name}
	if d.Model != "" {
		parts = append(parts, d.Model)
	}
	parts = append(parts, strings.ReplaceAll(string(d.Verdict), "_", " "))
	return strings.Join(parts, ", ")
}

// failedCandidate: a disk that holds (or held, as md remembers) members of an array — the
// only disks a replacement can take out.
func failedCandidate(d discover.Disk) bool { return len(d.Members) > 0 }

// newCandidate: a disk that is here and not in use, by the one in-use rule the plan's and
// the executor's new-disk check apply (partition.InUse: md member, mounted, swap, holder).
func newCandidate(d discover.Disk) bool {
	return d.Present && len(d.Members) == 0 && partition.InUse(d.Uses()...) == ""
}

// presentDisk: a disk locate can find a bay or an activity LED for.
func presentDisk(d discover.Disk) bool { return d.Present }

// completeScenarios offers the drill's scenarios, from its own table, and "all".
func completeScenarios(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, s := range drill.Scenarios() {
		out = append(out, s.Name+"\t"+s.Teaches)
	}
	return append(out, "all\tevery scenario, in order"), cobra.ShellCompDirectiveNoFileComp
}
