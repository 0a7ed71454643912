// Package stream is raidswap's one stream of what it did: the executor's step events and the
// mdadm event hook's md events, as typed Records, each sent to every Sink of a Stream — the
// journal (Journal), the audit log (Audit), the person's view (View) and syslog (Syslog).
//
// Which sink keeps which record is decided here, once: the journal keeps the records a resume
// reads (the plan, step boundaries, notes), the audit log every record but the view's
// progress, the view the step lines and what is said to the person, syslog the step outcomes,
// the run's start and end, anything at warning level or above, and md's events. The writers
// of records (exec, event) say what happened; they never write to a sink themselves.
package stream

import (
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/progress"
)

// Kind is what a record tells.
type Kind string

// Kinds. The journal's are journal.Event* of the same name.
const (
	Plan        Kind = "plan"        // a fresh run began: Plan holds the plan file (journal)
	Resume      Kind = "resume"      // a run resumed from its journal
	Stale       Kind = "stale"       // a fresh run was refused: the system changed since the plan
	Started     Kind = "started"     // a step is about to act: Argv
	Command     Kind = "command"     // a program ran: Argv, ExitCode, Stdout, Stderr, Took
	Done        Kind = "done"        // a step finished and its postconditions hold
	Skipped     Kind = "skipped"     // a step was found already true on the system
	Recalled    Kind = "recalled"    // a step an earlier run did, shown again (view only)
	Refused     Kind = "refused"     // a precondition or safety check stopped the run: Err
	Failed      Kind = "failed"      // a step's command or postconditions failed: Err, ExitCode, Stderr
	Interrupted Kind = "interrupted" // a wait ended unfinished; the step can be resumed
	Raced       Kind = "raced"       // a command failed but its result holds (udev added the member)
	Note        Kind = "note"        // something to remember across runs: Data (journal)
	Did         Kind = "did"         // something done or found between step boundaries (Name says what)
	Said        Kind = "said"        // a line for the person
	Waiting     Kind = "waiting"     // a wait's progress (view only)
	Rebuild     Kind = "rebuild"     // the arrays' rebuild progress: Bars (view only)
	Finished    Kind = "finished"    // every step of the plan holds
	Aborted     Kind = "aborted"     // the operator closed the run unfinished (raidswap abort)
	MDEvent     Kind = "mdadm"       // an md event the hook handled: MD
)

// Level is how much a record matters; it picks the audit line's level and the syslog
// priority.
type Level int8

// Levels.
const (
	Info Level = iota
	Warning
	Error
	Critical
)

// Record is one thing raidswap did or saw.
type Record struct {
	Kind  Kind
	Level Level
	// Name says what a Did or Note record is about in the audit log ("clone", "led",
	// "speed"); the Kind when empty.
	Name string
	// Step is the step's ID; Action its action.
	Step   string
	Action string
	// Argv is the command (Started, Command); InProcess says raidswap does the step itself,
	// so the journal and the audit log keep no command for it (the view still shows argv).
	Argv      []string
	InProcess bool
	ExitCode  int
	Stdout    string
	Stderr    string
	Took      time.Duration
	Err       error
	// Say is the line for the person (the view; the audit and syslog message when Msg is
	// empty). Msg is the line for the logs alone.
	Say string
	Msg string
	// Data is kept in the journal (Note) and in the audit line (every record).
	Data map[string]string
	// Lists are kept in the audit line.
	Lists map[string][]string
	// Plan is the plan file's content (Plan).
	Plan []byte
	// NewDisk is the new disk's kernel name when the step record was made ("" while none is
	// chosen): the view names steps with it.
	NewDisk string
	// Bars is each array's rebuild (Rebuild).
	Bars []progress.Array
	// MD is the md event (MDEvent).
	MD *MD
}

// MD is an md event as the hook handled it.
type MD struct {
	Event   string // mdadm's event word
	Array   string
	Member  string
	Verdict string
	Took    time.Duration
	// Disks the event concerns; LED per disk; NoLED why a disk's LED was not lit.
	Disks, LED, NoLED []string
	Textfile          string
	Inventory         string
	Problems          []string
}

// Sink keeps the records it is for and ignores the rest. An error means the record is not
// kept.
type Sink interface {
	Put(Record) error
}

// Stream sends each record to every sink, in order. Neither it nor its sinks lock: a writer
// with several goroutines sends one record at a time.
type Stream []Sink

// Emit sends rec to every sink, even after one fails, and returns their errors joined on one
// line ("audit log: ...; syslog: ..."), each still found by errors.Is and errors.As.
func (s Stream) Emit(rec Record) error {
	var errs sinkErrors
	for _, k := range s {
		if err := k.Put(rec); err != nil {
			errs = append(errs, err)
		}
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errs
}

// sinkErrors are the failures of several sinks with one record.
type sinkErrors []error

func (e sinkErrors) Error() string {
	parts := make([]string, len(e))
	for i, err := range e {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

func (e sinkErrors) Unwrap() []error { return e }

// Put makes a Stream a Sink.
func (s Stream) Put(rec Record) error { return s.Emit(rec) }

// BestEffort is a sink whose failure does not fail the record: the first is handed to report
// (nil: dropped) and the sink is not tried again, so a wedged syslog costs one bounded wait,
// not one per record; Put returns nil. The executor's audit log and syslog are best effort:
// a full /var must not fail a step whose action already ran.
func BestEffort(k Sink, report func(error)) Sink { return &bestEffort{k: k, report: report} }

type bestEffort struct {
	k      Sink
	report func(error)
	failed bool
}

func (b *bestEffort) Put(rec Record) error {
	if b.failed {
		return nil
	}
	if err := b.k.Put(rec); err != nil {
		b.failed = true
		if b.report != nil {
			b.report(err)
		}
	}
	return nil
}
