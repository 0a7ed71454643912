package event

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/view"
)

// WriteTextfile writes the metrics of `status --format prometheus` to path atomically: a
// temporary file in the same directory (whose name the node exporter's *.prom pattern does
// not match), synced, mode 0644, then renamed over path. The temporary file is removed on
// every error.
func WriteTextfile(path string, sys *discover.System) error {
	return new(temps).writeTextfile(path, sys)
}

// errAbandoned is a write asked for after the event gave up: nothing is written any more.
var errAbandoned = errors.New("the event gave up; not written")

// temps are the temporary files of one event's textfile writes. When the event gives up
// (its deadline, a signal) with a write still under way, abandon removes them and refuses
// every later create and rename, so no .NAME.prom.* file outlives the event on any path the
// process itself ends.
type temps struct {
	mu        sync.Mutex
	abandoned bool
	live      map[string]bool
}

func (t *temps) create(dir, pattern string) (*os.File, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.abandoned {
		return nil, errAbandoned
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	if t.live == nil {
		t.live = map[string]bool{}
	}
	t.live[f.Name()] = true
	return f, nil
}

// rename moves tmp over path unless the event gave up (then abandon removed tmp already).
func (t *temps) rename(tmp, path string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.abandoned {
		return errAbandoned
	}
	delete(t.live, tmp)
	return os.Rename(tmp, path)
}

// drop removes tmp after a failed write.
func (t *temps) drop(tmp string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.live, tmp)
	_ = os.Remove(tmp)
}

// guard runs write, another sink's atomic write with temporary files of its own (the
// inventory's), unless the event gave up; abandon waits for it, so its temporary file is
// renamed or removed before the process goes.
func (t *temps) guard(write func() error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.abandoned {
		return errAbandoned
	}
	return write()
}

// abandon removes every temporary file still under way and refuses later writes.
func (t *temps) abandon() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.abandoned = true
	for p := range t.live {
		_ = os.Remove(p)
		delete(t.live, p)
	}
}

func (t *temps) writeTextfile(path string, sys *discover.System) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("textfile: %w", err)
	}
	tmp, err := t.create(dir, "."+filepath.Base(path)+".")
	if err != nil {
		return fmt.Errorf("textfile %s: %w", path, err)
	}
	name := tmp.Name()
	fail := func(err error) error {
		tmp.Close()
		t.drop(name)
		return fmt.Errorf("textfile %s: %w", path, err)
	}
	if err := view.StatusPrometheus(tmp, sys); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		t.drop(name)
		return fmt.Errorf("textfile %s: %w", path, err)
	}
	if err := t.rename(name, path); err != nil {
		t.drop(name)
		return fmt.Errorf("textfile %s: %w", path, err)
	}
	return nil
}
