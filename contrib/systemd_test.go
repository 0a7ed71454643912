package contrib

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/testbin"
)

// need returns a tool's path; outside CI a missing tool skips the test (scripts/install-deps.sh
// installs every one of them, and under CI a skip fails the run).
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s is not installed (scripts/install-deps.sh installs it)", tool)
	}
	return p
}

// TestToolSystemdUnits checks the units with systemd's own parser. The units name the installed
// binary, /usr/local/sbin/raidswap; verify insists that it exists, so the copies checked name
// a freshly built raidswap instead, which also proves the command line they run is accepted.
func TestToolSystemdUnits(t *testing.T) {
	analyze := need(t, "systemd-analyze")
	rs := testbin.Raidswap(t)
	dir := t.TempDir()
	var units []string
	for _, name := range []string{"raidswap-inventory.service", "raidswap-inventory.timer"} {
		b, err := os.ReadFile(filepath.Join("systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.HasSuffix(name, ".service") {
			if !strings.Contains(s, "ExecStart=/usr/local/sbin/raidswap inventory save --textfile /var/lib/prometheus/node-exporter/raidswap.prom\n") {
				t.Fatalf("%s does not run /usr/local/sbin/raidswap inventory save --textfile ...", name)
			}
			s = strings.ReplaceAll(s, "/usr/local/sbin/raidswap", rs)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		units = append(units, p)
	}
	out, err := exec.Command(analyze, append([]string{"verify", "--man=no"}, units...)...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The service's command line runs: on a captured tree (--root) it saves the inventory
	// and writes the textfile there.
	b, err := os.ReadFile(filepath.Join("systemd", "raidswap-inventory.service"))
	if err != nil {
		t.Fatal(err)
	}
	var argv []string
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			argv = strings.Fields(v)
		}
	}
	root := unpack(t, "failed")
	out, err = exec.Command(rs, append(argv[1:], "--root", root)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "inventory updated") {
		t.Errorf("%q: %v\n%s", argv, err, out)
	}
	if b, err := os.ReadFile(filepath.Join(root, "var/lib/prometheus/node-exporter/raidswap.prom")); err != nil || !strings.Contains(string(b), "raidswap_status_verdict 2\n") {
		t.Errorf("the service's command wrote no textfile: %v", err)
	}
}
