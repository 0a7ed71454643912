package drill

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"sort"

	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/partition"
	"github.com/raidswap/raidswap/simulate"
)

// The drill follows a run through its journal. It keys on what a step does (its plan.Action,
// looked up by step ID in the plan the journal begins with) and on typed errors, never on the
// text of a step ID or of an error message: those are for people and may change.

// entry is a journal record with the action of its step.
type entry struct {
	journal.Record
	// Action is what the record's step does; "" for a record of no step, or of a step the
	// journal's plan does not hold.
	Action plan.Action
}

// journalRecords are the records of the lab's journals, oldest file first, each with its
// step's action.
func (s *scene) journalRecords() ([]entry, error) {
	paths, err := filepath.Glob(filepath.Join(s.lab.Dir(), simulate.LabJournal, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []entry
	for _, p := range paths {
		recs, err := journal.Load(p)
		if err != nil {
			return nil, err
		}
		out = append(out, withActions(recs)...)
	}
	return out, nil
}

// withActions gives the records of one journal file the actions of their steps, from the
// plan record the file begins with.
func withActions(recs []journal.Record) []entry {
	actions := map[string]plan.Action{}
	out := make([]entry, 0, len(recs))
	for _, r := range recs {
		if r.Event == journal.EventPlan {
			actions = map[string]plan.Action{}
			if p, ok := journalPlan(r); ok {
				for _, st := range p.Steps {
					actions[st.ID] = st.Action
				}
			}
		}
		out = append(out, entry{Record: r, Action: actions[r.Step]})
	}
	return out
}

// journalPlan is the plan a plan record holds. The drill only reads it (apply checked its
// seal before it ran), so it is decoded without the host's key.
func journalPlan(r journal.Record) (*plan.Plan, bool) {
	if r.Event != journal.EventPlan || len(r.Plan) == 0 {
		return nil, false
	}
	var p plan.Plan
	if err := json.Unmarshal(r.Plan, &p); err != nil {
		return nil, false
	}
	return &p, true
}

// planWipes: the record is a plan that may erase a new disk holding data (built with --wipe).
func planWipes(r journal.Record) bool {
	p, ok := journalPlan(r)
	return ok && p.Disks.New.Wipe
}

// addStarted: the record starts a step that puts the new disk into an array, which starts
// that array's rebuild.
func addStarted(e entry) bool {
	if e.Event != journal.EventStarted {
		return false
	}
	switch e.Action {
	case plan.ActionAddMember, plan.ActionAddSpare, plan.ActionReAddMember, plan.ActionReplaceMember:
		return true
	}
	return false
}

// pullCue: the operator may pull the failed disk now: raidswap's phase 1 ended with the bay's
// LED (done, or skipped where there is none), or raidswap waits for the disk to go.
func pullCue(e entry) bool {
	return (e.Event == journal.EventDone || e.Event == journal.EventSkipped) && e.Action == plan.ActionLocate ||
		awaitsRemoval(e)
}

// awaitsRemoval: raidswap started waiting for the old disk to be pulled.
func awaitsRemoval(e entry) bool {
	return e.Event == journal.EventStarted && e.Action == plan.ActionAwaitRemoval
}

// claimsRedundant: the record marks the rebuild wait or the final verification done, a claim
// that the arrays are whole again.
func claimsRedundant(e entry) bool {
	return e.Event == journal.EventDone && (e.Action == plan.ActionAwaitRebuild || e.Action == plan.ActionVerify)
}

// rebuildDone: the record marks the rebuild wait done.
func rebuildDone(e entry) bool {
	return e.Event == journal.EventDone && e.Action == plan.ActionAwaitRebuild
}

// sectorSizeRefusal: err is partition's refusal of a disk with larger logical sectors than
// the arrays' members (the 4Kn scenario's lesson).
func sectorSizeRefusal(err error) (*partition.RefusedError, bool) {
	var pr *partition.RefusedError
	if errors.As(err, &pr) && pr.Kind == partition.RefuseSectorSizeChange {
		return pr, true
	}
	return nil, false
}
