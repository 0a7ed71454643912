package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestWizardNeedsTerminal: raidswap with no arguments and no terminal says so on one line,
// naming replace --yes and --plan, and exits 64.
func TestWizardNeedsTerminal(t *testing.T) {
	code, out, errOut := run(t)
	if code != ExitUsage || out != "" || strings.Count(errOut, "\n") != 1 ||
		!strings.Contains(errOut, "raidswap replace --yes") || !strings.Contains(errOut, "raidswap --plan") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestWizardOnCapture: on a terminal with --root (a capture), the wizard shows the system and
// the plan its answers give, and runs nothing (a capture is never acted on); raidswap --plan
// without a terminal still prints the plan as before.
func TestWizardOnCapture(t *testing.T) {
	var out, eb bytes.Buffer
	fp := &fakePrompter{}
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &eb, Interactive: true}, KeyPath: testKeyPath}
	f.SetPrompter(fp)
	code := Run(f, []string{"--root", fixture("failed")})
	if code != ExitOK || len(fp.asked) != 0 || !strings.Contains(out.String(), "The disk coming out: vdb (WD-WCC4N1KPB002)") ||
		!strings.Contains(out.String(), "PLAN: Replace failed disk vdb (WD-WCC4N1KPB002)") {
		t.Errorf("exit %d, asked %q, stdout %s, stderr %s", code, fp.asked, out.String(), eb.String())
	}
	code, plain, _ := run(t, "--plan", "--root", fixture("failed"))
	if code != ExitOK || strings.Contains(plain, "The disk coming out") || !strings.Contains(plain, "PLAN: Replace failed disk") {
		t.Errorf("--plan without a terminal: exit %d\n%s", code, plain)
	}
}
