package journal

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestAppendReopenTornLine(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(Record{Event: EventPlan, Plan: []byte(`{"format":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(Record{Event: EventStarted, Step: "01-detach-md0", Argv: []string{"/sbin/mdadm", "/dev/md0"}}); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(Record{Event: EventNote, Data: map[string]string{"new_serial": "WD-NEW"}}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	// A crash in the middle of a write leaves half a line.
	f, _ := os.OpenFile(Path(dir, "abc"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"event":"done","st`)
	f.Close()

	j, err = Open(dir, "abc")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if len(j.Records) != 3 {
		t.Fatalf("%d records, want 3 (torn line ignored)", len(j.Records))
	}
	if r, ok := j.Last("01-detach-md0", EventStarted, EventDone); !ok || r.Event != EventStarted || r.Argv[1] != "/dev/md0" {
		t.Errorf("Last = %+v, %v", r, ok)
	}
	if v, ok := j.Data("new_serial"); !ok || v != "WD-NEW" {
		t.Errorf("Data = %q, %v", v, ok)
	}
	if j.Finished() {
		t.Error("Finished before a finished record")
	}
	un, err := Unfinished(dir)
	if err != nil || len(un) != 1 {
		t.Fatalf("Unfinished = %v, %v", un, err)
	}
	// The torn line is followed by a newline so the next record parses.
	if err := j.Append(Record{Event: EventFinished}); err != nil {
		t.Fatal(err)
	}
	recs, _ := Load(Path(dir, "abc"))
	if recs[len(recs)-1].Event != EventFinished {
		t.Errorf("last record %q after a torn line, want finished", recs[len(recs)-1].Event)
	}
	if un, _ := Unfinished(dir); len(un) != 0 {
		t.Errorf("Unfinished after finish = %v", un)
	}
}

// TestOpenAuditRefusesLinksAndFIFOs: raidswap appends to its audit log as root; a symbolic
// link or FIFO planted where the log goes is refused, not followed or blocked on.
func TestOpenAuditRefusesLinksAndFIFOs(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenAudit(link); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a symlink: %v", err)
	}
	fifo := filepath.Join(dir, "fifo.jsonl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenAudit(fifo); err == nil || !strings.Contains(err.Error(), "FIFO") {
		t.Errorf("a FIFO: %v", err)
	}
	if _, err := OpenAudit(dir); err == nil {
		t.Error("a directory was opened as the audit log")
	}
	f, err := OpenAudit(filepath.Join(dir, "new", "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if b, _ := os.ReadFile(target); string(b) != "keep\n" {
		t.Errorf("the link's target changed: %q", b)
	}
}
