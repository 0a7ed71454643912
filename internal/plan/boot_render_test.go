package plan_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/view"
)

// TestRenderBootPlans: the seed's plan with /boot not mounted (a private mount, debconf),
// on DOS labels (the post-MBR gap) and with GRUB 0.97 (the commands by hand), as text.
func TestRenderBootPlans(t *testing.T) {
	names, plans := plan.BootPlans(t)
	for i, p := range plans {
		t.Run(names[i], func(t *testing.T) {
			var b bytes.Buffer
			if err := view.Plan(&b, p, view.FormatText); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", names[i]+".txt"), b.Bytes())
		})
	}
}
