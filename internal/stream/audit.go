package stream

import (
	"bytes"
	"io"
	"sort"
	"time"

	"github.com/rs/zerolog"

	"github.com/raidswap/raidswap/internal/journal"
)

// Audit is the sink of the audit log (audit.jsonl): one JSON line per record, written with one
// Write (O_APPEND keeps lines of processes writing at once whole), by journal.AuditLogger.
// It keeps every record but the view's progress (Recalled, Waiting, Rebuild). fields are
// key, value pairs every line carries (the executor's plan ID). now is the clock (time.Now
// when nil).
func Audit(w io.Writer, now func() time.Time, fields ...string) Sink {
	return auditSink{w: w, now: now, fields: fields}
}

type auditSink struct {
	w      io.Writer
	now    func() time.Time
	fields []string
}

// auditMsg is each kind's audit message when the record has no Msg or Say.
var auditMsg = map[Kind]string{
	Plan: "apply started", Resume: "resuming", Stale: "plan refused", Started: "step started",
	Command: "command", Done: "step done", Skipped: "already done", Refused: "step refused",
	Failed: "step failed", Interrupted: "wait interrupted", Raced: "command failed, result holds",
	Note: "note", Finished: "plan finished", Aborted: "run aborted",
}

// zerologLevel is each level's audit level.
var zerologLevel = map[Level]zerolog.Level{
	Info: zerolog.InfoLevel, Warning: zerolog.WarnLevel, Error: zerolog.ErrorLevel, Critical: zerolog.ErrorLevel,
}

func (s auditSink) Put(rec Record) error {
	switch rec.Kind {
	case Recalled, Waiting, Rebuild:
		return nil
	}
	var b bytes.Buffer
	l := journal.AuditLogger(&b, s.now)
	e := l.WithLevel(zerologLevel[rec.Level])
	for i := 0; i+1 < len(s.fields); i += 2 {
		e = e.Str(s.fields[i], s.fields[i+1])
	}
	if md := rec.MD; md != nil {
		e = e.Str("event", string(MDEvent)).Str("mdadm_event", md.Event).
			Str("array", md.Array).Str("verdict", md.Verdict).Int64("ms", md.Took.Milliseconds())
		e = strIf(e, "member", md.Member)
		e = strsIf(e, "disks", md.Disks)
		e = strsIf(e, "led", md.LED)
		e = strsIf(e, "led_not_lit", md.NoLED)
		e = strIf(e, "textfile", md.Textfile)
		e = strIf(e, "inventory", md.Inventory)
		e = strsIf(e, "problems", md.Problems)
	} else {
		name := rec.Name
		if name == "" {
			name = string(rec.Kind)
		}
		e = e.Str("event", name)
		e = strIf(e, "step", rec.Step)
		e = strIf(e, "action", rec.Action)
		switch rec.Kind {
		case Started:
			if !rec.InProcess {
				e = e.Strs("argv", rec.Argv)
			}
		case Command:
			e = e.Strs("argv", rec.Argv).Int("exit_code", rec.ExitCode).Dur("duration", rec.Took).
				Str("stdout", rec.Stdout).Str("stderr", rec.Stderr)
		case Failed:
			e = e.Int("exit_code", rec.ExitCode).Str("stderr", rec.Stderr)
		}
		for _, k := range sortedKeys(rec.Data) {
			e = e.Str(k, rec.Data[k])
		}
		for _, k := range sortedKeys(rec.Lists) {
			e = e.Strs(k, rec.Lists[k])
		}
	}
	if rec.Err != nil {
		e = e.Err(rec.Err)
	}
	e.Msg(message(rec))
	_, err := s.w.Write(b.Bytes())
	return err
}

// message is the record's line for a log: Msg, else Say, else its kind's.
func message(rec Record) string {
	switch {
	case rec.Msg != "":
		return rec.Msg
	case rec.Say != "":
		return rec.Say
	}
	return auditMsg[rec.Kind]
}

func strIf(e *zerolog.Event, k, v string) *zerolog.Event {
	if v == "" {
		return e
	}
	return e.Str(k, v)
}

func strsIf(e *zerolog.Event, k string, v []string) *zerolog.Event {
	if len(v) == 0 {
		return e
	}
	return e.Strs(k, v)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
