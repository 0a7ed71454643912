package drill

import (
	"os"
	"path/filepath"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/engine"
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
