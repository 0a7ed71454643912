package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/simulate"
)

func init() { register(newSimulateCmd) }

// newSimulateCmd is the hidden `raidswap simulate`: it builds test and drill layouts and
// breaks them (package simulate), so VM scripts and drills only need the raidswap binary.
// It destroys data on the disks it is given; it refuses disks that are mounted or in use.
func newSimulateCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "simulate",
		Short:  "Build RAID1 test layouts on scratch disks and inject faults (for tests and drills)",
		Hidden: true,
		Long: `simulate builds the layouts raidswap's tests and drills run against, on scratch disks
or loop devices, and breaks them the ways a real disk fails. It DESTROYS the contents of
the disks it is given, and refuses disks that are mounted, swapped on or held by md/dm.`,
	}
	cmd.AddCommand(newSimulateBuildCmd(f), newSimulateFailCmd(f), newSimulateRemoveCmd(f),
		newSimulateVanishCmd(f), newSimulateKillDMCmd(f), newSimulateCloneCmd(f),
		newSimulateRecoverCmd(f), newSimulatePokeCmd(f))
	return cmd
}

// SimulateBuildOptions are the inputs of `raidswap simulate build`.
type SimulateBuildOptions struct {
	Table     string
	Arrays    []string
	Swap      string
	Bitmap    string
	Canary    bool
	DMMembers bool
	NoWait    bool
}

func newSimulateBuildCmd(f *Factory) *cobra.Command {
	o := &SimulateBuildOptions{}
	cmd := &cobra.Command{
		Use:   "build DISK...",
		Short: "Partition the disks alike and build RAID1 arrays across them (default: the seed layout)",
		Example: `  raidswap simulate build /dev/vda /dev/vdb
  raidswap simulate build --table mbr --canary vda vdb
  raidswap simulate build --array md0:1.0:64M --array md1:1.2:128M --array md2:1.2:rest vda vdb`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, disks []string) error {
			opts, err := o.options()
			if err != nil {
				return WithCode(ExitUsage, err)
			}
			opts.Root = f.Root()
			seed, err := simulate.PlanSeed(disks, opts)
			if err != nil {
				return WithCode(ExitUsage, err)
			}
			if err := seed.Build(cmd.Context(), f.Runner()); err != nil {
				return WithCode(ExitFailed, err)
			}
			for _, a := range seed.Arrays {
				fmt.Fprintf(f.IO.Out, "%s: RAID1 metadata %s, %s on %s\n", a.Device, a.Spec.Metadata, a.Spec.FS, strings.Join(a.Members, " "))
			}
			if len(seed.Swaps) > 0 {
				fmt.Fprintf(f.IO.Out, "swap: %s\n", strings.Join(seed.Swaps, " "))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Table, "table", simulate.GPT, "partition `table`: gpt or mbr")
	fl.StringArrayVar(&o.Arrays, "array", nil, "an array `NAME:METADATA:SIZE[:FS]` (SIZE like 64M, or rest; FS ext4, vfat or none); repeatable, in partition order")
	fl.StringVar(&o.Swap, "swap", "", "swap partition `SIZE` after the first array, or none (default 32M)")
	fl.StringVar(&o.Bitmap, "bitmap", "none", "write-intent `bitmap`: none or internal")
	fl.BoolVar(&o.Canary, "canary", false, "write a CANARY file on each ext4 array")
	fl.BoolVar(&o.DMMembers, "dm", false, "build members on dm linear devices (for kill-dm)")
	fl.BoolVar(&o.NoWait, "no-wait", false, "do not wait for the initial resync")
	return cmd
}

func (o *SimulateBuildOptions) options() (simulate.Options, error) {
	opts := simulate.Options{Table: o.Table, Bitmap: o.Bitmap, Canary: o.Canary, DMMembers: o.DMMembers, NoWait: o.NoWait}
	for _, s := range o.Arrays {
		f := strings.Split(s, ":")
		if len(f) < 3 || len(f) > 4 {
			return opts, fmt.Errorf("--array %q: want NAME:METADATA:SIZE[:FS]", s)
		}
		a := simulate.ArraySpec{Name: f[0], Metadata: f[1]}
		if f[2] != "rest" {
			n, err := parseByteSize(f[2])
			if err != nil {
				return opts, fmt.Errorf("--array %q: %w", s, err)
			}
			a.Size = n
		}
		if len(f) == 4 {
			a.FS = f[3]
		}
		opts.Arrays = append(opts.Arrays, a)
	}
	switch o.Swap {
	case "":
	case "none":
		opts.SwapSize = -1
	default:
		n, err := parseByteSize(o.Swap)
		if err != nil {
			return opts, fmt.Errorf("--swap: %w", err)
		}
		opts.SwapSize = n
	}
	return opts, nil
}

// parseByteSize reads 512, 64K, 64M, 2G, 1T (binary units).
func parseByteSize(s string) (int64, error) {
	mult := int64(1)
	if i := strings.IndexAny(s, "KMGT"); i >= 0 && i == len(s)-1 {
		mult = map[byte]int64{'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}[s[i]]
		s = s[:i]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

func printMembers(f *Factory, verb string, ms []simulate.Member) {
	for _, m := range ms {
		fmt.Fprintf(f.IO.Out, "%s %s in %s\n", verb, m.Device, m.Array)
	}
}

func newSimulateFailCmd(f *Factory) *cobra.Command {
	var disk string
	cmd := &cobra.Command{
		Use:   "fail (--disk DISK | ARRAY MEMBER)",
		Short: "Mark a member faulty (mdadm --fail), or every member on a disk",
		Example: `  raidswap simulate fail md0 vdb2
  raidswap simulate fail --disk vdb`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case disk != "" && len(args) == 0:
				ms, err := simulate.FailDisk(cmd.Context(), f.Runner(), f.Root(), disk)
				printMembers(f, "failed", ms)
				return failed(err)
			case disk == "" && len(args) == 2:
				return failed(simulate.FailMember(cmd.Context(), f.Runner(), args[0], args[1]))
			}
			return WithCode(ExitUsage, fmt.Errorf("give either --disk DISK or ARRAY MEMBER"))
		},
	}
	cmd.Flags().StringVar(&disk, "disk", "", "fail every member on `DISK`")
	return cmd
}

func newSimulateRemoveCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ARRAY MEMBER",
		Short: "Remove a faulty member from its array (mdadm --remove)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return failed(simulate.RemoveMember(cmd.Context(), f.Runner(), args[0], args[1]))
		},
	}
}

func newSimulateVanishCmd(f *Factory) *cobra.Command {
	var how string
	cmd := &cobra.Command{
		Use:   "vanish DISK",
		Short: "Make a disk disappear from the bus like a dead drive, then make md notice",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ms, err := simulate.Vanish(cmd.Context(), f.Runner(), f.Root(), args[0], how)
			printMembers(f, "lost", ms)
			return failed(err)
		},
	}
	cmd.Flags().StringVar(&how, "method", simulate.VanishAuto, "`how`: auto, hotplug (vmtest VM: QMP device_del) or pci-remove")
	return cmd
}

func newSimulateKillDMCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "kill-dm DISK",
		Short: "Make every I/O to a disk's members fail (dm error table; needs build --dm)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ms, err := simulate.KillDM(cmd.Context(), f.Runner(), f.Root(), args[0])
			printMembers(f, "killed", ms)
			return failed(err)
		},
	}
}

func newSimulateCloneCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "clone SRC DST",
		Short: "Copy SRC's GPT to DST with new GUIDs (sgdisk -R, -G)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return failed(simulate.ClonePartitions(cmd.Context(), f.Runner(), f.Root(), args[0], args[1]))
		},
	}
}

func newSimulateRecoverCmd(f *Factory) *cobra.Command {
	var speed int
	cmd := &cobra.Command{
		Use:     "recover ARRAY NEW-MEMBER",
		Short:   "Add a member to a degraded array with the rebuild throttled, so it is caught mid-way",
		Example: `  raidswap simulate recover --speed 500 md1 /dev/vdc4`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return failed(simulate.StartRecovery(cmd.Context(), f.Runner(), f.Root(), args[0], args[1], speed))
		},
	}
	cmd.Flags().IntVar(&speed, "speed", 1000, "rebuild speed limit in `KiB/s`")
	return cmd
}

func newSimulatePokeCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "poke ARRAY",
		Short: "Rewrite the array's first 4 KiB in place so md notices a missing member",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return failed(simulate.Poke(cmd.Context(), f.Runner(), f.Root(), args[0]))
		},
	}
}

func failed(err error) error {
	if err == nil {
		return nil
	}
	return WithCode(ExitFailed, err)
}
