package vmtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// maxVMs is how many VMs may run at once on this machine, across processes (go test runs
// packages in parallel): TCG is CPU-bound, and more VMs than cores only makes every one of
// them slow enough to hit its timeout. VMTEST_MAX_VMS overrides it.
func maxVMs() int {
	if n, err := strconv.Atoi(os.Getenv("VMTEST_MAX_VMS")); err == nil && n > 0 {
		return n
	}
	return max(1, runtime.NumCPU())
}

// acquireSlot takes one of maxVMs machine-wide slots (flock on files in the temp base) and
// returns its release function. It waits as long as ctx allows.
func acquireSlot(ctx context.Context) (func(), error) {
	n := maxVMs()
	for {
		for i := range n {
			p := filepath.Join(tempBase(), fmt.Sprintf("vmtest-slot-%d.lock", i))
			f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o666)
			if err != nil {
				return nil, fmt.Errorf("vmtest: %w", err)
			}
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
				return func() { f.Close() }, nil
			}
			f.Close()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w while waiting for one of %d VM slots: %v", ErrTimeout, n, context.Cause(ctx))
		case <-time.After(200 * time.Millisecond):
		}
	}
}
