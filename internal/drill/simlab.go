package drill

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	seam "github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/simulate"
)

// simLab is simulate.Lab as the drill uses it.
type simLab struct {
	l    *simulate.Lab
	r    seam.Runner
	root *seam.Root
}

// NewLab makes a lab under base (simulate.NewLab; "" = /var/lib/raidswap/drill).
func NewLab(ctx context.Context, r seam.Runner, root *seam.Root, base string) (Lab, error) {
	l, err := simulate.NewLab(ctx, r, root, base)
	if err != nil {
		return nil, err
	}
	return &simLab{l: l, r: r, root: root}, nil
}

// CleanupLeftovers removes what dead drills left under base (simulate.CleanupLeftovers).
func CleanupLeftovers(ctx context.Context, r seam.Runner, root *seam.Root, base string) (Cleanup, error) {
	c, err := simulate.CleanupLeftovers(ctx, r, root, base)
	return cleanupOf(c), err
}

func cleanupOf(c simulate.Cleanup) Cleanup {
	return Cleanup{Unmounted: c.Unmounted, Swapoff: c.Swapoff, Arrays: c.Arrays, DM: c.DM, Loops: c.Loops, Files: c.Files}
}

func spec(d DiskSpec) simulate.DiskSpec {
	return simulate.DiskSpec{Serial: d.Serial, Size: d.Size, SectorSize: d.SectorSize}
}

func (s *simLab) Dir() string       { return s.l.Dir }
func (s *simLab) NewSerial() string { return s.l.NewSerial() }
func (s *simLab) Insert(ctx context.Context, d DiskSpec) (string, error) {
	return s.l.Insert(ctx, spec(d))
}
func (s *simLab) Prepare(ctx context.Context, d DiskSpec, dirty bool) error {
	return s.l.Prepare(ctx, spec(d), dirty)
}

// Pull detaches the disk and removes its loop device, so that like a pulled drive it leaves
// no node in /sys/block (a detached loop device would otherwise stay there, size 0).
func (s *simLab) Pull(ctx context.Context, serial string) error {
	dev, _ := s.l.Device(serial)
	if err := s.l.Pull(ctx, serial); err != nil {
		return err
	}
	return removeLoopNode(ctx, dev)
}

// Vanish makes the disk vanish (simulate.Lab.Vanish) and removes its loop device, as Pull.
func (s *simLab) Vanish(ctx context.Context, serial string) error {
	dev, _ := s.l.Device(serial)
	if _, err := s.l.Vanish(ctx, serial); err != nil {
		return err
	}
	return removeLoopNode(ctx, dev)
}

// removeLoopNode removes the detached loop device dev (/dev/loopN) through
// /dev/loop-control (LOOP_CTL_REMOVE); udev may hold it for a moment after the detach.
func removeLoopNode(ctx context.Context, dev string) error {
	n, err := strconv.Atoi(strings.TrimPrefix(dev, "/dev/loop"))
	if err != nil || !strings.HasPrefix(dev, "/dev/loop") {
		return fmt.Errorf("removing the loop device of a pulled disk: %q is not /dev/loopN", dev)
	}
	f, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("removing %s: %w", dev, err)
	}
	defer f.Close()
	for try := 0; ; try++ {
		err = unix.IoctlSetInt(int(f.Fd()), unix.LOOP_CTL_REMOVE, n)
		if err == nil || errors.Is(err, unix.ENODEV) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || try >= 50 {
			return fmt.Errorf("removing %s after its detach: %w", dev, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
func (s *simLab) Flaky(ctx context.Context, serial string, arrays ...string) error {
	return s.l.Flaky(ctx, serial, arrays...)
}
func (s *simLab) Restore(ctx context.Context, serial string) error { return s.l.Restore(ctx, serial) }
func (s *simLab) Device(serial string) (string, bool)              { return s.l.Device(serial) }
func (s *simLab) MountArray(ctx context.Context, md, dir string) error {
	return s.l.MountArray(ctx, md, dir)
}
func (s *simLab) InstallGRUB(ctx context.Context, bootMount string, disks ...string) error {
	return simulate.InstallGRUB(ctx, s.r, bootMount, disks...)
}
func (s *simLab) CopyBootCode(ctx context.Context, table string, sectorSize int, from, to string) error {
	return simulate.CopyBootCode(ctx, s.r, table, sectorSize, from, to)
}

// Seed builds the layout with simulate's seed, the members of the disks in dm on dm tables.
func (s *simLab) Seed(ctx context.Context, l Layout, disks []string, dm []string) error {
	o := l.Options
	o.Root = s.root
	// The lab's disks are fresh sparse files, all zeros: both halves of every array read
	// alike already, so md need not resync them (a second or two per drill under TCG).
	o.AssumeClean = true
	o.DMMembers = false
	o.DMDisks = nil
	for _, serial := range dm {
		if dev, ok := s.l.Device(serial); ok {
			o.DMDisks = append(o.DMDisks, dev)
		}
	}
	seed, err := simulate.PlanSeed(disks, o)
	if err != nil {
		return err
	}
	return seed.Build(ctx, s.r)
}

func (s *simLab) Devices() []string {
	var out []string
	for _, d := range s.l.Disks() {
		if d.Device != "" {
			out = append(out, d.Device)
		}
	}
	return out
}

func (s *simLab) Close(ctx context.Context) (Cleanup, error) {
	c, err := s.l.Close(ctx)
	return cleanupOf(c), err
}
