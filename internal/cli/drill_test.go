package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

// drillRun runs `raidswap drill` with a fixture root and a root/non-root answer.
func drillRun(t *testing.T, mdstat, isRoot, interactive bool, o DrillOptions) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if mdstat {
		if err := os.WriteFile(filepath.Join(dir, "proc", "mdstat"), []byte("Personalities : [raid1]\nunused devices: <none>\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, Interactive: interactive}, KeyPath: testKeyPath,
		NewRunner: func() host.Runner { return host.NoRunner{Reason: "test: the drill must not run a command here"} }}
	o.F = f
	o.Root = host.NewRoot(dir)
	o.IsRoot = func() bool { return isRoot }
	if o.Scenario == "" {
		o.Scenario = "failed-member"
	}
	err := runDrill(nil, &o)
	code := ExitOK
	if err != nil {
		code = exitCode(err)
		if ec, ok := err.(*ExitCodeError); ok && ec.Err != nil {
			errb.WriteString("raidswap: " + ec.Err.Error() + "\n")
		}
	}
	return code, out.String(), errb.String()
}

// TestDrillRefusals: each refusal is one line with its own exit code, and nothing runs.
func TestDrillRefusals(t *testing.T) {
	tests := []struct {
		name              string
		mdstat, root, tty bool
		o                 DrillOptions
		code              int
		want              string
	}{
		{"no terminal, no --auto", true, true, false, DrillOptions{}, ExitUsage, "add --auto"},
		{"kernel without md", false, true, false, DrillOptions{Auto: true}, ExitNoMD, "sudo make drill"},
		{"not root", true, false, false, DrillOptions{Auto: true}, ExitNotRoot, "needs root"},
		{"unknown scenario", true, true, false, DrillOptions{Auto: true, Scenario: "meteor-strike"}, ExitUsage, `unknown scenario "meteor-strike"`},
		{"relative --dir", true, true, false, DrillOptions{Auto: true, Dir: "relative/x"}, ExitUsage, `--dir "relative/x": the lab base must be an absolute path`},
		{"relative --dir, --cleanup", true, true, false, DrillOptions{Cleanup: true, Dir: "x"}, ExitUsage, `--dir "x": the lab base must be an absolute path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := drillRun(t, tt.mdstat, tt.root, tt.tty, tt.o)
			if code != tt.code || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q (want one line with %q)", code, tt.code, out, errOut, tt.want)
			}
		})
	}
}

// TestDrillNeedsTerminalFromTheCommandLine: the real command line without a terminal.
func TestDrillNeedsTerminalFromTheCommandLine(t *testing.T) {
	code, out, errOut := run(t, "drill")
	if code != ExitUsage || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "--auto") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
