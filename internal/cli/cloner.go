package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/partition"
)

// partitionCloner runs package partition's clone in-process for the plan's clone step. The
// executor holds the lock already. runner runs libblkid's probes (wipefs, blkid).
type partitionCloner struct {
	root   *host.Root
	runner host.Runner
}

func (c partitionCloner) Clone(_ context.Context, from, to string, wipe bool) (string, error) {
	res, err := partition.Clone(c.root, partition.CloneRequest{Source: from, Target: to, Wipe: wipe, Runner: c.runner})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "partition table of %s copied onto %s", res.Source, res.Target)
	if len(res.Backups) > 0 {
		fmt.Fprintf(&b, " (backups: %s)", strings.Join(res.Backups, ", "))
	}
	return b.String(), nil
}

func (c partitionCloner) Inspect(_ context.Context, target string, wipe bool) error {
	return partition.InspectTarget(c.root, c.runner, target, wipe)
}
