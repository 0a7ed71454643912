package journal

import (
	"os"
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

func TestAuditLog(t *testing.T) {
	if got := AuditLog(DefaultDir); got != DefaultAuditLog {
		t.Errorf("AuditLog(DefaultDir) = %s, DefaultAuditLog = %s", got, DefaultAuditLog)
	}
	if got := AuditLog("/tmp/lab/journal/"); got != "/tmp/lab/audit.jsonl" {
		t.Errorf("AuditLog = %s", got)
	}
}
