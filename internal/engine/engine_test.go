package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/paths"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plankey"
)

// unpack unpacks one of discover's captured trees (a host with md0 and md1 on vda and vdb)
// into a temporary root.
func unpack(t *testing.T, name string) *host.Root {
	t.Helper()
	in, err := os.Open(filepath.Join("..", "discover", "testdata", "fixtures", name+".tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dir := t.TempDir()
	if _, err := capture.Unpack(in, dir); err != nil {
		t.Fatal(err)
	}
	return host.NewRoot(dir)
}

// noRunner fails the test on any command: composing and planning run none.
type noRunner struct{ t *testing.T }

func (r noRunner) Run(_ context.Context, argv ...string) (host.Result, error) {
	r.t.Errorf("unexpected command %q", argv)
	return host.Result{}, errors.New("no command may run here")
}

// TestEnvComposition: what the engine wires for the host and for a drill's lab. On the host,
// discovery sees the whole system, the bay LEDs are driven through the Root and the Runner,
// and a plan names the one failed disk by itself; confined to a lab (Scope), discovery sees
// none of the host's disks or arrays, no LED is driven, and nothing is planned for the host's
// failed disk. Neither applies a plan to a capture.
func TestEnvComposition(t *testing.T) {
	for _, c := range []struct {
		name  string
		scope *discover.Scope
		// arrays and disks discovery sees
		arrays, disks int
		leds          bool
		// planned: the failed disk the plan names; "" when planning must fail
		planned string
	}{
		{name: "host", arrays: 2, disks: 2, leds: true, planned: "WD-WCC4N1KPB002"},
		{name: "drill lab", scope: &discover.Scope{Lab: "/var/tmp/raidswap-drill-x", BootMount: "/var/tmp/raidswap-drill-x/boot"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := unpack(t, "failed")
			var notes bytes.Buffer
			dir := t.TempDir()
			e := &Env{Root: root, Runner: noRunner{t}, Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
				Version: "test", Paths: paths.Paths{Key: filepath.Join(dir, "key"), Journal: filepath.Join(dir, "journal"),
					Lock: filepath.Join(dir, "lock")}, Notes: &notes, Scope: c.scope}

			sys, err := e.Discover()
			if err != nil {
				t.Fatal(err)
			}
			if len(sys.Arrays) != c.arrays || len(sys.Disks) != c.disks {
				t.Errorf("discovery sees %d arrays and %d disks, want %d and %d", len(sys.Arrays), len(sys.Disks), c.arrays, c.disks)
			}

			switch l := e.leds().(type) {
			case nil:
				if c.leds {
					t.Error("no LED driver on the host")
				}
			case exec.SysLEDs:
				if !c.leds {
					t.Error("a drill drives bay LEDs")
				}
				if l.Root != root {
					t.Error("the LED driver reads another root than discovery")
				}
				if _, ok := l.Runner.(noRunner); !ok {
					t.Errorf("the LED driver runs commands through %T, not the Env's Runner", l.Runner)
				}
			default:
				t.Errorf("LED driver %T", l)
			}

			p, err := e.Plan(plan.Request{Mode: plan.ReplaceFailed}, false)
			if c.planned == "" {
				if err == nil || !strings.Contains(err.Error(), "no disk has failed") {
					t.Errorf("a lab without drill disks: %v, want no failed disk found", err)
				}
			} else {
				if err != nil {
					t.Fatalf("plan: %v", err)
				}
				if p.Disks.Failed.Serial != c.planned || !strings.Contains(notes.String(), "the disk coming out: "+c.planned) {
					t.Errorf("plan for %q, notes %q; want %s picked and said", p.Disks.Failed.Serial, notes.String(), c.planned)
				}
				if p.Request.Firmware != plan.FirmwareBIOS {
					t.Errorf("firmware %q: a capture that names none is planned as BIOS", p.Request.Firmware)
				}
				if _, err := e.Apply(context.Background(), p, nil, nil, RunOptions{}); err == nil || !strings.Contains(err.Error(), "live system only") {
					t.Errorf("apply on a capture: %v", err)
				}
				if _, err := os.Stat(e.Paths.Journal); err == nil {
					t.Error("a refused apply created the journal directory")
				}
			}
		})
	}
}

// TestEnvPlanRefusals: a root without md (no /proc/mdstat) cannot be planned for, and a plan for the
// live system that must be sealed refuses a plan key anyone may read.
func TestEnvPlanRefusals(t *testing.T) {
	empty := t.TempDir()
	for p, s := range map[string]string{"sys/block/vda/size": "524288\n"} {
		if err := os.MkdirAll(filepath.Join(empty, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(empty, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := &Env{Root: host.NewRoot(empty), Runner: noRunner{t}}
	_, err := e.Plan(plan.Request{Mode: plan.ReplaceFailed}, false)
	var cp *CannotPlanError
	if !errors.As(err, &cp) {
		t.Errorf("an empty root: %v, want a CannotPlanError", err)
	}

	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, make([]byte, plankey.Size), 0o644); err != nil {
		t.Fatal(err)
	}
	e = &Env{Paths: paths.Paths{Key: key}}
	var ke *KeyError
	if _, err := e.Key(true); !errors.As(err, &ke) || !strings.Contains(err.Error(), "0644") {
		t.Errorf("a key anyone may read, needed: %v, want a KeyError naming its mode", err)
	}
	if k, err := e.Key(false); err != nil || len(k) != plankey.Size {
		t.Errorf("a key anyone may read, not needed: %d bytes, %v; want an ephemeral key", len(k), err)
	}
}

// TestEnvUnfinished: resume finds the one unfinished run, and says why when there is none,
// more than one, or one that does not start with its plan.
func TestEnvUnfinished(t *testing.T) {
	open := `{"time":"2026-01-02T03:04:05Z","event":"started","step":"01-locate"}` + "\n"
	planless := `{"time":"2026-01-02T03:04:05Z","event":"` + journal.EventPlan + `"}` + "\n"
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no journal directory", nil, "nothing to resume"},
		{"only finished runs", map[string]string{"a.jsonl": open + `{"event":"` + journal.EventFinished + `"}` + "\n"}, "nothing to resume"},
		{"two unfinished runs", map[string]string{"a.jsonl": open, "b.jsonl": open}, "more than one unfinished journal"},
		{"a run without its plan", map[string]string{"a.jsonl": open}, "does not start with its plan"},
		{"a plan record without the plan", map[string]string{"a.jsonl": planless + open}, "does not start with its plan"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "journal")
			if c.files != nil {
				if err := os.MkdirAll(dir, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			for n, s := range c.files {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			e := &Env{Paths: paths.Paths{Journal: dir, Key: filepath.Join(t.TempDir(), "key")}}
			_, _, err := e.Unfinished()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// recRunner records the commands it is asked to run and says each succeeded.
type recRunner struct{ ran []string }

func (r *recRunner) Run(_ context.Context, argv ...string) (host.Result, error) {
	r.ran = append(r.ran, strings.Join(argv, " "))
	return host.Result{}, nil
}

// TestLocateOutsideRun: the wizard's LED before the label question goes through the LED
// driver of the run, re-checked on a fresh discovery: a bay LED of the failed disk is lit
// and turned off; one whose disk has another kernel name now, or one under a drill's scope,
// is refused and nothing runs.
func TestLocateOutsideRun(t *testing.T) {
	root := unpack(t, "failed")
	run := &recRunner{}
	e := &Env{Root: root, Runner: run, Version: "test"}
	l := &plan.LED{Method: identify.LEDLedctl, Device: "vdb", Serial: "WD-WCC4N1KPB002", Whose: plan.LEDFailed}
	if err := e.Locate(context.Background(), l, true); err != nil {
		t.Fatal(err)
	}
	if err := e.Locate(context.Background(), l, false); err != nil {
		t.Fatal(err)
	}
	if len(run.ran) != 2 || !strings.Contains(run.ran[0], "locate=/dev/vdb") || !strings.Contains(run.ran[1], "locate_off=/dev/vdb") {
		t.Errorf("ran %q", run.ran)
	}
	moved := *l
	moved.Device = "vdc"
	if err := e.Locate(context.Background(), &moved, true); err == nil || !strings.Contains(err.Error(), "build a new plan") {
		t.Errorf("a disk with another name now: %v", err)
	}
	e.Scope = &discover.Scope{Lab: "/var/tmp/raidswap-drill-x", BootMount: "/var/tmp/raidswap-drill-x/boot"}
	if err := e.Locate(context.Background(), l, true); err == nil {
		t.Error("a drill lit a bay")
	}
	if len(run.ran) != 2 {
		t.Errorf("ran %q", run.ran)
	}
}
