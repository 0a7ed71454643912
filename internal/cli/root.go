package cli

import (
	"errors"
	"fmt"
	"strings"

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
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ec *ExitCodeError
	if errors.As(err, &ec) && ec.Err == nil {
		return ec.Code
	}
	fmt.Fprintln(f.IO.ErrOut, "raidswap:", err)
	if errors.As(err, &ec) {
		return ec.Code
	}
	if isUsageError(err) {
		return ExitUsage
	}
	return exitCode(err)
}

func isUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires ", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
