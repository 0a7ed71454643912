// Package journal is raidswap's record of what it did to a system: one JSON object per line,
// appended and fsync'd before and after every step, in /var/lib/raidswap/journal/<plan>.jsonl.
// The first record carries the plan itself, so `raidswap resume` needs nothing else. It
// records; it never decides what to do next (the executor does, from the live system).
package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/raidswap/raidswap/internal/host"
)

// OpenAudit opens the audit log p for appending, making its directory. It is opened without
// following a symbolic link and must be a regular file: raidswap runs as root, and a link or
// FIFO planted where the log goes must not redirect (or block) its writes. Each record is one
// write with O_APPEND, so lines written at once by several raidswaps never interleave.
func OpenAudit(p string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0o600)
	switch {
	case errors.Is(err, syscall.ELOOP):
		return nil, fmt.Errorf("audit log %s: refusing to append: it is a symbolic link", p)
	case errors.Is(err, syscall.ENXIO):
		return nil, fmt.Errorf("audit log %s: refusing to append: it is a FIFO or socket, not a regular file", p)
	case err != nil:
		return nil, fmt.Errorf("audit log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("audit log %s: refusing to append: it is a %s, not a regular file", p, host.FileType(fi.Mode()))
	}
	return f, nil
}

// Events.
const (
	EventPlan     = "plan"     // the run began; Plan holds the plan
	EventStarted  = "started"  // a step is about to act
	EventDone     = "done"     // a step finished and its postconditions hold
	EventSkipped  = "skipped"  // a step was found already done on the live system
	EventFailed   = "failed"   // a step's command failed or its postconditions did not hold
	EventRefused  = "refused"  // a precondition or safety check stopped the run
	EventNote     = "note"     // something to remember across runs (Data)
	EventFinished = "finished" // every step is done
	EventAborted  = "aborted"  // the operator closed the run unfinished (raidswap abort)
)

// Record is one line of the journal.
type Record struct {
	Time  time.Time `json:"time"`
	Event string    `json:"event"`
	Step  string    `json:"step,omitempty"`
	// Argv is the command as run (placeholders resolved).
	Argv     []string          `json:"argv,omitempty"`
	ExitCode int               `json:"exit_code,omitempty"`
	Stderr   string            `json:"stderr,omitempty"`
	Error    string            `json:"error,omitempty"`
	Data     map[string]string `json:"data,omitempty"`
	// Plan is the plan file's content (EventPlan only).
	Plan json.RawMessage `json:"plan,omitempty"`
}

// Journal is an open journal file.
type Journal struct {
	path    string
	f       *os.File
	Records []Record
	// Now stamps records; tests set it.
	Now func() time.Time
}

// Path is the journal file of a plan id under dir.
func Path(dir, id string) string { return filepath.Join(dir, id+".jsonl") }

// Open opens (creating if needed) the journal of plan id under dir and reads what it holds. A
// torn last line, left by a crash in the middle of a write, is ignored.
func Open(dir, id string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	p := Path(dir, id)
	recs, err := Load(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if b, err := os.ReadFile(p); err == nil && len(b) > 0 && b[len(b)-1] != '\n' {
		// End a torn line so the next record starts on its own.
		if _, err := f.Write([]byte{'\n'}); err != nil {
			f.Close()
			return nil, fmt.Errorf("journal: %w", err)
		}
	}
	if len(recs) == 0 {
		// Make the new file's directory entry durable too.
		if d, err := os.Open(dir); err == nil {
			d.Sync()
			d.Close()
		}
	}
	return &Journal{path: p, f: f, Records: recs, Now: time.Now}, nil
}

// Load reads the records of a journal file.
func Load(path string) ([]Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out, err := Parse(b)
	if err != nil {
		return out, fmt.Errorf("journal %s: %w", path, err)
	}
	return out, nil
}

// Parse reads the records of a journal's content. It is pure, so status can read a journal
// through its own Root. A line that is not a record (a torn write) is skipped; a line longer
// than 16 MiB ends the reading with an error, and the records before it are returned.
func Parse(b []byte) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			continue // a torn write
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// File is the journal's path.
func (j *Journal) File() string { return j.path }

// Append writes a record and waits until it is on disk.
func (j *Journal) Append(r Record) error {
	if r.Time.IsZero() {
		r.Time = j.Now().UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	j.Records = append(j.Records, r)
	return nil
}

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }

// Last returns the last record of a step with one of the events, if any.
func (j *Journal) Last(step string, events ...string) (Record, bool) {
	if i := j.LastIndex(step, events...); i >= 0 {
		return j.Records[i], true
	}
	return Record{}, false
}

// LastIndex is the index in Records of the last record of a step with one of the events, or -1.
func (j *Journal) LastIndex(step string, events ...string) int {
	for i := len(j.Records) - 1; i >= 0; i-- {
		r := j.Records[i]
		if r.Step != step {
			continue
		}
		for _, e := range events {
			if r.Event == e {
				return i
			}
		}
	}
	return -1
}

// Data returns the latest value of a note key.
func (j *Journal) Data(key string) (string, bool) {
	v, i := j.DataIndex(key)
	return v, i >= 0
}

// DataIndex returns the latest value of a note key and the index of its record (-1: none).
func (j *Journal) DataIndex(key string) (string, int) {
	for i := len(j.Records) - 1; i >= 0; i-- {
		if v, ok := j.Records[i].Data[key]; ok {
			return v, i
		}
	}
	return "", -1
}

// Finished reports whether the run completed.
func (j *Journal) Finished() bool {
	return len(j.Records) > 0 && j.Records[len(j.Records)-1].Event == EventFinished
}

// IsOpen reports whether records are those of a run still open: begun, neither finished nor
// aborted. `raidswap resume` continues such a run; status warns of it.
func IsOpen(recs []Record) bool {
	if len(recs) == 0 {
		return false
	}
	last := recs[len(recs)-1].Event
	return last != EventFinished && last != EventAborted
}

// Aborted reports whether the operator closed the run unfinished.
func (j *Journal) Aborted() bool {
	return len(j.Records) > 0 && j.Records[len(j.Records)-1].Event == EventAborted
}

// Unfinished lists the journals under dir whose run did not finish, newest first.
func Unfinished(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	type item struct {
		path string
		mod  time.Time
	}
	var items []item
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".jsonl") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		recs, err := Load(p)
		if err != nil || !IsOpen(recs) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		items = append(items, item{p, info.ModTime()})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].mod.After(items[j].mod) })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.path
	}
	return out, nil
}
