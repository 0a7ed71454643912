package discover_test

import (
	"testing"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
)

// dropLiveSMART checks that live status read every present virtio disk's SMART as
// unavailable, then drops it: a capture holds no devices, so `status --root` reads none and
// the two are compared without it.
func dropLiveSMART(t *testing.T, s *discover.System) {
	t.Helper()
	for i := range s.Disks {
		d := &s.Disks[i]
		if d.Present && d.SMART == nil {
			t.Errorf("live status read no SMART of present disk %s", d.Name)
		}
		if d.Present && d.SMART != nil && d.SMART.State != identify.SMARTUnavailable {
			t.Errorf("virtio disk %s: SMART %s, want unavailable", d.Name, d.SMART.Summary())
		}
		d.SMART, d.SMARTReplaceCandidate = nil, false
	}
}
