package plan_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/view"
)

// TestRenderScenarios compares each scenario's plan, as view renders it for a terminal, for
// a change ticket and as JSON, with the golden files (rewrite them with -update).
func TestRenderScenarios(t *testing.T) {
	names, plans := plan.ScenarioPlans(t)
	for i, p := range plans {
		t.Run(names[i], func(t *testing.T) {
			for _, f := range []struct{ format, ext string }{{view.FormatText, "txt"}, {view.FormatMarkdown, "md"}, {view.FormatJSON, "json"}} {
				var b bytes.Buffer
				if err := view.Plan(&b, p, f.format); err != nil {
					t.Fatal(err)
				}
				golden.Check(t, filepath.Join("testdata", names[i]+"."+f.ext), b.Bytes())
			}
		})
	}
}
