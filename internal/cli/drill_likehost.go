package cli

import (
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/drill"
)

// likeHost is this host's layout scaled down.
func likeHost(sys *discover.System) (drill.Layout, error) { return drill.LikeHost(sys) }
