package plan_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/view"
)

// TestRenderUEFI compares the UEFI plans of the seed layout, as --plan shows them, with
// the golden files (rewrite them with -update).
func TestRenderUEFI(t *testing.T) {
	names, plans := plan.UEFIScenarioPlans(t)
	for i, p := range plans {
		t.Run(names[i], func(t *testing.T) {
			for _, f := range []struct{ format, ext string }{{view.FormatText, "txt"}, {view.FormatJSON, "json"}} {
				var b bytes.Buffer
				if err := view.Plan(&b, p, f.format); err != nil {
					t.Fatal(err)
				}
				golden.Check(t, filepath.Join("testdata", names[i]+"."+f.ext), b.Bytes())
			}
		})
	}
}
