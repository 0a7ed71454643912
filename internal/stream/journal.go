package stream

import (
	"github.com/raidswap/raidswap/internal/journal"
)

// Journal is the sink of the run's journal: it keeps the records a resume reads (the plan,
// each step's start, end, skip, refusal and failure, the notes and the finish), each fsync'd
// before Put returns. Its errors matter: a step whose start is not on record does not act.
func Journal(j *journal.Journal) Sink { return journalSink{j} }

type journalSink struct{ j *journal.Journal }

func (s journalSink) Put(rec Record) error {
	r := journal.Record{Step: rec.Step}
	switch rec.Kind {
	case Plan:
		r.Event, r.Plan = journal.EventPlan, rec.Plan
	case Started:
		r.Event = journal.EventStarted
		if !rec.InProcess {
			r.Argv = rec.Argv
		}
	case Done:
		r.Event = journal.EventDone
	case Skipped:
		r.Event = journal.EventSkipped
	case Refused:
		r.Event, r.Error = journal.EventRefused, errText(rec.Err)
	case Failed:
		r.Event, r.Error, r.ExitCode, r.Stderr = journal.EventFailed, errText(rec.Err), rec.ExitCode, rec.Stderr
	case Note:
		r.Event, r.Data = journal.EventNote, rec.Data
	case Finished:
		r.Event = journal.EventFinished
	case Aborted:
		r.Event = journal.EventAborted
	default:
		return nil
	}
	return s.j.Append(r)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
