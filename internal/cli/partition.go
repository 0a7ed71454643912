package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/paths"
	"github.com/raidswap/raidswap/partition"
)

func init() { register(newPartitionCmd) }

func newPartitionCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "partition",
		Short: "Work with partition tables",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newPartitionCloneCmd(f))
	return cmd
}

// PartitionCloneOptions are the inputs of `raidswap partition clone`.
type PartitionCloneOptions struct {
	From, To              string
	DryRun                bool
	JSON                  bool
	Wipe                  bool
	AllowSectorSizeChange bool
	FromSectorSize        int
	ToSectorSize          int
	ToPhysicalSectorSize  int
	BackupDir             string
	// AddESP is --add-esp N:BYTES: an EFI System Partition the clone adds (GPT only).
	AddESP string
	// LockPath is the lock every writing raidswap takes (tests move it).
	LockPath string
}

func newPartitionCloneCmd(f *Factory) *cobra.Command {
	o := &PartitionCloneOptions{}
	cmd := &cobra.Command{
		Use:   "clone --from SRC --to DST",
		Short: "Copy a disk's partition table onto a new disk, aligned for the new disk",
		Long: `Copy the partition table of SRC onto DST, which may be block devices or image files.

Partitions keep their byte offsets where those are aligned for DST; a start that is not on
one of DST's physical sectors moves to the next boundary (1 MiB when SRC is 1 MiB-aligned),
sizes never shrink, and later partitions shift as needed. Every partition holding an md
member is checked against what the member needs (data offset + component size, from its
superblock); a DST too small for that is refused. GPT gets a new disk GUID and new partition
GUIDs, DOS tables a new disk signature.

DST must not be in use (md member, mounted, held, swap) and must not hold data unless --wipe
is given. Both tables are backed up under --backup-dir before anything is written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fl := cmd.Flags()
			if !fl.Changed("from-sector-size") {
				o.FromSectorSize = 0
			}
			if !fl.Changed("to-sector-size") {
				o.ToSectorSize = 0
			}
			return runPartitionClone(f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.From, "from", "", "source disk or image `SRC`")
	fl.StringVar(&o.To, "to", "", "target disk or image `DST`")
	fl.BoolVar(&o.DryRun, "dry-run", false, "print the old and new layout side by side and write nothing")
	fl.BoolVar(&o.JSON, "json", false, "print the result as JSON")
	fl.BoolVar(&o.Wipe, "wipe", false, "destroy a partition table, md superblock or file system already on DST")
	fl.BoolVar(&o.AllowSectorSizeChange, "allow-sector-size-change", false, "let a DST with larger logical sectors join arrays whose members have smaller ones")
	fl.IntVar(&o.FromSectorSize, "from-sector-size", 512, "logical sector size of an image file SRC")
	fl.IntVar(&o.ToSectorSize, "to-sector-size", 512, "logical sector size of an image file DST")
	fl.IntVar(&o.ToPhysicalSectorSize, "to-physical-sector-size", 0, "physical sector size of an image file DST (default: its logical sector size)")
	fl.StringVar(&o.AddESP, "add-esp", "", "add an EFI System Partition `N:BYTES` (number N, size BYTES) in DST's free space (GPT only): the ESP the failed disk alone had")
	fl.StringVar(&o.BackupDir, "backup-dir", paths.Host().Backups, "where to back up both tables")
	fl.StringVar(&o.LockPath, "lock", paths.Host().Lock, "the lock file that keeps two raidswaps apart")
	_ = fl.MarkHidden("lock")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

// partitionCloneJSON is the --json document.
type partitionCloneJSON struct {
	Version int `json:"version"`
	*partition.CloneResult
	Error *partitionCloneError `json:"error,omitempty"`
}

type partitionCloneError struct {
	Message   string            `json:"message"`
	Refusal   partition.Refusal `json:"refusal,omitempty"`
	Shortfall int64             `json:"shortfall_bytes,omitempty"`
}

func runPartitionClone(f *Factory, o *PartitionCloneOptions) error {
	if !f.Live() && !o.DryRun {
		return WithCode(ExitUsage, errors.New("partition clone writes to disks and --root reads a capture; add --dry-run"))
	}
	// Before any other check: a second raidswap is told so, not that its disk looks busy
	// (the first one may be writing it).
	if !o.DryRun {
		lock, err := exec.AcquireLock(o.LockPath)
		if err != nil {
			return WithCode(ExitRefused, err)
		}
		defer lock.Release()
	}
	add, err := partition.ParseAddESP(o.AddESP)
	if err != nil {
		return WithCode(ExitUsage, err)
	}
	res, err := partition.Clone(f.Root(), partition.CloneRequest{
		Source: o.From, Target: o.To, Runner: f.Runner(),
		SourceSectorSize: o.FromSectorSize, TargetSectorSize: o.ToSectorSize, TargetPhysicalSectorSize: o.ToPhysicalSectorSize,
		DryRun: o.DryRun, Wipe: o.Wipe, AllowSectorSizeChange: o.AllowSectorSizeChange,
		BackupDir: o.BackupDir, Add: add,
	})
	code := ExitFailed
	var re *partition.RefusedError
	if errors.As(err, &re) {
		code = ExitRefused
	}
	if o.JSON {
		doc := partitionCloneJSON{Version: 1, CloneResult: res}
		if err != nil {
			doc.Error = &partitionCloneError{Message: err.Error()}
			if re != nil {
				doc.Error.Refusal, doc.Error.Shortfall = re.Kind, re.Shortfall
			}
		}
		enc := json.NewEncoder(f.IO.Out)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(doc); jerr != nil {
			return fmt.Errorf("writing JSON: %w", jerr)
		}
		if err != nil {
			return Silent(code)
		}
		return nil
	}
	renderPartitionClone(f.IO.Out, res)
	if err != nil {
		return WithCode(code, err)
	}
	return nil
}

func renderPartitionClone(w io.Writer, res *partition.CloneResult) {
	if res == nil {
		return
	}
	fmt.Fprintf(w, "From %s to %s\n", res.Source, res.Target)
	if res.Layout != nil && res.SourceTable != nil {
		partition.RenderComparison(w, *res.SourceTable, *res.Layout, res.Moves)
	}
	for _, s := range res.Existing {
		fmt.Fprintf(w, "on the target: %s\n", s)
	}
	if res.DryRun && res.Layout != nil {
		fmt.Fprintln(w, "\nDry run: nothing was written.")
		return
	}
	for _, b := range res.Backups {
		fmt.Fprintf(w, "backed up a table to %s\n", b)
	}
	if res.Write != nil {
		fmt.Fprintf(w, "wiped %d stale regions and wrote %d table regions\n", len(res.Write.Wiped), len(res.Write.Written))
	}
	if res.Kernel != nil {
		fmt.Fprintf(w, "the kernel now has %d partitions (via %s)\n", len(res.Kernel.Partitions), res.Kernel.Method)
	}
	if res.Verified {
		fmt.Fprintln(w, "verified: the table reads back as planned")
	}
}
