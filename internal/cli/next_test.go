package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/drill"
	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/partition"
)

// TestNextAfterRun: every way a run ends gives one next step, and the ones that left a
// journal point at resume (or abort) while the ones that changed nothing say so.
func TestNextAfterRun(t *testing.T) {
	const j = "/var/lib/raidswap/journal/p1.jsonl"
	for _, tc := range []struct {
		name     string
		err      error
		journal  string
		unproven []string
		want     string
		not      string
	}{
		{"finished", nil, j, nil, "`raidswap status` shows the arrays redundant again", "not proven"},
		{"finished, boot not proven", nil, j, []string{"vdc (WD-NEW) (unknown: no boot code read)"}, "boot code not proven on vdc (WD-NEW)", ""},
		{"stopped after a step", exec.ErrStopped, j, nil, "`raidswap resume` continues", ""},
		{"signal after the journal", &SignalError{}, j, nil, "`raidswap resume` continues from where this stopped", "nothing was changed"},
		{"signal before the journal", &SignalError{}, "", nil, "nothing was changed", "resume"},
		{"cancelled", WithCode(ExitFailed, context.Canceled), j, nil, "`raidswap resume`", ""},
		{"wait timed out", &exec.WaitTimeoutError{}, j, nil, "`raidswap resume` waits again", ""},
		{"second failure", &exec.SecondFailureError{}, j, nil, "`raidswap abort` closes this run", "resume"},
		{"locked", WithCode(ExitRefused, &exec.LockedError{}), "", nil, "let the other raidswap finish", ""},
		{"stale plan", &plan.StaleError{}, "", nil, "build a new one with `raidswap --plan`", ""},
		{"other machine, resume", &plan.InvalidError{}, j, nil, "`raidswap abort` closes its run", ""},
		{"other machine, apply", &plan.InvalidError{}, "", nil, "nothing was changed", ""},
		{"nothing to resume", &engine.NothingToResumeError{}, "", nil, "`raidswap status` says whether a disk needs replacing", ""},
		{"two journals", &engine.JournalError{}, "", nil, "`raidswap abort` closes the newest", ""},
		{"which disk", &plan.AmbiguousError{}, "", nil, "--failed SERIAL", ""},
		{"cannot plan", &engine.CannotPlanError{}, "", nil, "nothing was changed", "resume"},
		{"refused mid-run", &exec.RefusedError{}, j, nil, "then `raidswap resume`; `raidswap abort`", ""},
		{"precondition mid-run", &exec.PreconditionError{}, j, nil, "then `raidswap resume`", ""},
		{"partition refused mid-run", &partition.RefusedError{}, j, nil, "then `raidswap resume`", ""},
		{"step failed", &exec.StepFailedError{Err: errors.New("exit 1")}, j, nil, "the journal " + j + " has the failed command's output", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := nextAfterRun(tc.err, tc.journal, tc.unproven)
			if !strings.Contains(got, tc.want) || (tc.not != "" && strings.Contains(got, tc.not)) {
				t.Errorf("next %q: want %q in it, and not %q", got, tc.want, tc.not)
			}
		})
	}
}

// unfinishedRun saves the failed fixture's plan and a journal of its run with the first
// `done` steps done; it returns the journal directory.
func unfinishedRun(t *testing.T, dir string, done int) string {
	t.Helper()
	planFile := filepath.Join(dir, "p.json")
	if code, _, errOut := run(t, "--plan", "--failed", "vdb", "--format", "json", "--out", planFile, "--root", fixture("failed")); code != ExitOK {
		t.Fatalf("plan: %d %s", code, errOut)
	}
	body, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Checksum string
		Steps    []struct{ ID string }
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(p.Checksum, "hmac-sha256:")[:12]
	jdir := filepath.Join(dir, "journal")
	os.MkdirAll(jdir, 0o700)
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		t.Fatal(err)
	}
	recs := `{"time":"2026-12-01T00:00:00Z","event":"plan","plan":` + compact.String() + "}\n"
	for _, s := range p.Steps[:done] {
		recs += fmt.Sprintf(`{"time":"2026-12-01T00:00:01Z","event":"done","step":%q}`+"\n", s.ID)
	}
	if err := os.WriteFile(filepath.Join(jdir, id+".jsonl"), []byte(recs), 0o600); err != nil {
		t.Fatal(err)
	}
	return jdir
}

// TestEveryEndSaysNext: replace, apply, resume and abort end with one "Next:" line, on
// stdout when they succeed and after the error on stderr when they do not; resume shows
// what was done and what remains instead of the whole plan.
func TestEveryEndSaysNext(t *testing.T) {
	for _, tc := range []struct {
		name        string
		args        []string
		journal     int // steps done in an unfinished run's journal; -1: no journal
		typed       []string
		code        int
		out, errOut []string
		notOut      []string
	}{
		{name: "resume without a terminal", args: []string{"resume"}, journal: 3, code: ExitUsage,
			out:    []string{"resuming plan", "steps done,", "  done ", "-detach-md1: /sbin/mdadm /dev/md1 --fail /dev/vdb4", "  next ", "  to do ", "-add-md0: /sbin/mdadm /dev/md0 --add {new:2}", "new disk: not chosen yet"},
			errOut: []string{"--yes required", "\nNext: run it on a terminal to confirm by typing the serial, or add --yes\n"}, notOut: []string{"PLAN:"}},
		{name: "resume declined", args: []string{"resume"}, journal: 3, typed: []string{"WD-WRONG", "", "x", "y"}, code: ExitRefused,
			out:    []string{"  done ", "  next ", "  to do "},
			errOut: []string{`3 answers did not match the disk's label (last: "y")`, "Next: nothing more was done; `raidswap resume` asks again"}, notOut: []string{"PLAN:"}},
		{name: "resume, nothing to resume", args: []string{"resume", "--yes"}, journal: -1, code: ExitRefused,
			errOut: []string{"nothing to resume", "Next: `raidswap status` says whether a disk needs replacing"}},
		{name: "abort", args: []string{"abort"}, journal: 3, code: ExitOK,
			out: []string{"aborted; its journal", "\nNext: `raidswap status` shows the arrays as they are now; `sudo raidswap` (or `raidswap --plan`) builds a new plan\n"}},
		{name: "abort, nothing to abort", args: []string{"abort"}, journal: -1, code: ExitRefused,
			errOut: []string{"nothing to resume", "Next: `raidswap status` says whether a disk needs replacing"}},
		{name: "apply, no such plan file", args: []string{"apply", "/nonexistent/p.json", "--yes"}, journal: -1, code: ExitUsage,
			errOut: []string{"no such file", "Next: nothing was changed"}},
		{name: "replace refused", args: []string{"replace", "--failed", "WD-NOSUCHDISK", "--yes"}, journal: -1, code: ExitRefused,
			errOut: []string{"Next: nothing was changed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			jdir := filepath.Join(dir, "journal")
			if tc.journal >= 0 {
				jdir = unfinishedRun(t, dir, tc.journal)
			}
			var out, eb bytes.Buffer
			f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &eb, Interactive: tc.typed != nil}, KeyPath: testKeyPath}
			if tc.typed != nil {
				f.SetPrompter(&fakePrompter{typed: tc.typed})
			}
			code := Run(f, append(tc.args, "--journal-dir", jdir, "--lock", filepath.Join(dir, "lock")))
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			for _, w := range tc.out {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q", w)
				}
			}
			for _, w := range tc.errOut {
				if !strings.Contains(eb.String(), w) {
					t.Errorf("stderr lacks %q", w)
				}
			}
			for _, w := range tc.notOut {
				if strings.Contains(out.String(), w) {
					t.Errorf("stdout holds %q", w)
				}
			}
			all := out.String() + eb.String()
			if n := strings.Count(all, "Next: "); n != 1 {
				t.Errorf("%d Next lines, want 1", n)
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), eb.String())
			}
		})
	}
}

// TestNextAfterDrill: the score card ends with what to do next, from how the drill ended.
func TestNextAfterDrill(t *testing.T) {
	pass := &drill.Card{Scenario: "failed-disk", Result: drill.Pass, Expected: drill.Pass}
	fail := &drill.Card{Scenario: "interrupted", Result: drill.Fail, Expected: drill.Pass}
	kept := &drill.Card{Scenario: "failed-disk", Result: drill.Pass, Expected: drill.Pass, Kept: true, Lab: "/var/lib/raidswap/drill/lab-1"}
	dirty := &drill.Card{Scenario: "failed-disk", Result: drill.Pass, Expected: drill.Pass, CleanupError: "loop0 busy"}
	for _, tc := range []struct {
		name    string
		cards   drill.Cards
		stopped bool
		all     bool
		want    string
	}{
		{"one scenario passed", drill.Cards{pass}, false, false, "`sudo raidswap drill --scenario all`"},
		{"every scenario passed", drill.Cards{pass, pass}, false, true, "`raidswap status`, then `sudo raidswap`"},
		{"one failed", drill.Cards{pass, fail}, false, true, "`sudo raidswap drill --scenario interrupted --keep`"},
		{"kept", drill.Cards{kept}, false, false, "lab at /var/lib/raidswap/drill/lab-1, then `sudo raidswap drill --cleanup`"},
		{"cleanup failed", drill.Cards{dirty}, false, false, "`sudo raidswap drill --cleanup` removes what the drill could not"},
		{"stopped", drill.Cards{fail}, true, false, "`sudo raidswap drill --cleanup` removes what is left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextAfterDrill(tc.cards, tc.stopped, tc.all); !strings.Contains(got, tc.want) {
				t.Errorf("next %q, want %q in it", got, tc.want)
			}
		})
	}
}

// TestUnprovenBoot: after a finished run, the survivor's or new disk's boot code that the
// live system does not show ready is named; boot code typed by hand is never proven.
func TestUnprovenBoot(t *testing.T) {
	p := &plan.Plan{Disks: plan.Disks{Survivor: plan.DiskRef{Device: "vda", Serial: "WD-A"}, Failed: plan.DiskRef{Device: "vdb", Serial: "WD-B"}}}
	disk := func(name, serial string, state bootloader.BootState) discover.Disk {
		return discover.Disk{Name: name, Serial: serial, Present: true, Boot: &bootloader.Readiness{State: state, Reason: "no boot code in the MBR"}}
	}
	byHand := &plan.Plan{Disks: p.Disks, Steps: []plan.Step{{ID: "bootloader-by-hand-new", Action: plan.ActionBootByHand}}}
	for _, tc := range []struct {
		name string
		p    *plan.Plan
		sys  *discover.System
		want string
	}{
		{"both ready", p, &discover.System{Disks: []discover.Disk{disk("vda", "WD-A", bootloader.BootOK), disk("vdc", "WD-C", bootloader.BootOK)}}, ""},
		{"new disk missing", p, &discover.System{Disks: []discover.Disk{disk("vda", "WD-A", bootloader.BootOK), disk("vdc", "WD-C", bootloader.BootMissing)}}, "vdc (WD-C) (missing: no boot code in the MBR)"},
		{"survivor unknown", p, &discover.System{Disks: []discover.Disk{disk("vda", "WD-A", bootloader.BootUnknown), disk("vdc", "WD-C", bootloader.BootOK)}}, "vda (WD-A) (unknown: no boot code in the MBR)"},
		{"not judged", p, &discover.System{Disks: []discover.Disk{disk("vda", "WD-A", ""), disk("vdc", "WD-C", "")}}, ""},
		{"by hand", byHand, &discover.System{}, "any disk (its GRUB commands were typed by hand)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(unprovenBoot(tc.p, tc.sys, "WD-C"), "; "); got != tc.want {
				t.Errorf("unproven %q, want %q", got, tc.want)
			}
		})
	}
}
