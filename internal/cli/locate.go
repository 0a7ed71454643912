package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
)

func init() { register(newLocateCmd) }

// LocateOptions are the inputs of `raidswap locate`.
type LocateOptions struct {
	F     *Factory
	Disk  string
	Off   bool
	Blink bool
	For   time.Duration
}

func newLocateCmd(f *Factory) *cobra.Command {
	o := &LocateOptions{F: f}
	cmd := &cobra.Command{
		Use:   "locate DISK",
		Short: "Light a disk's bay LED, or blink its activity LED with reads",
		Long: `locate lights the locate LED of the bay holding DISK (a kernel name or a serial), through
the kernel's enclosure interface, NPEM, or ledctl; --off turns it off again.

Where no LED can be driven, --blink makes the disk's own activity LED blink: one second
of reads, one second of rest, until Ctrl-C or --for (at most 2 minutes). It only reads,
and only a whole disk that holds no working md member: never the survivor, nor a disk
that carries the survivor's serial.`,
		Example: `  raidswap locate sdb
  raidswap locate WD-WCC4N1KPB002 --off
  raidswap locate sdb --blink --for 30s`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Disk = args[0]
			return runLocate(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.Off, "off", false, "turn the locate LED off")
	cmd.Flags().BoolVar(&o.Blink, "blink", false, "blink the disk's activity LED with reads instead of lighting a bay LED")
	cmd.Flags().DurationVar(&o.For, "for", identify.BlinkMax, "how long --blink reads (at most 2m)")
	return cmd
}

func runLocate(ctx context.Context, o *LocateOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.Blink && o.Off {
		return WithCode(ExitUsage, errors.New("--blink and --off do not go together"))
	}
	if o.For <= 0 || o.For > identify.BlinkMax {
		return WithCode(ExitUsage, fmt.Errorf("--for %s: a blink lasts more than 0 and at most %s", o.For, identify.BlinkMax))
	}
	root, cleanup, err := o.F.DiscoveryRoot()
	if err != nil {
		return WithCode(ExitUsage, err)
	}
	defer cleanup()
	sys, err := discover.Discover(root)
	if err != nil {
		return WithCode(ExitUnknown, err)
	}
	name, err := locateTarget(sys, root, o.Disk)
	if err != nil {
		return err
	}
	if o.Blink {
		return runBlink(ctx, o, sys, root, name)
	}
	d := sys.Disk(name)
	switch {
	case d == nil || !d.Present:
		return WithCode(ExitUsage, fmt.Errorf("%s is not an attached disk raidswap knows", name))
	case d.BayProblem != "":
		return WithCode(ExitRefused, fmt.Errorf("refusing to light an LED for %s: its bay is unknown: %s", d.Label(), d.BayProblem))
	case d.Bay == nil:
		return WithCode(ExitFailed, fmt.Errorf("no enclosure, NPEM or ledctl LED is known for %s's bay; `raidswap locate %s --blink` blinks its activity LED instead", d.Label(), d.Name))
	case !root.IsLive():
		return WithCode(ExitUsage, errors.New("LEDs are driven on the live system only, not under --root"))
	}
	state := map[bool]string{true: "on", false: "off"}[!o.Off]
	if err := identify.SetLED(ctx, root, o.F.Runner(), d.Bay, identify.LampLocate, !o.Off, d.Name, d.Label()); err != nil {
		return WithCode(ExitFailed, err)
	}
	fmt.Fprintf(o.F.IO.Out, "locate LED of %s (%s): %s\n", d.Bay.Label(), d.Label(), state)
	return nil
}

// locateTarget resolves DISK to a whole disk's kernel name and refuses anything else: a
// partition, an md array, a device-mapper device, an unknown name.
func locateTarget(sys *discover.System, root *host.Root, arg string) (string, error) {
	name := strings.TrimPrefix(arg, "/dev/")
	if d := sys.DiskBySerial(arg); d != nil {
		name = d.Name
	}
	for _, d := range sys.Disks {
		for _, p := range d.Partitions {
			if p == name {
				return "", WithCode(ExitRefused, fmt.Errorf("refusing %s: it is a partition of %s, not a whole disk", name, d.Label()))
			}
		}
	}
	switch {
	case strings.HasPrefix(name, "md") && (sys.Array(name) != nil || root.Exists("/sys/block/"+name+"/md")):
		return "", WithCode(ExitRefused, fmt.Errorf("refusing %s: it is an md array, not a disk", name))
	case strings.HasPrefix(name, "dm-"):
		return "", WithCode(ExitRefused, fmt.Errorf("refusing %s: it is a device-mapper device, not a disk", name))
	case strings.ContainsAny(name, "/ ") || name == "" || name == "." || name == "..":
		return "", WithCode(ExitUsage, fmt.Errorf("%q is not a disk's kernel name or serial", arg))
	case !root.Exists("/sys/block/" + name):
		if root.Exists("/sys/class/block/" + name + "/partition") {
			return "", WithCode(ExitRefused, fmt.Errorf("refusing %s: it is a partition, not a whole disk", name))
		}
		return "", WithCode(ExitUsage, fmt.Errorf("%s: no such disk (`raidswap status` lists the disks)", arg))
	}
	return name, nil
}

// blinkRefusal is why a disk may not blink: it holds a working md member (it is a survivor
// or healthy), or it carries the serial of a disk that does.
func blinkRefusal(sys *discover.System, root *host.Root, name string) error {
	serial := identify.Serial(root, name)
	if d := sys.Disk(name); d != nil && d.Serial != "" {
		serial = d.Serial
	}
	for _, a := range sys.Arrays {
		for _, m := range a.Members {
			if m.Disk == nil || m.Device == nil || (m.State != discover.MemberInSync && m.State != discover.MemberRebuilding) {
				continue
			}
			holder := sys.Disk(*m.Disk)
			switch {
			case *m.Disk == name:
				return fmt.Errorf("refusing to blink %s: it holds %s member %s (%s); only a failed disk blinks, never a survivor", name, a.Name, *m.Device, m.State)
			case serial != "" && holder != nil && holder.Serial == serial:
				return fmt.Errorf("refusing to blink %s: it carries serial %s, the serial of %s, which holds %s member %s (%s): the two cannot be told apart by serial", name, serial, holder.Name, a.Name, *m.Device, m.State)
			}
		}
	}
	return nil
}

func runBlink(ctx context.Context, o *LocateOptions, sys *discover.System, root *host.Root, name string) error {
	if err := blinkRefusal(sys, root, name); err != nil {
		return WithCode(ExitRefused, err)
	}
	if !root.IsLive() {
		return WithCode(ExitUsage, errors.New("--blink reads a disk of the live system, not under --root"))
	}
	label := name
	if s := identify.Serial(root, name); s != "" {
		label = name + " (" + s + ")"
	}
	ctx, stop := stopOnSignals(ctx, o.F.IO.ErrOut, "the blinking stopped")
	defer stop()
	fmt.Fprintf(o.F.IO.Out, "blinking %s's activity LED: 1 s of reads, 1 s of rest, for %s or until Ctrl-C; pull the disk whose LED blinks in this rhythm, after matching its label\n", label, o.For)
	start := time.Now()
	n, err := identify.Blink(ctx, root, name, o.For, nil)
	if err != nil {
		return WithCode(ExitFailed, err)
	}
	fmt.Fprintf(o.F.IO.Out, "stopped after %s: read %d MiB from %s\n", time.Since(start).Round(100*time.Millisecond), n>>20, label)
	return nil
}
