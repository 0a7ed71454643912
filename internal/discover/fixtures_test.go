package discover_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/view"
)

// loadFixture unpacks a capture made by TestVMStatusScenarios and discovers from it.
func loadFixture(t *testing.T, name string) *discover.System {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "fixtures", name+".tar.gz"))
	if err != nil {
		t.Fatalf("fixture %s: %v (make it with: go test ./internal/discover -run TestVMStatusScenarios -update)", name, err)
	}
	defer f.Close()
	dir := t.TempDir()
	if _, err := capture.Unpack(f, dir); err != nil {
		t.Fatal(err)
	}
	s, err := discover.Discover(host.NewRoot(dir))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFixtures judges each capture from a real kernel and compares the rendered status with
// golden files (rewrite them with -update).
func TestFixtures(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			s := loadFixture(t, sc.name)
			sc.check(t, s)
			if got := s.Verdict.ExitCode(); got != sc.exit {
				t.Errorf("exit code %d, want %d", got, sc.exit)
			}
			for _, g := range []struct {
				ext    string
				render func(*bytes.Buffer, *discover.System) error
			}{
				{"txt", func(b *bytes.Buffer, s *discover.System) error { return view.StatusHuman(b, s) }},
				{"prom", func(b *bytes.Buffer, s *discover.System) error { return view.StatusPrometheus(b, s) }},
				{"json", func(b *bytes.Buffer, s *discover.System) error { return view.StatusJSON(b, s) }},
			} {
				var b bytes.Buffer
				if err := g.render(&b, s); err != nil {
					t.Fatal(err)
				}
				golden.Check(t, filepath.Join("testdata", "golden", sc.name+"."+g.ext), b.Bytes())
			}
		})
	}
}

// TestDiscoverNotARoot: a directory that is not a root or capture is one clear error.
func TestDiscoverNotARoot(t *testing.T) {
	_, err := discover.Discover(host.NewRoot(t.TempDir()))
	if err == nil {
		t.Fatal("no error for an empty directory")
	}
}

// TestDiscoverNoMD: a kernel without md is "unknown", said in one line.
func TestDiscoverNoMD(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sys", "block"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := discover.Discover(host.NewRoot(dir))
	if err != nil {
		t.Fatal(err)
	}
	if s.Verdict != discover.Unknown || s.Verdict.ExitCode() != 3 {
		t.Errorf("verdict %s", s.Verdict)
	}
	if want := "cannot judge: this kernel has no md driver"; len(s.Summary) < len(want) || s.Summary[:len(want)] != want {
		t.Errorf("summary %q", s.Summary)
	}
}

// TestFixtureEdits: the clean capture from a real kernel with one value hand-edited to what
// a sick or half-read md could show. None may judge OK, and the human, JSON and Prometheus
// outputs must all say the verdict that the exit code says.
func TestFixtureEdits(t *testing.T) {
	md0 := "sys/devices/virtual/block/md0/md/"
	write := func(rel, text string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, rel), []byte(text+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	remove := func(rel string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.RemoveAll(filepath.Join(dir, rel)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// dropMD0 takes md0's lines out of /proc/mdstat.
	dropMD0 := func(t *testing.T, dir string) {
		p := filepath.Join(dir, "proc", "mdstat")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var keep []string
		skip := false
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "md") {
				skip = strings.HasPrefix(l, "md0 ")
			} else if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "unused") {
				skip = false
			}
			if !skip {
				keep = append(keep, l)
			}
		}
		if err := os.WriteFile(p, []byte(strings.Join(keep, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		edit []func(t *testing.T, dir string)
		want discover.Verdict
		say  string
	}{
		{"want_replacement", []func(*testing.T, string){write(md0+"dev-vdb2/state", "in_sync,want_replacement")}, discover.Warning, "want_replacement"},
		{"write_error", []func(*testing.T, string){write(md0+"dev-vdb2/state", "in_sync,write_error")}, discover.Warning, "write_error: it has failed a write"},
		{"blocked in sync", []func(*testing.T, string){write(md0+"dev-vdb2/state", "in_sync,blocked")}, discover.Warning, "blocked"},
		{"blocked alone", []func(*testing.T, string){write(md0+"dev-vdb2/state", "blocked")}, discover.Critical, "md0 is degraded [2/1] [U_]"},
		{"write_mostly with want_replacement", []func(*testing.T, string){write(md0+"dev-vdb2/state", "in_sync,write_mostly,want_replacement")}, discover.Warning, "want_replacement"},
		{"unknown flag", []func(*testing.T, string){write(md0+"dev-vdb2/state", "in_sync,shiny_new_flag")}, discover.Warning, `"shiny_new_flag"`},
		{"degraded garbage", []func(*testing.T, string){write(md0+"degraded", "abc")}, discover.Warning, `degraded: not a number: "abc"`},
		{"degraded counted by md only", []func(*testing.T, string){write(md0+"degraded", "1")}, discover.Critical, "md/degraded is 1"},
		{"raid_disks negative", []func(*testing.T, string){write(md0+"raid_disks", "-5")}, discover.Warning, "raid_disks: not a plausible count: -5"},
		{"slot garbage", []func(*testing.T, string){write(md0+"dev-vdb2/slot", "x")}, discover.Warning, `slot: not a number: "x"`},
		{"array_state unreadable", []func(*testing.T, string){remove(md0 + "array_state")}, discover.Critical, "md/array_state could not be read"},
		{"array_state inactive", []func(*testing.T, string){write(md0+"array_state", "inactive")}, discover.Critical, "md0 is inactive"},
		{"md directory not there yet", []func(*testing.T, string){remove(md0)}, discover.Critical, "md0 is in an unknown state"},
		{"in sysfs, not in mdstat", []func(*testing.T, string){dropMD0}, discover.Warning, "not in /proc/mdstat"},
		{"in mdstat, not in sysfs", []func(*testing.T, string){remove("sys/block/md0")}, discover.Unknown, "whether md0 is whole cannot be judged"},
		{"listed nowhere, remembered", []func(*testing.T, string){remove("sys/block/md0"), dropMD0}, discover.Critical, "md0 is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "fixtures", "clean.tar.gz"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			dir := t.TempDir()
			if _, err := capture.Unpack(f, dir); err != nil {
				t.Fatal(err)
			}
			for _, e := range tt.edit {
				e(t, dir)
			}
			s, err := discover.Discover(host.NewRoot(dir))
			if err != nil {
				t.Fatal(err)
			}
			if s.Verdict != tt.want || !strings.Contains(s.Summary, tt.say) {
				t.Errorf("verdict %s (%s), want %s saying %q", s.Verdict, s.Summary, tt.want, tt.say)
			}
			checkOutputsAgree(t, s)
		})
	}
}

// checkOutputsAgree renders s three ways and checks each states the verdict the exit code
// gives, and that Prometheus calls an array degraded exactly when its state says so.
func checkOutputsAgree(t *testing.T, s *discover.System) {
	t.Helper()
	var h, j, p bytes.Buffer
	if err := view.StatusHuman(&h, s); err != nil {
		t.Fatal(err)
	}
	if err := view.StatusJSON(&j, s); err != nil {
		t.Fatal(err)
	}
	if err := view.StatusPrometheus(&p, s); err != nil {
		t.Fatal(err)
	}
	first := strings.TrimLeft(h.String(), "!\n")
	if want := strings.ToUpper(string(s.Verdict)) + ": "; !strings.HasPrefix(first, want) {
		t.Errorf("human output does not begin with %q:\n%s", want, h.String())
	}
	var back struct {
		Verdict string `json:"verdict"`
	}
	if err := json.Unmarshal(j.Bytes(), &back); err != nil || back.Verdict != string(s.Verdict) {
		t.Errorf("JSON verdict %q (%v), want %q", back.Verdict, err, s.Verdict)
	}
	if want := fmt.Sprintf("\nraidswap_status_verdict %d\n", s.Verdict.ExitCode()); !strings.Contains(p.String(), want) {
		t.Errorf("Prometheus output lacks %q", strings.TrimSpace(want))
	}
	for _, a := range s.Arrays {
		bad := a.State == discover.ArrayDegraded || a.State == discover.ArrayRecovering || a.State == discover.ArrayMissing
		line := fmt.Sprintf("raidswap_array_degraded{array=%q,uuid=%q,level=%q} %d\n", a.Name, a.UUID, a.Level, map[bool]int{false: 0, true: 1}[bad])
		if !strings.Contains(p.String(), line) {
			t.Errorf("Prometheus lacks %q for %s in state %s", strings.TrimSpace(line), a.Name, a.State)
		}
	}
}

// TestFixturesFit80: on a terminal of 80 columns (a serial console) every status line fits
// and no word is cut: each word on the narrow screen is a word of the full-width one (issue
// 20, item 4). A word longer than the line (a long device path) stands alone on its line.
func TestFixturesFit80(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			s := loadFixture(t, sc.name)
			var wide, narrow bytes.Buffer
			if err := view.StatusHuman(&wide, s); err != nil {
				t.Fatal(err)
			}
			if err := view.StatusHumanWidth(&narrow, s, 80); err != nil {
				t.Fatal(err)
			}
			words := map[string]bool{}
			for _, w := range strings.Fields(wide.String()) {
				words[w] = true
			}
			for i, line := range strings.Split(narrow.String(), "\n") {
				if n := utf8.RuneCountInString(line); n > 80 && len(strings.Fields(line)) > 1 {
					t.Errorf("line %d is %d columns wide:\n%s", i+1, n, line)
				}
				for _, w := range strings.Fields(line) {
					if !words[w] {
						t.Errorf("line %d holds %q, no word of the full-width status (cut?):\n%s", i+1, w, line)
					}
				}
			}
		})
	}
}
