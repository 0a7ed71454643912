package exec

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Lock is a held lock.
type Lock struct{ f *os.File }

// lockPoll and orphanWait bound the wait for commands orphaned by a killed raidswap.
const (
	lockPoll   = 100 * time.Millisecond
	orphanWait = 10 * time.Minute
)

// AcquireLock takes an exclusive flock on path without waiting for another raidswap. The kernel drops it when the
// process dies, so a kill -9 never leaves a stale lock.
func AcquireLock(path string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	for waited := time.Duration(0); ; waited += lockPoll {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		b := make([]byte, 64)
		n, _ := f.ReadAt(b, 0)
		holder := strings.TrimSpace(string(b[:n]))
		// The raidswap that took the lock is dead but a command it started (an mdadm in
		// mid-add) still holds the inherited lock file: wait for that command to end rather
		// than run beside it.
		if pid, perr := strconv.Atoi(holder); perr == nil && pid > 0 && unix.Kill(pid, 0) == unix.ESRCH && waited < orphanWait {
			time.Sleep(lockPoll)
			continue
		}
		f.Close()
		if holder != "" {
			holder = "pid " + holder
		}
		return nil, &LockedError{Path: path, Holder: holder}
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Release drops the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	return l.f.Close()
}
