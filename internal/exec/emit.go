package exec

import (
	"io"

	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/stream"
)

// wire makes the run's stream: the journal, the audit log (to audit), the view and, when
// Options.Syslog names a socket, syslog.
func (r *run) wire(audit io.Writer) {
	r.out = stream.Stream{
		stream.Journal(r.j),
		stream.BestEffort(stream.Audit(audit, nil, "plan", r.p.ID()), r.sinkTrouble("audit log")),
		stream.View(r.o.View, func() *plan.Plan { return r.p }),
	}
	if r.o.Syslog != "" {
		r.out = append(r.out, stream.BestEffort(stream.Syslog(r.o.Syslog, "plan "+r.p.ID()+": "), r.sinkTrouble("syslog")))
	}
}

// emit sends a record to the run's stream. Its error is the journal's (the other sinks are
// best effort): a record the journal was to keep and did not. The rebuild follower emits
// from its own goroutine: records go out one at a time.
func (r *run) emit(rec stream.Record) error {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	return r.out.Emit(rec)
}

// say tells the person one line (and the audit log).
func (r *run) say(msg string) { _ = r.emit(stream.Record{Kind: stream.Said, Say: msg}) }

// note keeps data in the journal for a later run (and the audit log).
func (r *run) note(s plan.Step, data map[string]string) error {
	return r.emit(stream.Record{Kind: stream.Note, Step: s.ID, Data: data})
}

// sinkTrouble reports a best-effort sink's failure to the person: a run whose audit log or
// syslog stopped taking lines goes on (its steps' actions ran), says so, and writes no more
// to that sink.
func (r *run) sinkTrouble(what string) func(error) {
	return func(err error) {
		r.o.View.Say(what + ": " + err.Error() + " (not written to again in this run; the journal keeps its steps)")
	}
}
