package drill

import (
	"context"
	"errors"

	seam "github.com/raidswap/raidswap/internal/host"
)

var errNoLab = errors.New("this raidswap has no drill lab yet (simulate.Lab)")

// NewLab makes a lab under base (simulate.NewLab).
func NewLab(ctx context.Context, r seam.Runner, root *seam.Root, base string) (Lab, error) {
	return nil, errNoLab
}

// CleanupLeftovers removes what dead drills left under base (simulate.CleanupLeftovers).
func CleanupLeftovers(ctx context.Context, r seam.Runner, root *seam.Root, base string) (Cleanup, error) {
	return Cleanup{}, errNoLab
}
