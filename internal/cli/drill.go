package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/drill"
	"github.com/raidswap/raidswap/internal/host"
)

func init() { register(newDrillCmd) }

// Exit codes of `raidswap drill` beyond the common ones.
const (
	// ExitNoMD is a kernel without the md driver: the drill runs in the VM harness instead.
	ExitNoMD = 69
	// ExitNotRoot is a drill started without root.
	ExitNotRoot = 77
	// ExitTerminated is a drill ended by SIGTERM (128 + 15).
	ExitTerminated = 143
)

// drillGrace is how long a drill has after a stop signal to tear its lab down (unmount,
// stop its arrays, detach its loops) before it is ended anyway.
const drillGrace = 60 * time.Second

// DrillOptions are the inputs of `raidswap drill`.
type DrillOptions struct {
	F        *Factory
	Scenario string
	Auto     bool
	LikeHost bool
	Keep     bool
	JSON     bool
	Cleanup  bool
	Dir      string
	Plain    bool
	// WaitTimeout bounds each of the engine's waits inside the drill.
	WaitTimeout time.Duration
	// IsRoot says whether this process may act (os.Geteuid() == 0 when nil; tests set it).
	IsRoot func() bool
	// Root is the live system to read (f.Root() when nil; tests give a fixture tree).
	Root *host.Root
}

// DefaultDrillDir is where labs are made.
const DefaultDrillDir = "/var/lib/raidswap/drill"

func newDrillCmd(f *Factory) *cobra.Command {
	o := &DrillOptions{F: f}
	cmd := &cobra.Command{
		Use:   "drill [--scenario NAME|all] [--auto] [--like-host] [--keep] [--json] [--cleanup]",
		Short: "Rehearse a disk replacement on throw-away loop disks, with nothing at risk",
		Long: `drill builds a RAID1 like a real server's on loop devices over sparse files (by default
the seed's layout: GPT, BIOS boot, /boot on md metadata 1.0, swap, / on md metadata 1.2, GRUB
on both disks, canary files), breaks it as the scenario says, and has you replace the broken
disk with the same wizard and engine as a real replacement. Pulling and inserting disks is
done for you, so the wizard sees them go and come as on real hardware. Everything raidswap
does is confined to the drill's own disks: any other device is refused by the executor.

At the end it verifies the canaries, the arrays, the new disk's partition table and the boot
code on every disk, and prints a score card: time taken, answers given, mistakes refused, and
what the same replacement would cost on this host's real arrays. The lab is torn down on
every exit path (Ctrl-C included); --keep leaves it for inspection and --cleanup removes what
an earlier drill left behind.

Scenarios: ` + strings.Join(drill.Names(), ", ") + `; all runs every one. On a kernel without md (a
development machine), run it inside the VM harness: sudo make drill.`,
		Example: `  sudo raidswap drill
  sudo raidswap drill --scenario all --auto
  sudo raidswap drill --scenario dirty-replacement --keep
  sudo raidswap drill --cleanup`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDrill(cmd.Context(), o) },
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Scenario, "scenario", drill.Default, "the scenario to run, or all")
	fl.BoolVar(&o.Auto, "auto", false, "answer every question as a careful operator would (no terminal needed)")
	fl.BoolVar(&o.LikeHost, "like-host", false, "copy this host's layout (partition types, md metadata, bitmaps, /boot), scaled down")
	fl.BoolVar(&o.Keep, "keep", false, "leave the lab (loop devices, arrays, files) in place for inspection")
	fl.BoolVar(&o.JSON, "json", false, "print the score card as JSON on stdout (the drill's narration goes to stderr)")
	fl.BoolVar(&o.Cleanup, "cleanup", false, "only remove what earlier drills left behind, and say what")
	fl.StringVar(&o.Dir, "dir", DefaultDrillDir, "the `BASE` directory labs are made under")
	fl.BoolVar(&o.Plain, "plain", false, "plain prompts and one line per event instead of progress bars")
	fl.DurationVar(&o.WaitTimeout, "wait-timeout", 2*time.Minute, "give up each wait of the replacement (pull, new disk, rebuild) after this long")
	return cmd
}

// noMD is said on a kernel without md.
const noMD = "this kernel has no md driver (/proc/mdstat is missing), so there is nothing to drill on here; run the drill inside the VM harness instead: `sudo make drill` from raidswap's source tree"

func runDrill(ctx context.Context, o *DrillOptions) error {
	f := o.F
	if !f.Live() {
		return WithCode(ExitUsage, errors.New("--root reads a capture; the drill runs on the live system only"))
	}
	if o.Dir != "" && (!filepath.IsAbs(o.Dir) || strings.ContainsAny(o.Dir, "\n\r")) {
		return WithCode(ExitUsage, fmt.Errorf("--dir %q: the lab base must be an absolute path", o.Dir))
	}
	if !o.Auto && !o.Cleanup && !f.IO.Interactive {
		fmt.Fprintln(f.IO.ErrOut, "raidswap: the drill asks you questions and needs a terminal; without one add --auto")
		return Silent(ExitUsage)
	}
	root := o.Root
	if root == nil {
		root = f.Root()
	}
	isRoot := o.IsRoot
	if isRoot == nil {
		isRoot = func() bool { return os.Geteuid() == 0 }
	}
	if !root.Exists("/proc/mdstat") && isRoot() {
		// md, raid1, loop and dm are modules on most kernels, loaded on first use: a server
		// without arrays has no /proc/mdstat until md is loaded. A kernel without them stays
		// without, and is refused below.
		_, _ = f.Runner().Run(orBackground(ctx), host.Modprobe, "-q", "-a", "md_mod", "raid1", "loop", "dm_mod")
	}
	if !root.Exists("/proc/mdstat") {
		fmt.Fprintln(f.IO.ErrOut, "raidswap: "+noMD)
		return Silent(ExitNoMD)
	}
	if !isRoot() {
		fmt.Fprintln(f.IO.ErrOut, "raidswap: the drill attaches loop devices and builds md arrays, which needs root: sudo raidswap drill")
		return Silent(ExitNotRoot)
	}
	scenarios, err := drill.Select(o.Scenario)
	if err != nil {
		return WithCode(ExitUsage, err)
	}
	// The drill tears its lab down after a stop signal before it ends; a second signal ends
	// it at once, and the next drill (or --cleanup) removes what is left.
	ctx, stop := stopOnSignalsAfter(ctx, f.IO.ErrOut, "`raidswap drill --cleanup` removes what is left of the drill's lab", drillGrace)
	defer stop()
	out := f.IO.Out
	if o.JSON {
		out = f.IO.ErrOut
	}
	runner := f.Runner()
	left, lerr := drill.CleanupLeftovers(ctx, runner, root, o.Dir)
	if left.Count() > 0 || o.Cleanup {
		fmt.Fprintf(out, "[drill] leftovers of earlier drills: %s\n", left.Summary())
	}
	if lerr != nil {
		fmt.Fprintln(f.IO.ErrOut, "raidswap: removing leftovers of earlier drills: "+lerr.Error())
		if o.Cleanup {
			return Silent(ExitFailed)
		}
	}
	if o.Cleanup {
		fmt.Fprintln(out, "Next: `sudo raidswap drill` starts a new drill")
		return nil
	}
	c := drill.Config{Out: out, Width: terminalWidth(), Plain: o.Plain || !f.IO.Interactive || plainTerminal(), Root: root, Runner: runner,
		Version: Version, WaitTimeout: o.WaitTimeout, Keep: o.Keep,
		NewLab: func(ctx context.Context) (drill.Lab, error) { return drill.NewLab(ctx, runner, root, o.Dir) }}
	if self, err := os.Executable(); err == nil {
		c.Self = self
	}
	if o.LikeHost {
		sys, err := discover.Discover(root)
		if err != nil {
			return WithCode(ExitFailed, err)
		}
		if c.Layout, err = likeHost(sys); err != nil {
			return WithCode(ExitRefused, fmt.Errorf("--like-host: %w", err))
		}
	}
	if !o.Auto {
		c.Trainee, c.Enter = f.wizardPrompter(ctx, c.Plain)
	}
	cards := drill.Run(ctx, c, scenarios)
	if o.JSON {
		err = cards.WriteJSON(f.IO.Out)
	} else {
		err = cards.WriteText(f.IO.Out)
	}
	if err != nil {
		return WithCode(ExitFailed, err)
	}
	// The Next line follows the card (on the narration's stream with --json, which keeps
	// stdout one JSON document).
	se := stoppedBy(ctx)
	fmt.Fprintln(out, "Next: "+nextAfterDrill(cards, se != nil, len(scenarios) == len(drill.Scenarios())))
	if se != nil {
		return Silent(se.ExitCode())
	}
	return Silent(cards.ExitCode())
}
