package cli

import (
	"github.com/raidswap/raidswap/internal/event"
	"github.com/raidswap/raidswap/internal/host"
)

// faultLED is the fault LED driver of the event hook: identify's, reading through root and
// running ledctl through the Factory's Runner (which refuses every command under --root).
func faultLED(f *Factory, root *host.Root) event.FaultLED {
	return event.IdentifyLED{Root: root, Runner: f.Runner()}
}
