package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/golden"
)

// TestPlanFromFixtures renders plans from captures of a real kernel (the VM fixtures) and
// compares them with golden files; the dates and versions are masked.
func TestPlanFromFixtures(t *testing.T) {
	tests := []struct {
		fixture, args, golden string
	}{
		{"failed", "--plan --failed WD-WCC4N1KPB002 --format markdown", "failed.md"},
		{"vanished", "--plan --failed WD-WCC4N1KPB002 --new WD-NEW --format text", "vanished.txt"},
		{"partial", "plan --failed vdb --format text", "partial.txt"},
		{"clean", "plan --replace --failed vdb --new WD-NEW --format text", "replace.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			code, out, errOut := run(t, append(strings.Fields(tt.args), "--root", fixture(tt.fixture))...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			out = maskPlan(out)
			golden.Check(t, filepath.Join("testdata", "plans", tt.golden), []byte(out))
		})
	}
}

// maskPlan hides what changes from run to run: the build time and anything hashed with it.
func maskPlan(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		switch {
		case strings.Contains(line, "built ") || strings.HasPrefix(line, "| Built |") || strings.Contains(line, "plan id") ||
			strings.HasPrefix(line, "| Plan id"):
			b.WriteString("(masked)\n")
		default:
			b.WriteString(line)
		}
	}
	return b.String()
}

func TestPlanBadInput(t *testing.T) {
	tests := []struct {
		args string
		code int
		want string
	}{
		{"--plan --failed vdb2", ExitRefused, "/dev/vdb2 (WD-WCC4N1KPB002): is a partition of vdb (WD-WCC4N1KPB002), not a disk"},
		{"--plan --failed /dev/md1", ExitRefused, "/dev/md1: is an md array, not a disk"},
		{"--plan --failed vdb --new WD-WCC4N1KPA001", ExitRefused, "vda (WD-WCC4N1KPA001): is the survivor"},
		{"--plan --failed vdb --new /dev/vdz", ExitRefused, "/dev/vdz: no such disk is attached"},
		{"--plan --failed vdb --replace --re-add", ExitUsage, "exclude each other"},
		{"plan --failed vdb --format yaml", ExitUsage, "unknown --format"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			code, out, errOut := run(t, append(strings.Fields(tt.args), "--root", fixture("failed"))...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d (want %d), stderr %q, want it to contain %q; stdout:\n%s", code, tt.code, errOut, tt.want, out)
			}
		})
	}
}

// TestPlanPicksFailed: without --failed, the plan is for the one disk that failed; with none
// (or several) the candidates are listed and nothing is planned.
func TestPlanPicksFailed(t *testing.T) {
	for _, fx := range []string{"failed", "vanished", "partial"} {
		code, out, errOut := run(t, "--plan", "--root", fixture(fx))
		if code != ExitOK || !strings.Contains(errOut, "the disk coming out: WD-WCC4N1KPB002") || !strings.Contains(out, "WD-WCC4N1KPB002") {
			t.Errorf("%s: exit %d, stderr %q", fx, code, errOut)
		}
	}
	code, _, errOut := run(t, "--plan", "--root", fixture("clean"))
	if code != ExitUsage || !strings.Contains(errOut, "no disk has failed, partially failed or vanished: name the disk coming out with --failed SERIAL") {
		t.Errorf("clean: exit %d, stderr %q", code, errOut)
	}
}

func TestApplyRefusals(t *testing.T) {
	dir := t.TempDir()
	planFile := filepath.Join(dir, "p.json")
	code, _, errOut := run(t, "--plan", "--failed", "vdb", "--format", "json", "--out", planFile, "--root", fixture("failed"))
	if code != ExitOK {
		t.Fatalf("plan: exit %d: %s", code, errOut)
	}
	good, _ := os.ReadFile(planFile)

	// No terminal, no --yes.
	code, _, errOut = run(t, "apply", planFile, "--journal-dir", filepath.Join(dir, "j"), "--lock", filepath.Join(dir, "lock"))
	if code != ExitUsage || !strings.Contains(errOut, "--yes required when not running interactively") {
		t.Errorf("apply without --yes: exit %d, %q", code, errOut)
	}
	// Edited by hand.
	edited := filepath.Join(dir, "edited.json")
	os.WriteFile(edited, bytes.Replace(good, []byte("/dev/vdb2"), []byte("/dev/vda2"), 1), 0o600)
	code, _, errOut = run(t, "apply", edited, "--yes")
	if code != ExitRefused || !strings.Contains(errOut, "edited by hand") {
		t.Errorf("edited plan: exit %d, %q", code, errOut)
	}
	// Another format.
	old := filepath.Join(dir, "old.json")
	os.WriteFile(old, bytes.Replace(good, []byte(`"format": 2`), []byte(`"format": 0`), 1), 0o600)
	code, _, errOut = run(t, "apply", old, "--yes")
	if code != ExitRefused || !strings.Contains(errOut, "plan format 0") {
		t.Errorf("old format: exit %d, %q", code, errOut)
	}
	// Against a capture.
	code, _, errOut = run(t, "apply", planFile, "--yes", "--root", fixture("failed"))
	if code != ExitUsage || !strings.Contains(errOut, "changes the live system only") {
		t.Errorf("apply --root: exit %d, %q", code, errOut)
	}
	// Interactive: the survivor's serial typed three times (once in lower case, once its last 4).
	var out, eb bytes.Buffer
	f := &Factory{IO: &IOStreams{In: strings.NewReader("WD-WCC4N1KPA001\nwd-wcc4n1kpa001\nA001\n"), Out: &out, ErrOut: &eb, Interactive: true}, KeyPath: testKeyPath}
	code = Run(f, []string{"apply", planFile, "--journal-dir", filepath.Join(dir, "j"), "--lock", filepath.Join(dir, "lock")})
	if code != ExitRefused || !strings.Contains(eb.String(), `one matched WD-WCC4N1KPA001, a disk you must KEEP: nothing was done`) ||
		!strings.Contains(out.String(), "that is the disk you must KEEP") {
		t.Errorf("wrong confirmation: exit %d, %q", code, eb.String())
	}
}

func TestResumeNothing(t *testing.T) {
	code, _, errOut := run(t, "resume", "--journal-dir", t.TempDir(), "--lock", filepath.Join(t.TempDir(), "l"))
	if code != ExitRefused || !strings.Contains(errOut, "nothing to resume") {
		t.Errorf("exit %d, %q", code, errOut)
	}
}

func TestWatchCapture(t *testing.T) {
	code, out, _ := run(t, "watch", "--root", fixture("recovering"))
	if code != ExitCritical || !strings.Contains(out, "rebuild: md0") {
		t.Errorf("exit %d, output %q", code, out)
	}
	code, out, _ = run(t, "watch", "--root", fixture("clean"))
	if code != ExitOK || !strings.Contains(out, "no rebuild is running") {
		t.Errorf("clean: exit %d, output %q", code, out)
	}
}

func TestForgetRefusals(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "lock")
	code, _, errOut := run(t, "forget", "md0", "--lock", lock, "--root", fixture("clean"))
	if code != ExitUsage || !strings.Contains(errOut, "changes the live system only") {
		t.Errorf("--root: exit %d, %q", code, errOut)
	}
}

// TestPlanOutFollowsFormat: --out writes the plan in --format's format (issue 20: --format
// markdown --out plan.md wrote JSON into plan.md); without --format it writes the JSON plan
// apply takes.
func TestPlanOutFollowsFormat(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, format string
		json         bool
		note         string
	}{
		{"plan.md", "markdown", false, "as markdown, for people"},
		{"plan.txt", "text", false, "as text, for people"},
		{"plan.json", "json", true, "apply it with: raidswap apply"},
		{"plan.plan", "", true, "apply it with: raidswap apply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, tt.name)
			args := []string{"--plan", "--failed", "vdb", "--out", file, "--root", fixture("failed")}
			if tt.format != "" {
				args = append(args, "--format", tt.format)
			}
			code, out, errOut := run(t, args...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			saved, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if got := json.Valid(saved); got != tt.json {
				t.Errorf("%s holds JSON: %v, want %v; it begins %q", tt.name, got, tt.json, string(saved[:min(len(saved), 80)]))
			}
			if tt.format != "" && tt.format != "json" && maskPlan(string(saved)) != maskPlan(out) {
				t.Errorf("%s differs from the %s plan on stdout", tt.name, tt.format)
			}
			if !strings.Contains(errOut, tt.note) {
				t.Errorf("stderr %q, want it to contain %q", errOut, tt.note)
			}
		})
	}
}
