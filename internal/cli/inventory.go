package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/event"
	"github.com/raidswap/raidswap/internal/inventory"
)

func init() { register(newInventoryCmd) }

// InventoryOptions are the inputs of `raidswap inventory save`.
type InventoryOptions struct {
	F   *Factory
	Now func() time.Time
	// Textfile, when set, is also written with the metrics of `status --format prometheus`
	// (atomically, as the event hook writes it).
	Textfile string
}

func newInventoryCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "Remember which disk holds which array slot, so a vanished disk is still named",
		Long: `The inventory (/var/lib/raidswap/inventory.json) records, for every present disk with a
serial, its model, WWN, by-id and by-path names, size and the array slots it holds. Once a
disk has vanished, the kernel, udev and md have forgotten it; status and plans name it from
the inventory. status keeps it current when it runs; "inventory save" does it on purpose,
from the systemd timer in contrib/systemd (raidswap-inventory.timer) or the mdadm event hook.`,
		Args: cobra.NoArgs,
	}
	o := &InventoryOptions{F: f, Now: time.Now}
	save := &cobra.Command{
		Use:   "save",
		Short: "Discover the system and save the inventory now",
		Long: `save discovers the live system (read-only) and writes the inventory atomically. A disk
recorded before keeps the slots it held in arrays it is no longer part of, so that a failed
or pulled disk is still named. --textfile also writes the Prometheus textfile from the same
discovery (the timer's backstop to the mdadm event hook, which writes it on every event).
With --root DIR it reads DIR and writes below DIR (a test tree); a capture file is refused,
since nothing written into it would last.`,
		Example: `  raidswap inventory save
  raidswap inventory save --textfile /var/lib/prometheus/node-exporter/raidswap.prom
  systemctl enable --now raidswap-inventory.timer`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runInventorySave(o) },
	}
	save.Flags().StringVar(&o.Textfile, "textfile", "", "also write the metrics of status --format prometheus to this `file`, atomically")
	cmd.AddCommand(save)
	return cmd
}

func runInventorySave(o *InventoryOptions) error {
	dir := "/"
	if !o.F.Live() {
		fi, err := os.Stat(o.F.RootDir)
		if err != nil {
			return WithCode(ExitUsage, fmt.Errorf("--root %s: %w", o.F.RootDir, err))
		}
		if !fi.IsDir() {
			return WithCode(ExitUsage, fmt.Errorf("--root %s: inventory save writes into the root it reads; a capture file is only read", o.F.RootDir))
		}
		dir = o.F.RootDir
	}
	root := o.F.Root()
	sys, err := discover.Discover(root)
	if err != nil {
		return WithCode(ExitUnknown, err)
	}
	if sys.Verdict == discover.Unknown && len(sys.Arrays) == 0 && len(sys.Disks) == 0 {
		return WithCode(ExitUnknown, errors.New("nothing to remember: "+sys.Summary))
	}
	if o.Textfile != "" {
		if err := event.WriteTextfile(root.Path(o.Textfile), sys); err != nil {
			return WithCode(ExitFailed, err)
		}
	}
	inv, changed := sys.Remember(o.Now())
	if err := inv.Save(dir); err != nil {
		return WithCode(ExitFailed, err)
	}
	slots := 0
	for _, e := range inv.Disks {
		slots += len(e.Members)
	}
	what := "unchanged"
	if changed {
		what = "updated"
	}
	fmt.Fprintf(o.F.IO.Out, "inventory %s: %d disk(s), %d array slot(s) remembered in %s\n",
		what, len(inv.Disks), slots, filepath.Join(dir, inventory.Path))
	return nil
}
