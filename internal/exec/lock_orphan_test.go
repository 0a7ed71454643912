package exec

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/host"
)

// A command started through the executor's runner inherits the lock: when raidswap dies
// mid-step, the next raidswap waits for that orphan instead of running beside it.
func TestLockWaitsForOrphanedCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	l, err := AcquireLock(path)
	if err != nil {
		t.Fatal(err)
	}
	r := host.ExecRunner{}.Inheriting(l.f)
	started := filepath.Join(t.TempDir(), "started")
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(context.Background(), "/bin/sh", "-c", ": > "+started+"; exec /bin/sleep 1")
	}()
	// The orphan must be running (and holding the inherited lock) before its parent "dies";
	// on a loaded machine starting it can take longer than any fixed sleep.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the command did not start")
		}
	}
	// Play a raidswap that was killed: its pid is gone, its lock fd closed by the kernel.
	if err := os.WriteFile(path, []byte("999999999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l.f.Close()
	start := time.Now()
	l2, err := AcquireLock(path)
	if err != nil {
		t.Fatalf("lock not taken after the orphan ended: %v", err)
	}
	defer l2.Release()
	if waited := time.Since(start); waited < 500*time.Millisecond {
		t.Errorf("took the lock after %v while the orphaned command still held it", waited)
	}
	<-done
}

// A live holder is refused at once, naming it.
func TestLockRefusesLiveHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	l, err := AcquireLock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	start := time.Now()
	if _, err := AcquireLock(path); err == nil {
		t.Fatal("second lock taken")
	}
	if time.Since(start) > time.Second {
		t.Error("refusing a live holder waited")
	}
}
