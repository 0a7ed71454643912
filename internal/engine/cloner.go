package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/partition"
)

// PartitionCloner runs package partition's clone and target inspection in-process for the
// plan's check-new-disk and partition-clone steps; the executor holds the lock already.
// Runner runs libblkid's probes (wipefs, blkid).
type PartitionCloner struct {
	Root   *host.Root
	Runner host.Runner
	// BackupDir is where both tables are backed up (paths.Host's when empty).
	BackupDir string
}

// Clone copies the source's table onto the target.
func (c PartitionCloner) Clone(_ context.Context, from, to string, wipe bool, add *partition.NewPartition) (exec.Cloned, error) {
	res, err := partition.Clone(c.Root, partition.CloneRequest{Source: from, Target: to, Wipe: wipe, Runner: c.Runner, BackupDir: c.BackupDir, Add: add})
	if err != nil {
		return exec.Cloned{}, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "partition table of %s copied onto %s", res.Source, res.Target)
	if add != nil && res.Layout != nil {
		if p, ok := res.Layout.Partition(add.Number); ok {
			fmt.Fprintf(&b, ", with a new EFI System Partition %d (%d MiB at byte %d)", p.Number, p.Size>>20, p.Start)
		}
	}
	if len(res.Backups) > 0 {
		fmt.Fprintf(&b, " (backups: %s)", strings.Join(res.Backups, ", "))
	}
	cleared := res.Write != nil && res.Layout != nil && res.Write.ClearedEnds(*res.Layout)
	return exec.Cloned{Summary: b.String(), Cleared: cleared}, nil
}

// Inspect refuses a target that holds data (unless wipe) or may hold an array's last copy.
func (c PartitionCloner) Inspect(_ context.Context, target string, wipe bool) error {
	return partition.InspectTarget(c.Root, c.Runner, target, wipe)
}
