package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/progress"
)

// callView records what a view was told, one word per call.
type callView struct{ calls []string }

func (v *callView) Steps(*plan.Plan, string) {}
func (v *callView) StepStarting(i, n int, s plan.Step, argv []string) {
	v.calls = append(v.calls, "starting "+s.ID+" "+strings.Join(argv, " "))
}
func (v *callView) StepSkipped(i, n int, s plan.Step, why string) {
	v.calls = append(v.calls, "skipped "+s.ID+" "+why)
}
func (v *callView) StepDone(i, n int, s plan.Step) { v.calls = append(v.calls, "done "+s.ID) }
func (v *callView) Waiting(s plan.Step, what string) {
	v.calls = append(v.calls, "waiting "+s.ID+" "+what)
}
func (v *callView) Rebuild(p []progress.Array) { v.calls = append(v.calls, "rebuild") }
func (v *callView) Say(msg string)             { v.calls = append(v.calls, "say "+msg) }
func (v *callView) take() string               { s := strings.Join(v.calls, "|"); v.calls = nil; return s }

// syslogServer listens on a datagram socket in a temporary directory.
func syslogServer(t *testing.T) (string, func() string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "log")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return sock, func() string {
		var got []string
		buf := make([]byte, 4096)
		for {
			c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			n, err := c.Read(buf)
			if err != nil {
				return strings.Join(got, "|")
			}
			got = append(got, string(buf[:n]))
		}
	}
}

// TestWhoKeepsWhat: each kind of record goes to the sinks it is for, and only to them: the
// journal keeps what a resume reads, the audit log all but the view's progress, the view the
// step lines and the person's lines, syslog the outcomes and anything at warning or above.
func TestWhoKeepsWhat(t *testing.T) {
	p := &plan.Plan{Steps: []plan.Step{{ID: "01-add"}}}
	failure := errors.New("mdadm said no")
	tests := []struct {
		rec     Record
		journal string // the journal's event, "" for none
		audit   string // the audit line's event, "" for none
		view    string
		syslog  string // a part of the syslog line, "" for none
	}{
		{Record{Kind: Plan, Plan: []byte(`{"steps":[]}`)}, "plan", "plan", "", "<30>"},
		{Record{Kind: Resume, Say: "resuming plan X"}, "", "resume", "say resuming plan X", "resuming plan X"},
		{Record{Kind: Stale, Level: Warning, Err: failure}, "", "stale", "", "<28>"},
		{Record{Kind: Started, Step: "01-add", Argv: []string{"mdadm", "--add"}}, "started", "started", "starting 01-add mdadm --add", ""},
		{Record{Kind: Command, Step: "01-add", Argv: []string{"mdadm"}}, "", "command", "", ""},
		{Record{Kind: Command, Level: Error, Step: "01-add", Argv: []string{"mdadm"}, Err: failure}, "", "command", "", "<27>"},
		{Record{Kind: Done, Step: "01-add"}, "done", "done", "done 01-add", "step 01-add: step done"},
		{Record{Kind: Skipped, Step: "01-add", Say: "already true on the system"}, "skipped", "skipped", "skipped 01-add already true on the system", "step 01-add"},
		{Record{Kind: Recalled, Step: "01-add", Say: "done in an earlier run"}, "", "", "skipped 01-add done in an earlier run", ""},
		{Record{Kind: Refused, Level: Error, Step: "01-add", Err: failure}, "refused", "refused", "", "mdadm said no"},
		{Record{Kind: Failed, Level: Error, Step: "01-add", Err: failure, ExitCode: 1}, "failed", "failed", "", "<27>"},
		{Record{Kind: Interrupted, Step: "01-add", Err: failure}, "", "interrupted", "", "wait interrupted"},
		{Record{Kind: Raced, Level: Warning, Step: "01-add", Say: "exited 1 but holds"}, "", "raced", "say exited 1 but holds", "<28>"},
		{Record{Kind: Note, Name: "clone", Step: "01-add", Data: map[string]string{"clone_to": "/dev/vdb"}, Say: "cloned"}, "note", "clone", "say cloned", ""},
		{Record{Kind: Note, Name: "led", Level: Warning, Data: map[string]string{"led": "error"}}, "note", "led", "", "<28>"},
		{Record{Kind: Did, Name: "preflight", Lists: map[string][]string{"programs": {"mdadm"}}}, "", "preflight", "", ""},
		{Record{Kind: Said, Say: "wrote BootOrder"}, "", "said", "say wrote BootOrder", ""},
		{Record{Kind: Waiting, Step: "01-add", Say: "waiting for vdb"}, "", "", "waiting 01-add waiting for vdb", ""},
		{Record{Kind: Rebuild}, "", "", "rebuild", ""},
		{Record{Kind: Finished, Say: "done: every step holds"}, "finished", "finished", "say done: every step holds", "done: every step holds"},
		{Record{Kind: Aborted}, "aborted", "aborted", "", ""},
		{Record{Kind: MDEvent, Level: Critical, Msg: "Fail event on /dev/md0", MD: &MD{Event: "Fail", Array: "/dev/md0"}}, "", "mdadm", "", "<26>"},
	}
	for _, tt := range tests {
		t.Run(string(tt.rec.Kind)+"/"+tt.rec.Name, func(t *testing.T) {
			j, err := journal.Open(t.TempDir(), "test")
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			var audit bytes.Buffer
			v := &callView{}
			sock, heard := syslogServer(t)
			s := Stream{Journal(j), Audit(&audit, nil, "plan", "abc"), View(v, func() *plan.Plan { return p }), Syslog(sock, "plan abc: ")}
			if err := s.Emit(tt.rec); err != nil {
				t.Fatal(err)
			}
			gotJ := ""
			if len(j.Records) == 1 {
				gotJ = j.Records[0].Event
			} else if len(j.Records) > 1 {
				t.Fatalf("journal has %d records", len(j.Records))
			}
			if gotJ != tt.journal {
				t.Errorf("journal kept %q, want %q", gotJ, tt.journal)
			}
			gotA := ""
			if audit.Len() > 0 {
				var line map[string]any
				if err := json.Unmarshal(audit.Bytes(), &line); err != nil {
					t.Fatalf("audit line %q: %v", audit.String(), err)
				}
				gotA, _ = line["event"].(string)
				if tt.rec.MD == nil && line["plan"] != "abc" {
					t.Errorf("audit line without the plan: %s", audit.String())
				}
			}
			if gotA != tt.audit {
				t.Errorf("audit kept %q, want %q (%s)", gotA, tt.audit, audit.String())
			}
			if got := v.take(); got != tt.view {
				t.Errorf("view got %q, want %q", got, tt.view)
			}
			got := heard()
			if tt.syslog == "" && got != "" || tt.syslog != "" && !strings.Contains(got, tt.syslog) {
				t.Errorf("syslog got %q, want %q", got, tt.syslog)
			}
			if got != "" && !strings.Contains(got, "raidswap[") {
				t.Errorf("syslog line %q lacks its tag", got)
			}
		})
	}
}

// TestJournalKeepsStepFields: a started command's argv (not an in-process step's), a failure's
// exit code, stderr and error, and a note's data reach the journal.
func TestJournalKeepsStepFields(t *testing.T) {
	j, err := journal.Open(t.TempDir(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	s := Journal(j)
	for _, rec := range []Record{
		{Kind: Started, Step: "a", Argv: []string{"/sbin/mdadm", "--add"}},
		{Kind: Started, Step: "b", Argv: []string{"partition clone"}, InProcess: true},
		{Kind: Failed, Step: "a", Err: errors.New("exit status 1"), ExitCode: 1, Stderr: "busy"},
		{Kind: Note, Step: "c", Data: map[string]string{"k": "v"}},
	} {
		if err := s.Put(rec); err != nil {
			t.Fatal(err)
		}
	}
	r := j.Records
	if strings.Join(r[0].Argv, " ") != "/sbin/mdadm --add" || r[1].Argv != nil {
		t.Errorf("argv kept: %q and %q", r[0].Argv, r[1].Argv)
	}
	if r[2].ExitCode != 1 || r[2].Stderr != "busy" || r[2].Error != "exit status 1" {
		t.Errorf("failure kept as %+v", r[2])
	}
	if r[3].Data["k"] != "v" || r[3].Step != "c" {
		t.Errorf("note kept as %+v", r[3])
	}
}

// TestAuditMDLine: an md event's audit line, field for field, as the hook has always written
// it.
func TestAuditMDLine(t *testing.T) {
	var b bytes.Buffer
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600))
	err := Audit(&b, func() time.Time { return now }).Put(Record{Kind: MDEvent, Level: Critical, Msg: "Fail on /dev/md0", MD: &MD{
		Event: "Fail", Array: "/dev/md0", Member: "/dev/vdb2", Verdict: "degraded", Took: 42 * time.Millisecond,
		Disks: []string{"vdb (WD-X)"}, LED: []string{"vdb on"}, Textfile: "/t.prom", Inventory: "saved"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"level":"error","event":"mdadm","mdadm_event":"Fail","array":"/dev/md0","verdict":"degraded","ms":42,"member":"/dev/vdb2","disks":["vdb (WD-X)"],"led":["vdb on"],"textfile":"/t.prom","inventory":"saved","time":"2026-01-02T02:04:05.000000006Z","message":"Fail on /dev/md0"}` + "\n"
	if b.String() != want {
		t.Errorf("audit line\n%s\nwant\n%s", b.String(), want)
	}
}

type failSink struct{ err error }

func (f failSink) Put(Record) error { return f.err }

// TestEmitReachesEverySink: a sink that fails does not keep the record from the sinks after
// it; the errors come back joined. A best-effort sink reports its first failure, returns
// none, and is not tried again.
func TestEmitReachesEverySink(t *testing.T) {
	v := &callView{}
	full := errors.New("no space left on device")
	s := Stream{failSink{full}, View(v, func() *plan.Plan { return nil })}
	if err := s.Emit(Record{Kind: Said, Say: "hello"}); !errors.Is(err, full) {
		t.Errorf("Emit = %v, want the failing sink's error", err)
	}
	if got := v.take(); got != "say hello" {
		t.Errorf("the sink after the failing one got %q", got)
	}
	// Two failures are one line, as the hook's error line has always been.
	gone := errors.New("syslog: connection refused")
	err := Stream{failSink{full}, failSink{gone}}.Emit(Record{Kind: Said})
	if err == nil || err.Error() != "no space left on device; syslog: connection refused" || !errors.Is(err, full) || !errors.Is(err, gone) {
		t.Errorf("two failures: %v", err)
	}
	var reported []error
	be := Stream{BestEffort(failSink{full}, func(err error) { reported = append(reported, err) })}
	for range 3 {
		if err := be.Emit(Record{Kind: Said, Say: "x"}); err != nil {
			t.Errorf("best-effort Emit = %v, want nil", err)
		}
	}
	if len(reported) != 1 || !errors.Is(reported[0], full) {
		t.Errorf("reported %v", reported)
	}
}

// TestSyslogWithoutSocket: no /dev/log (a VM without syslog) is no error; a path that is not
// a socket is one.
func TestSyslogWithoutSocket(t *testing.T) {
	dir := t.TempDir()
	if err := Syslog(filepath.Join(dir, "log"), "").Put(Record{Kind: Finished}); err != nil {
		t.Errorf("missing socket: %v", err)
	}
	if err := Syslog(dir, "").Put(Record{Kind: Finished}); err == nil || !strings.HasPrefix(err.Error(), "syslog: ") {
		t.Errorf("a directory as the socket: %v", err)
	}
}
