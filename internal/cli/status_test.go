package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb}, KeyPath: testKeyPath}
	code := Run(f, args)
	return code, out.String(), errb.String()
}

// testKeyPath is the plan key every test of the package shares, so that a plan one command
// saves is accepted by the next.
var testKeyPath = filepath.Join(os.TempDir(), fmt.Sprintf("raidswap-cli-test-%d.key", os.Getuid()))

func fixture(name string) string {
	return filepath.Join("..", "discover", "testdata", "fixtures", name+".tar.gz")
}

func TestStatusExitCodes(t *testing.T) {
	tests := []struct {
		fixture string
		code    int
		want    string
	}{
		{"clean", ExitOK, "OK: 2 array(s) clean"},
		{"recovering", ExitCritical, "CRITICAL: md0 is recovering from its last good copy"},
		{"failed", ExitCritical, "disk vdb (WD-WCC4N1KPB002) has failed"},
		{"vanished", ExitCritical, "vdb (WD-WCC4N1KPB002) is gone from the system; last seen"},
		{"partial", ExitCritical, "disk vdb (WD-WCC4N1KPB002) has partially failed"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			code, out, errOut := run(t, "status", "--root", fixture(tt.fixture))
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d (want %d), stderr %q, output:\n%s\nwant it to contain %q", code, tt.code, errOut, out, tt.want)
			}
			code, out, _ = run(t, "status", "--root", fixture(tt.fixture), "--json")
			var v struct{ Verdict string }
			if err := json.Unmarshal([]byte(out), &v); err != nil || code != tt.code {
				t.Errorf("--json: exit %d, %v", code, err)
			}
		})
	}
}

func TestStatusCannotJudge(t *testing.T) {
	empty := t.TempDir()
	code, out, errOut := run(t, "status", "--root", empty)
	if code != ExitUnknown || out != "" || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "not a system root") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	notGzip := filepath.Join(t.TempDir(), "x.tar.gz")
	if err := os.WriteFile(notGzip, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = run(t, "status", "--root", notGzip)
	if code != ExitUnknown || !strings.Contains(errOut, "not a raidswap capture") {
		t.Errorf("not a capture: exit %d, stderr %q", code, errOut)
	}
	noMD := t.TempDir()
	if err := os.MkdirAll(filepath.Join(noMD, "sys", "block"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, "status", "--root", noMD)
	if code != ExitUnknown || !strings.Contains(out, "this kernel has no md driver") {
		t.Errorf("no md: exit %d, output %q", code, out)
	}
	code, _, errOut = run(t, "status", "--root", noMD, "--format", "xml")
	if code != ExitUsage || !strings.Contains(errOut, "unknown --format") {
		t.Errorf("bad format: exit %d, stderr %q", code, errOut)
	}
}

// A capture must never be acted on: with --root, the Runner refuses.
func TestRootRefusesCommands(t *testing.T) {
	f := &Factory{IO: &IOStreams{}, RootDir: t.TempDir()}
	if _, err := f.Runner().Run(t.Context(), "/sbin/mdadm", "--detail", "/dev/md0"); err == nil {
		t.Error("a command ran with --root set")
	}
}
