package journal

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const planLine = `{"time":"2026-12-01T10:00:00Z","event":"plan","plan":{"format":2,"disks":{"failed":{"device":"vdb","serial":"WD-OLD"},"survivor":{"device":"vda","serial":"WD-A"},"new":{"serial":"WD-NEW"}}}}`

func TestSummarize(t *testing.T) {
	tests := []struct {
		name                string
		text                string
		open                bool
		lastStep, lastEvent string
		failed, newDisk     string
	}{
		{"cut during a step", planLine + "\n" +
			`{"time":"2026-12-01T10:01:00Z","event":"done","step":"detach-md0"}` + "\n" +
			`{"time":"2026-12-01T10:02:00Z","event":"started","step":"add-md1"}` + "\n" +
			`{"time":"2026-12-01T10:02:01Z","event":"note","data":{"k":"v"}}` + "\n" +
			`{"event":"do`, true, "add-md1", "note", "vdb (WD-OLD)", "serial WD-NEW"},
		{"finished", planLine + "\n" + `{"time":"2026-12-01T11:00:00Z","event":"finished"}` + "\n", false, "", "finished", "vdb (WD-OLD)", "serial WD-NEW"},
		{"aborted", planLine + "\n" + `{"time":"2026-12-01T11:00:00Z","event":"aborted"}` + "\n", false, "", "aborted", "vdb (WD-OLD)", "serial WD-NEW"},
		{"plan record unreadable", `{"time":"2026-12-01T10:00:00Z","event":"plan","plan":[1,2]}` + "\n", true, "", "plan", "", ""},
		{"empty", "", false, "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := Parse([]byte(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			r := Summarize("/var/lib/raidswap/journal/p-123.jsonl", recs)
			if r.Plan != "p-123" || r.Open != tt.open || r.LastStep != tt.lastStep || r.LastEvent != tt.lastEvent || r.Failed != tt.failed || r.New != tt.newDisk {
				t.Errorf("got %+v", r)
			}
		})
	}
}

// FuzzParse: a journal is untrusted input (a disk can return anything): Parse never panics,
// keeps only records that are JSON objects, and Summarize agrees with IsOpen.
func FuzzParse(f *testing.F) {
	f.Add([]byte(planLine + "\n" + `{"event":"started","step":"add-md1"}` + "\n" + `{"event":"do`))
	f.Add([]byte(planLine + "\n" + `{"event":"finished"}` + "\n"))
	f.Add([]byte("\n\n   \n{}\n[]\nnull\n\"x\"\n"))
	f.Add([]byte(`{"event":"plan","plan":{"disks":{"failed":{"device":1}}}}`))
	f.Add([]byte(`{"time":"not a time","event":"note","data":{"a":"b"}}`))
	f.Add(bytes.Repeat([]byte("{"), 4096))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := Parse(b)
		if err != nil && !strings.Contains(err.Error(), "too long") {
			t.Fatalf("unexpected error %v", err)
		}
		for _, r := range recs {
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("record %+v does not marshal: %v", r, err)
			}
		}
		run := Summarize("/j/x.jsonl", recs)
		if run.Open != IsOpen(recs) || run.Plan != "x" {
			t.Fatalf("Summarize %+v disagrees with IsOpen %v", run, IsOpen(recs))
		}
		if len(recs) > 0 && run.LastEvent != recs[len(recs)-1].Event {
			t.Fatalf("last event %q, want %q", run.LastEvent, recs[len(recs)-1].Event)
		}
		_ = run.Last.Before(time.Time{})
	})
}
