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

type built struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

var (
	mu     sync.Mutex
	builds = map[string]*built{}
)

// Raidswap returns the path of a freshly built raidswap binary.
func Raidswap(t testing.TB) string { return Build(t, "./cmd/raidswap", "raidswap") }

// Build builds the main package pkg (relative to the repository) once per test process and
// returns the binary's path.
func Build(t testing.TB, pkg, name string) string {
	t.Helper()
	mu.Lock()
	b, ok := builds[pkg]
	if !ok {
		b = &built{}
		builds[pkg] = b
	}
	mu.Unlock()
	b.once.Do(func() {
		var dir string
		dir, b.err = os.MkdirTemp("", "raidswap-bin-")
		if b.err != nil {
			return
		}
		b.path = filepath.Join(dir, name)
		_, file, _, _ := runtime.Caller(0)
		repo := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", b.path, pkg)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		b.out, b.err = cmd.CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, b.err, b.out)
	}
	return b.path
}
