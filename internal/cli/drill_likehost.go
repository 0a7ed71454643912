package cli

import (
	"errors"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/drill"
)

// likeHost is this host's layout scaled down (drill.LikeHost).
func likeHost(sys *discover.System) (drill.Layout, error) {
	return drill.Layout{}, errors.New("not available in this build yet")
}
