package wizard

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/plan"
)

// TestPhases: phase 1 is what runs before the first wait for the pull or the new disk; a
// plan whose disk is already gone, with only the preflight check before its wait, has no
// phase 1 (no serial to confirm for a disk that is not there).
func TestPhases(t *testing.T) {
	steps := func(as ...plan.Action) *plan.Plan {
		p := &plan.Plan{}
		for _, a := range as {
			p.Steps = append(p.Steps, plan.Step{ID: string(a), Action: a})
		}
		return p
	}
	ids := func(ss []plan.Step) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		name     string
		p        *plan.Plan
		one, two string
	}{
		{"detach first", steps(plan.ActionPreflight, plan.ActionDetach, plan.ActionAwaitRemoval, plan.ActionAwaitNewDisk),
			"preflight detach", "await-removal await-new-disk"},
		{"vanished: only the preflight before the wait", steps(plan.ActionPreflight, plan.ActionAwaitNewDisk, plan.ActionAddMember),
			"", "preflight await-new-disk add-member"},
		{"no wait", steps(plan.ActionPreflight, plan.ActionReAddMember), "", "preflight re-add-member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			one, two := phases(tc.p)
			if ids(one) != tc.one || ids(two) != tc.two {
				t.Errorf("phases %q | %q, want %q | %q", ids(one), ids(two), tc.one, tc.two)
			}
		})
	}
}
