package cli

import "github.com/raidswap/raidswap/internal/event"

// faultLED is the fault LED driver the event hook uses; nil until identify/ has one.
func faultLED(*Factory) event.FaultLED { return nil }
