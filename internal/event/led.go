package event

import (
	"context"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
)

// IdentifyLED drives a disk's fault LED the way identify does for the plan's LED steps: its
// bay's enclosure fault file, its NPEM LED, or ledctl, read afresh for each call.
type IdentifyLED struct {
	Root   *host.Root
	Runner host.Runner
}

// SetFault sets or clears the fault LED of disk d.
func (l IdentifyLED) SetFault(ctx context.Context, d discover.Disk, on bool) error {
	return identify.SetFault(ctx, l.Root, l.Runner, d.Name, on)
}
