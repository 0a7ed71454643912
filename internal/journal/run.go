package journal

import (
	"encoding/json"
	"path"
	"strings"
	"time"
)

// Run is what a journal says of its run, for status: which plan, whether it is still open,
// where it stopped. Summarize builds it from records alone; nothing is read or written.
type Run struct {
	// Plan is the plan's ID (the journal's file name without .jsonl); File is the journal.
	Plan string `json:"plan"`
	File string `json:"file"`
	// Open: begun, neither finished nor aborted (IsOpen).
	Open bool `json:"open"`
	// Began is the time of the first record, Last of the last one; LastStep and LastEvent
	// say where the run stopped ("" for a record of no step).
	Began     time.Time `json:"began"`
	Last      time.Time `json:"last"`
	LastStep  string    `json:"last_step,omitempty"`
	LastEvent string    `json:"last_event"`
	// Failed and New name the disks as the plan record gives them ("vdb (WD-X9)"), for a
	// person; "" when the plan record does not say.
	Failed string `json:"failed,omitempty"`
	New    string `json:"new,omitempty"`
}

// planLabels are the few fields of a plan record Summarize shows. They are informational:
// the plan's format is internal/plan's, and a plan record they cannot be read from still
// gives a Run.
type planLabels struct {
	Disks struct {
		Failed struct{ Device, Serial string } `json:"failed"`
		New    struct{ Device, Serial string } `json:"new"`
	} `json:"disks"`
}

// Summarize describes the run recorded in recs, the records of the journal file at file.
func Summarize(file string, recs []Record) Run {
	r := Run{Plan: strings.TrimSuffix(path.Base(file), ".jsonl"), File: file, Open: IsOpen(recs)}
	if len(recs) == 0 {
		return r
	}
	first, last := recs[0], recs[len(recs)-1]
	r.Began, r.Last, r.LastEvent = first.Time, last.Time, last.Event
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Step != "" {
			r.LastStep = recs[i].Step
			break
		}
	}
	if first.Event == EventPlan && len(first.Plan) > 0 {
		var p planLabels
		if json.Unmarshal(first.Plan, &p) == nil {
			r.Failed = label(p.Disks.Failed.Device, p.Disks.Failed.Serial)
			r.New = label(p.Disks.New.Device, p.Disks.New.Serial)
		}
	}
	return r
}

func label(dev, serial string) string {
	switch {
	case dev != "" && serial != "":
		return dev + " (" + serial + ")"
	case serial != "":
		return "serial " + serial
	}
	return dev
}
