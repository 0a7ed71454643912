// Package testbin builds the raidswap binary once per test process, for tests that run it
// as a command (inside VMs, or through a pseudo-terminal). The binary lands under the
// system's temporary directory, which a VM guest sees through the host root it mounts.
package testbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	once sync.Once
	path string
	err  error
	out  []byte
)

// Raidswap returns the path of a freshly built raidswap binary.
func Raidswap(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		var dir string
		dir, err = os.MkdirTemp("", "raidswap-bin-")
		if err != nil {
			return
		}
		path = filepath.Join(dir, "raidswap")
		_, file, _, _ := runtime.Caller(0)
		repo := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", path, "./cmd/raidswap")
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err = cmd.CombinedOutput()
	})
	if err != nil {
		t.Fatalf("building raidswap: %v\n%s", err, out)
	}
	return path
}
