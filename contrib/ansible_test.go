package contrib

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/testbin"
)

// unpack unpacks one of discover's captured trees into a temporary root.
func unpack(t *testing.T, name string) string {
	t.Helper()
	in, err := os.Open(filepath.Join("..", "internal", "discover", "testdata", "fixtures", name+".tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dir := t.TempDir()
	if _, err := capture.Unpack(in, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// playbook runs contrib/ansible/playbook.yml with Debian's ansible-playbook against the
// hosts of the given inventory, all on this machine (connection: local), and returns its
// output and error.
func playbook(t *testing.T, inventory string, extra ...string) (string, error) {
	t.Helper()
	ap := need(t, "ansible-playbook")
	dir := t.TempDir()
	inv := filepath.Join(dir, "hosts.ini")
	if err := os.WriteFile(inv, []byte(inventory), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-i", inv, "playbook.yml", "-e", "raidswap_become=false"}
	for _, e := range extra {
		args = append(args, "-e", e)
	}
	cmd := exec.Command(ap, args...)
	cmd.Dir = "ansible"
	cmd.Env = append(os.Environ(), "HOME="+dir, "ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "tmp"),
		"ANSIBLE_REMOTE_TEMP="+filepath.Join(dir, "rtmp"), "ANSIBLE_ASYNC_DIR="+filepath.Join(dir, "async"),
		"ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0",
		"ANSIBLE_CONFIG="+filepath.Join("..", "ansible", "ansible.cfg"))
	out, err := cmd.CombinedOutput()
	if testing.Verbose() {
		t.Logf("ansible-playbook %s:\n%s", strings.Join(args, " "), out)
	}
	return string(out), err
}

// TestToolAnsibleStatusAndPlans collects status --json from two "hosts" (a failed and a clean
// captured system, read through --root) and the failed one's plan as markdown and JSON.
func TestToolAnsibleStatusAndPlans(t *testing.T) {
	rs := testbin.Raidswap(t)
	failed, clean := unpack(t, "failed"), unpack(t, "clean")
	collect := t.TempDir()
	inv := fmt.Sprintf(`[raidswap]
db1 ansible_connection=local ansible_python_interpreter=/usr/bin/python3 raidswap_root=%s
db2 ansible_connection=local ansible_python_interpreter=/usr/bin/python3 raidswap_root=%s
`, failed, clean)
	vars := []string{"raidswap_bin=" + rs, "raidswap_collect_dir=" + collect}
	out, err := playbook(t, inv, vars...)
	if err != nil {
		t.Fatalf("status run: %v\n%s", err, out)
	}
	for host, want := range map[string]string{"db1": "critical", "db2": "ok"} {
		var st struct{ Verdict string }
		b, err := os.ReadFile(filepath.Join(collect, host, "status.json"))
		if err != nil || json.Unmarshal(b, &st) != nil || st.Verdict != want {
			t.Errorf("%s status.json: verdict %q, want %q (%v)", host, st.Verdict, want, err)
		}
		if _, err := os.Stat(filepath.Join(collect, host, "plan.md")); err == nil {
			t.Errorf("%s: a status run collected a plan", host)
		}
	}
	if !regexp.MustCompile(`"db1: CRITICAL: [^"]*disk vdb \(WD-WCC4N1KPB002\) has failed"`).MatchString(out) ||
		!strings.Contains(out, `"db2: OK: `) {
		t.Errorf("the run does not say db1's verdict:\n%s", out)
	}

	out, err = playbook(t, inv, append(vars, "raidswap_action=plan")...)
	if err != nil {
		t.Fatalf("plan run: %v\n%s", err, out)
	}
	md, err := os.ReadFile(filepath.Join(collect, "db1", "plan.md"))
	if err != nil || !strings.Contains(string(md), "WD-WCC4N1KPB002") || !strings.HasPrefix(string(md), "#") {
		t.Errorf("db1 plan.md: %v\n%s", err, md)
	}
	var p struct {
		Format int `json:"format"`
		Steps  []any
	}
	b, err := os.ReadFile(filepath.Join(collect, "db1", "plan.json"))
	if err != nil || json.Unmarshal(b, &p) != nil || p.Format == 0 || len(p.Steps) == 0 {
		t.Errorf("db1 plan.json: %v, %d steps:\n%.400s", err, len(p.Steps), b)
	}
	if _, err := os.Stat(filepath.Join(collect, "db2", "plan.md")); err == nil {
		t.Errorf("db2 has nothing to replace, yet a plan was collected")
	}
}

// TestToolAnsibleReplaceNeedsBothSerials: replace refuses a host without both serials before
// anything runs, and passes a host's own serials to raidswap replace (which, on a captured
// tree, refuses to apply: it only acts on the live system).
func TestToolAnsibleReplaceNeedsBothSerials(t *testing.T) {
	rs := testbin.Raidswap(t)
	failed := unpack(t, "failed")
	collect := t.TempDir()
	// A wrapper records each raidswap command line, so the test sees what ran.
	calls := filepath.Join(t.TempDir(), "calls")
	wrap := filepath.Join(t.TempDir(), "raidswap")
	if err := os.WriteFile(wrap, []byte(fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %s\nexec %s \"$@\"\n", calls, rs)), 0o755); err != nil {
		t.Fatal(err)
	}
	vars := []string{"raidswap_bin=" + wrap, "raidswap_collect_dir=" + collect, "raidswap_action=replace"}
	inv := fmt.Sprintf(`[raidswap]
db1 ansible_connection=local ansible_python_interpreter=/usr/bin/python3 raidswap_root=%s raidswap_failed_serial=WD-WCC4N1KPB002
`, failed)
	out, err := playbook(t, inv, vars...)
	if err == nil || !strings.Contains(out, "refusing to run raidswap replace on db1: it needs both") {
		t.Fatalf("replace without --new serial: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(calls)
	if strings.Contains(string(b), "replace") {
		t.Errorf("raidswap replace ran without both serials:\n%s", b)
	}

	inv = strings.Replace(inv, "raidswap_failed_serial=WD-WCC4N1KPB002", "raidswap_failed_serial=WD-WCC4N1KPB002 raidswap_new_serial=WD-NEW42", 1)
	out, err = playbook(t, inv, vars...)
	b, _ = os.ReadFile(calls)
	want := "--root " + failed + " replace --yes --plain --failed WD-WCC4N1KPB002 --new WD-NEW42 --wait-timeout 2h"
	if !strings.Contains(string(b), want) {
		t.Errorf("raidswap was not run as %q; it ran:\n%s\n%s", want, b, out)
	}
	log, _ := os.ReadFile(filepath.Join(collect, "db1", "replace.log"))
	if err == nil || !strings.Contains(string(log), "live system only") {
		t.Errorf("replace on a capture: %v, replace.log:\n%s\n%s", err, log, out)
	}
}
