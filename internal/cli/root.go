package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// Version is set at link time.
var Version = "dev"

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "raidswap",
		Short: "Replace a failed disk in an mdadm RAID1 without endangering the survivor",
		Long: `raidswap takes an operator through replacing a failed disk in an mdadm software
RAID1: it finds the failed member on every array, names the physical disk, checks the
survivor and the new disk, clones the partition table with correct alignment, swaps the
members, follows the rebuild, reinstalls the bootloader on every disk, and keeps a journal
so an interrupted run resumes.`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.PersistentFlags().StringVar(&f.RootDir, "root", "", "read /proc, /sys, /dev and /run under `DIR` (a capture from `raidswap snapshot`); runs no command")
	for _, add := range subcommands {
		root.AddCommand(add(f))
	}
	root.AddCommand(newManCmd(root))
	addRootPlan(f, root)
	registerCompletions(f, root)
	return root
}

// subcommands lists the constructors of raidswap's commands, in help order. Each command's
// file appends itself in an init function so commands stay independent of each other.
var subcommands []func(*Factory) *cobra.Command

func register(c func(*Factory) *cobra.Command) { subcommands = append(subcommands, c) }

// Run executes argv against the given streams and returns the exit code.
func Run(f *Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	// cobra adds its help and completion commands at Execute; added now, their usage errors
	// are typed too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd(args...)
	usageErrorsExit(root)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ec *ExitCodeError
	if errors.As(err, &ec) && ec.Err == nil {
		return ec.Code
	}
	fmt.Fprintln(f.IO.ErrOut, "raidswap:", err)
	return exitCode(err)
}

// usageErrorsExit gives every command line cobra refuses the usage exit code, from where
// cobra finds it rather than from its message text: a flag it cannot parse (the flag error
// function, which subcommands inherit), arguments a command does not take (its Args; the
// root's cobra.NoArgs is also what refuses an unknown command), and a required flag or
// flag group left out (checked with the arguments, before anything runs).
func usageErrorsExit(c *cobra.Command) {
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return WithCode(ExitUsage, err) })
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		args := c.Args
		if args == nil && c.HasParent() {
			// What cobra does for a subcommand without Args (only the root's nil Args
			// refuses unknown commands, and the root has cobra.NoArgs).
			args = cobra.ArbitraryArgs
		}
		if args != nil {
			c.Args = func(c *cobra.Command, a []string) error {
				if err := args(c, a); err != nil {
					return WithCode(ExitUsage, err)
				}
				if err := c.ValidateRequiredFlags(); err != nil {
					return WithCode(ExitUsage, err)
				}
				if err := c.ValidateFlagGroups(); err != nil {
					return WithCode(ExitUsage, err)
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(c)
}
