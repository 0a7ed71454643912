package discover_test

import (
	"bytes"
	goldenfile "github.com/raidswap/raidswap/internal/golden"
	"os"
	"path/filepath"
	"testing"

	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/report"
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
				{"txt", func(b *bytes.Buffer, s *discover.System) error { return report.Human(b, s) }},
				{"prom", func(b *bytes.Buffer, s *discover.System) error { return report.Prometheus(b, s) }},
				{"json", func(b *bytes.Buffer, s *discover.System) error { return report.JSON(b, s) }},
			} {
				var b bytes.Buffer
				if err := g.render(&b, s); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("testdata", "golden", sc.name+"."+g.ext), b.Bytes())
			}
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	goldenfile.Check(t, path, got, *update)
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
