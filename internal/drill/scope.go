package drill

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/paths"
)

// confineScope confines the engine's discovery and executor to the lab's disks. /boot is
// the array mounted at <lab>/boot, or the directory <lab>/root/boot when the layout keeps
// /boot on the root array.
func confineScope(env *engine.Env, dir string) error {
	boot := filepath.Join(dir, "boot")
	if _, err := os.Stat(boot); err != nil {
		if fi, err := os.Stat(filepath.Join(dir, "root", "boot")); err == nil && fi.IsDir() {
			boot = filepath.Join(dir, "root", "boot")
		}
	}
	sc := &discover.Scope{Lab: dir, BootMount: boot}
	if err := sc.Check(); err != nil {
		return err
	}
	env.Scope = sc
	return nil
}

// remember records the lab's disks and their array slots in the lab's own inventory, as the
// event hook records a server's: a disk that vanishes later is still named by its serial.
func (s *scene) remember() error {
	env, err := s.confined()
	if err != nil {
		return err
	}
	sys, err := env.Discover()
	if err != nil {
		return err
	}
	inv, changed := sys.Remember(time.Now())
	if !changed {
		return nil
	}
	return inv.SaveFile(env.Scope.InventoryPath())
}

// confined is the engine of this drill: every path under the lab, discovery and the
// executor confined to the lab's disks.
func (s *scene) confined() (*engine.Env, error) {
	if s.env != nil {
		return s.env, nil
	}
	env := &engine.Env{Root: s.c.Root, Runner: s.c.Runner, Version: s.c.Version}
	if err := Confine(env, s.lab.Dir()); err != nil {
		return nil, err
	}
	s.env = env
	return env, nil
}

// Confine points env at the lab in dir: its own journal, lock, plan key, audit log and table backups under
// the lab, and a Scope that confines discovery and the executor to the lab's disks. It
// refuses a directory that is not a lab (no marker file).
func Confine(env *engine.Env, dir string) error {
	dir = filepath.Clean(dir)
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("lab %s: not an absolute path", dir)
	}
	if fi, err := os.Lstat(filepath.Join(dir, identify.DrillMarker)); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a drill lab: it has no %s", dir, identify.DrillMarker)
	}
	// Every path lies in the lab: its teardown (simulate) removes what lies there.
	env.Paths = paths.Lab(dir)
	return confineScope(env, dir)
}

// lockedEnv is the lab's confined engine with the lab's raidswap lock taken, first, as
// every front end that writes takes it.
func (s *scene) lockedEnv() (*engine.Env, *exec.Lock, error) {
	env, err := s.confined()
	if err != nil {
		return nil, nil, err
	}
	lock, err := env.Lock()
	if err != nil {
		return nil, nil, err
	}
	return env, lock, nil
}
