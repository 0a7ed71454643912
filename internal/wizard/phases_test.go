package wizard

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/plan"
)

// TestPhases: phase 1 is what runs before the first wait for the pull or the new disk; a
// plan whose disk is already gone, with only the preflight check before its wait, has no
// phase 1 (no serial to confirm for a disk that is not there).
// TestPhaseTwoIntro: phase 2's heading says what its steps do: no "partition" for a
// whole-disk member, no boot code when none is installed, the survivor only when a step
// writes its boot code.
func TestPhaseTwoIntro(t *testing.T) {
	st := func(a plan.Action, serial string) plan.Step {
		return plan.Step{Action: a, Target: plan.Target{Device: "vda", Serial: serial}}
	}
	for _, tc := range []struct {
		name  string
		steps []plan.Step
		want  string
	}{
		{"seed, BIOS GRUB on both", []plan.Step{st(plan.ActionPartitionClone, ""), st(plan.ActionAddMember, ""), st(plan.ActionBootloader, "S"), st(plan.ActionBootloader, "N")},
			"Phase 2: partition vdc (N), add it to the arrays, install the boot code. This writes to the new disk only (and the survivor's boot code)."},
		{"whole disk, no boot code", []plan.Step{st(plan.ActionZeroSuperblock, ""), st(plan.ActionAddMember, ""), {Action: plan.ActionBootloader}},
			"Phase 2: add vdc (N) to the arrays. This writes to the new disk only."},
		{"UEFI, the only ESP remade", []plan.Step{st(plan.ActionPartitionClone, ""), st(plan.ActionESPInstall, "N")},
			"Phase 2: partition vdc (N), add it to the arrays, install the boot code. This writes to the new disk only."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := phaseTwoIntro(tc.steps, "S", "vdc (N)"); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

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
