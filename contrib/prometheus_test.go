package contrib

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestToolAlertRules checks the alert rules with Prometheus's own promtool: the file parses and
// every expression and template compiles (check rules), and the alerts fire, with the labels
// and texts expected, on series shaped like raidswap's (test rules).
func TestToolAlertRules(t *testing.T) {
	promtool := need(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", "raidswap-alerts.yml"},
		{"test", "rules", "raidswap-alerts_test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// metricsElsewhere are series the rules alert on that status does not write (none today).
// Once status writes one, this test says so.
var metricsElsewhere = map[string]bool{}

// TestAlertRulesNameRealMetrics: every raidswap_ metric an alert uses is one that
// `status --format prometheus` writes (the golden outputs of discover's fixtures and SMART
// scenarios), or is listed above. A renamed metric fails here.
func TestAlertRulesNameRealMetrics(t *testing.T) {
	rules, err := os.ReadFile(filepath.Join("prometheus", "raidswap-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	proms, err := filepath.Glob(filepath.Join("..", "internal", "discover", "testdata", "golden", "*.prom"))
	if err != nil || len(proms) == 0 {
		t.Fatalf("no golden Prometheus outputs: %v", err)
	}
	written := map[string]bool{}
	for _, p := range proms {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?m)^# TYPE (raidswap_[a-z_]+) `).FindAllStringSubmatch(string(b), -1) {
			written[m[1]] = true
		}
	}
	var used []string
	for _, m := range regexp.MustCompile(`(?m)^\s+expr: .*|^\s{10}\S.*`).FindAllString(string(rules), -1) {
		for _, n := range regexp.MustCompile(`raidswap_[a-z_]+`).FindAllString(m, -1) {
			used = append(used, n)
		}
	}
	sort.Strings(used)
	if len(used) < 10 {
		t.Fatalf("found only %d metric uses in the rules: %v", len(used), used)
	}
	for _, n := range used {
		switch {
		case written[n] && metricsElsewhere[n]:
			t.Errorf("%s is now in status's output: take it out of metricsElsewhere", n)
		case !written[n] && !metricsElsewhere[n]:
			t.Errorf("the rules use %s, which status --format prometheus does not write", n)
		}
	}
}
