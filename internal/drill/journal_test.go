package drill

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/partition"
)

// keyedJournal is a journal whose step IDs say nothing of what the steps do, and whose decoys
// carry the IDs a text match would take (add-md0, x-locate, x-await-removal, await-rebuild,
// verify) on steps that do something else.
func keyedJournal(t *testing.T) []entry {
	t.Helper()
	p := plan.Plan{Format: plan.FormatVersion, Steps: []plan.Step{
		{ID: "s1", Action: plan.ActionLocate},
		{ID: "s2", Action: plan.ActionAwaitRemoval},
		{ID: "s3", Action: plan.ActionAddMember},
		{ID: "s4", Action: plan.ActionAddSpare},
		{ID: "s5", Action: plan.ActionReAddMember},
		{ID: "s6", Action: plan.ActionReplaceMember},
		{ID: "s7", Action: plan.ActionAwaitRebuild},
		{ID: "s8", Action: plan.ActionVerify},
		{ID: "add-md0", Action: plan.ActionMkswap},
		{ID: "x-locate", Action: plan.ActionSwapOn},
		{ID: "x-await-removal", Action: plan.ActionDetach},
		{ID: "await-rebuild", Action: plan.ActionRaiseSpeed},
		{ID: "verify", Action: plan.ActionVerifyUEFI},
	}}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	recs := []journal.Record{{Event: journal.EventPlan, Plan: raw}}
	for _, st := range p.Steps {
		for _, ev := range []string{journal.EventStarted, journal.EventDone, journal.EventSkipped} {
			recs = append(recs, journal.Record{Event: ev, Step: st.ID})
		}
	}
	// A step the plan does not hold has no action.
	recs = append(recs, journal.Record{Event: journal.EventStarted, Step: "add-md1"})
	return withActions(recs)
}

// TestDrillKeysOnActions: each journal predicate the drill waits on or judges by matches the
// steps by their action, and none of the decoys whose IDs hold the old text.
func TestDrillKeysOnActions(t *testing.T) {
	es := keyedJournal(t)
	for _, tc := range []struct {
		name string
		pred func(entry) bool
		want []string // step/event pairs it matches
	}{
		// hands: the failed disk is pulled after the LED step or at the removal wait.
		{"pullCue", pullCue, []string{"s1/done", "s1/skipped", "s2/started"}},
		// the copy scenario pulls the old disk at the removal wait.
		{"awaitsRemoval", awaitsRemoval, []string{"s2/started"}},
		// interrupted: SIGKILL once an add step started; rebuildSpeed: the rebuild's start.
		{"addStarted", addStarted, []string{"s3/started", "s4/started", "s5/started", "s6/started"}},
		// survivor-read-errors: the rebuild wait or verification marked done.
		{"claimsRedundant", claimsRedundant, []string{"s7/done", "s8/done"}},
		// rebuildSpeed: the rebuild's end.
		{"rebuildDone", rebuildDone, []string{"s7/done"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range es {
				if tc.pred(e) {
					got = append(got, e.Step+"/"+e.Event)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("matches %v, want %v", got, tc.want)
			}
		})
	}
}

// TestWithActionsPerPlan: a step takes its action from the plan of its own journal, and a
// plan record that does not parse leaves its steps without one.
func TestWithActionsPerPlan(t *testing.T) {
	mk := func(a plan.Action) json.RawMessage {
		raw, err := json.Marshal(plan.Plan{Steps: []plan.Step{{ID: "s", Action: a}}})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	es := withActions([]journal.Record{
		{Event: journal.EventPlan, Plan: mk(plan.ActionLocate)}, {Event: journal.EventDone, Step: "s"},
		{Event: journal.EventPlan, Plan: mk(plan.ActionVerify)}, {Event: journal.EventDone, Step: "s"},
		{Event: journal.EventPlan, Plan: json.RawMessage(`{"steps": 7}`)}, {Event: journal.EventDone, Step: "s"},
	})
	var got []plan.Action
	for _, e := range es {
		if e.Step != "" {
			got = append(got, e.Action)
		}
	}
	if want := []plan.Action{plan.ActionLocate, plan.ActionVerify, ""}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("actions %q, want %q", got, want)
	}
}

// TestPlanWipes: the dirty-replacement judge reads the plan's --wipe from the plan itself, in
// whatever layout the journal holds it, not from its text.
func TestPlanWipes(t *testing.T) {
	wipe := plan.Plan{Disks: plan.Disks{New: plan.NewDisk{Wipe: true}}}
	indented, err := json.MarshalIndent(wipe, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	compact, err := json.Marshal(wipe)
	if err != nil {
		t.Fatal(err)
	}
	keep, err := json.Marshal(plan.Plan{Notes: []string{"wipe"}})
	if err != nil {
		t.Fatal(err)
	}
	// A plan that does not wipe, with "wipe":true in its text (a field this raidswap does
	// not know).
	keepText := []byte(`{"request":{"new":"WD-1"},"disks":{"new":{"known_serials":[]}},"notes":["wipe"],"_":{"wipe":true}}`)
	for _, tc := range []struct {
		name string
		r    journal.Record
		want bool
	}{
		{"indented wipe", journal.Record{Event: journal.EventPlan, Plan: indented}, true},
		{"compact wipe", journal.Record{Event: journal.EventPlan, Plan: compact}, true},
		{"no wipe", journal.Record{Event: journal.EventPlan, Plan: keep}, false},
		{"wipe elsewhere in the text", journal.Record{Event: journal.EventPlan, Plan: keepText}, false},
		{"not a plan record", journal.Record{Event: journal.EventDone, Plan: compact}, false},
	} {
		if got := planWipes(tc.r); got != tc.want {
			t.Errorf("%s: planWipes = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestSectorSizeRefusal: the 4Kn scenario recognises partition's refusal by its kind, through
// the engine's wrapping, whatever its message says.
func TestSectorSizeRefusal(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"kind, other words", fmt.Errorf("step clone: %w", &partition.RefusedError{Kind: partition.RefuseSectorSizeChange, Device: "/dev/vdc", Serial: "N1", Reason: "it has 4096-byte sectors"}), true},
		{"other kind, same words", &partition.RefusedError{Kind: partition.RefuseUnrepresentable, Device: "/dev/vdc", Reason: "not whole 4096-byte logical sectors"}, false},
		{"another package's refusal", &exec.RefusedError{Step: "s", Device: "vdc", Reason: "it has 4096-byte logical sectors"}, false},
		{"no error", nil, false},
	} {
		if _, got := sectorSizeRefusal(tc.err); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
