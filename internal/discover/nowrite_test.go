package discover_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
)

// TestDiscoverWritesNothing: exec re-discovers every ≤ 500 ms during a repair, so discovery
// must not write, not even a temporary file. It runs over a capture with TMPDIR naming a
// regular file, where no temporary file or directory can be made: it must see exactly what
// it sees with a usable TMPDIR, and leave the capture unchanged.
func TestDiscoverWritesNothing(t *testing.T) {
	for _, name := range []string{"clean", "recovering"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "fixtures", name+".tar.gz"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			dir := t.TempDir()
			if _, err := capture.Unpack(f, dir); err != nil {
				t.Fatal(err)
			}
			notADir := filepath.Join(t.TempDir(), "not-a-directory")
			if err := os.WriteFile(notADir, nil, 0o400); err != nil {
				t.Fatal(err)
			}
			want := discoverJSON(t, dir)
			before := tree(t, dir)
			t.Setenv("TMPDIR", notADir)
			if _, err := os.MkdirTemp("", "probe-"); err == nil {
				t.Fatal("a temporary directory could still be made: the test would prove nothing")
			}
			for range 3 {
				if got := discoverJSON(t, dir); got != want {
					t.Fatalf("without a usable TMPDIR discovery saw\n%s\nwant\n%s", got, want)
				}
			}
			after := tree(t, dir)
			for p, m := range after {
				if b, ok := before[p]; !ok || !b.Equal(m) {
					t.Errorf("discovery created or changed %s", p)
				}
			}
			for p := range before {
				if _, ok := after[p]; !ok {
					t.Errorf("discovery removed %s", p)
				}
			}
		})
	}
}

func discoverJSON(t *testing.T, dir string) string {
	t.Helper()
	s, err := discover.Discover(host.NewRoot(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Arrays) == 0 || s.Verdict == discover.Unknown {
		t.Fatalf("verdict %s, %d arrays: %s", s.Verdict, len(s.Arrays), s.Summary)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tree maps every path under dir to its modification time.
func tree(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = info.ModTime()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
