package exec

import (
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/progress"
)

// RunProgress is what a run's journal says of its plan (progress.Run): `raidswap resume`
// shows it before it goes on; the executor skips the steps it marks done (doneInJournal is
// the one rule for both).
type RunProgress = progress.Run

// ReadProgress reads a plan's progress from its journal's records. named is the new disk
// the operator names now (resume --new; "" for none): a run takes that disk, so the steps
// on the new disk count as not done, as chooseNewDisk journals it.
func ReadProgress(p *plan.Plan, recs []journal.Record, named string) RunProgress {
	j := &journal.Journal{Records: recs}
	pr := RunProgress{Done: make([]bool, len(p.Steps)), NewSerial: p.Disks.New.Serial, NewDevice: p.Disks.New.Device}
	if v, at := j.DataIndex(noteNewSerial); at >= 0 {
		pr.NewSerial, pr.NewDevice = v, recs[at].Data["new_device"]
	}
	if named != "" && named != pr.NewSerial {
		recs = append(recs[:len(recs):len(recs)], journal.Record{Event: journal.EventNote, Data: map[string]string{noteNewSerial: named}})
		j = &journal.Journal{Records: recs}
		pr.NewSerial, pr.NewDevice = named, ""
	}
	for i, s := range p.Steps {
		pr.Done[i] = doneInJournal(j, s)
	}
	return pr
}

// doneInJournal reports whether the journal shows step s done, so a resumed run skips it. A
// verify step always runs again, and a step on the new disk counts as done only for the new
// disk chosen last: after the operator swapped it, its steps run again for the disk now in
// the bay.
func doneInJournal(j *journal.Journal, s plan.Step) bool {
	// verify and the preflight check run again on every run.
	if s.Action == plan.ActionVerify || s.Action == plan.ActionPreflight {
		return false
	}
	_, newSince := j.DataIndex(noteNewSerial)
	at := j.LastIndex(s.ID, journal.EventDone, journal.EventSkipped)
	return at >= 0 && (!onNewDisk(s) || at > newSince)
}
