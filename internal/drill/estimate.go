package drill

import (
	"fmt"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
)

// plainCost is the plain estimate of a real run: the host's own arrays (those that are not a
// drill's) rebuilt one after another at bytesPerSec.
func plainCost(sys *discover.System, bytesPerSec float64) (time.Duration, string) {
	var kib int64
	n := 0
	for _, a := range sys.Arrays {
		if a.SizeKiB > 0 && !isDrillArray(sys, a) {
			kib += a.SizeKiB
			n++
		}
	}
	if n == 0 || bytesPerSec <= 0 {
		return 0, "this host has no md array of its own to compare with"
	}
	d := time.Duration(float64(kib) * 1024 / bytesPerSec * float64(time.Second)).Round(time.Second)
	return d, fmt.Sprintf("rebuilding this host's %d arrays (%d GiB) at the %.0f MB/s measured here: about %s", n, kib>>20, bytesPerSec/1e6, d)
}

// isDrillArray: an array whose members are all on drill disks.
func isDrillArray(sys *discover.System, a discover.Array) bool {
	if len(a.Members) == 0 {
		return false
	}
	for _, m := range a.Members {
		if m.Disk == nil {
			return false
		}
		d := sys.Disk(*m.Disk)
		if d == nil || d.Transport != "loop" {
			return false
		}
	}
	return true
}
