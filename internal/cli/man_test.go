package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestManMakesItsDirectory is `make man` on a fresh clone: man/ does not exist yet.
func TestManMakesItsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man")
	code, out, errOut := run(t, "man", "--dir", dir)
	if code != 0 {
		t.Fatalf("raidswap man --dir %s: exit %d\nstdout: %s\nstderr: %s", dir, code, out, errOut)
	}
	for _, page := range []string{"raidswap.8", "raidswap-abort.8", "raidswap-status.8"} {
		if _, err := os.Stat(filepath.Join(dir, page)); err != nil {
			t.Errorf("%s not written: %v", page, err)
		}
	}
}
