package drill

import (
	"errors"

	"github.com/raidswap/raidswap/internal/engine"
)

// confineScope sets the engine's Scope to the lab. Until discover.Scope exists the drill
// refuses to run at all rather than run unconfined.
func confineScope(env *engine.Env, dir string) error {
	return errors.New("this raidswap has no drill scope yet: refusing to run a drill unconfined")
}
