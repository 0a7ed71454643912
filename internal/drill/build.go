package drill

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	seam "github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/human"
	"github.com/raidswap/raidswap/simulate"
)

// Building a scene: the lab's arrays made, filled with canaries and their sums recorded.

// setup makes the two disks, the layout, the mounts, canaries and GRUB.
func (s *scene) setup(ctx context.Context) error {
	l := s.c.Layout
	sector := l.SectorSize
	if sector == 0 {
		sector = 512
	}
	s.survivor, s.failed = s.lab.NewSerial(), s.lab.NewSerial()
	var err error
	if s.survivorDev, err = s.lab.Insert(ctx, DiskSpec{Serial: s.survivor, Size: l.DiskSize, SectorSize: sector}); err != nil {
		return err
	}
	if s.failedDev, err = s.lab.Insert(ctx, DiskSpec{Serial: s.failed, Size: l.DiskSize, SectorSize: sector}); err != nil {
		return err
	}
	s.say("disks: %s (%s) and %s (%s), %s each, layout of %s", s.survivor, s.survivorDev, s.failed, s.failedDev, human.Bytes(uint64(l.DiskSize)), l.Source)
	// The drill's arrays get md names no array uses, so they never take a host array's.
	names, err := freeArrayNames(s.c.Root, len(l.Options.Arrays))
	if err != nil {
		return err
	}
	arrays := append([]simulate.ArraySpec(nil), l.Options.Arrays...)
	s.bootArray, s.rootArray = "", ""
	for i := range arrays {
		if arrays[i].Name == l.BootArray || "md"+strings.TrimPrefix(arrays[i].Name, "md") == l.BootArray {
			s.bootArray = names[i]
		}
		if arrays[i].FS == "ext4" || arrays[i].FS == "" {
			s.rootArray = names[i] // the last ext4 array holds / (and the random canary)
		}
		arrays[i].Name = names[i]
	}
	if s.rootArray == s.bootArray && !l.BootOnRoot {
		s.rootArray = ""
	}
	l.Options.Arrays = arrays
	l.Options.Canary = true
	s.c.Layout = l
	s.arrays = names
	var dm []string
	for _, r := range s.sc.DM {
		dm = append(dm, s.serialOf(r))
	}
	if err := s.lab.Seed(ctx, l, []string{s.survivorDev, s.failedDev}, dm); err != nil {
		return err
	}
	if s.bootArray != "" && !l.BootOnRoot {
		if err := s.lab.MountArray(ctx, s.bootArray, s.bootDir()); err != nil {
			return err
		}
	}
	if s.rootArray != "" {
		if err := s.lab.MountArray(ctx, s.rootArray, s.rootDir()); err != nil {
			return err
		}
		if err := writeRandom(filepath.Join(s.rootDir(), "random.bin"), 4<<20); err != nil {
			return err
		}
	}
	if err := s.recordSums(); err != nil {
		return err
	}
	if s.bootArray != "" {
		// GRUB on both disks, as on the server: grub-install on one, and the same bytes
		// copied to the other (the replacement runs grub-install on every disk itself).
		if err := s.lab.InstallGRUB(ctx, s.bootMount(), s.survivorDev); err != nil {
			return err
		}
		if err := s.lab.CopyBootCode(ctx, l.Options.Table, sector, s.survivorDev, s.failedDev); err != nil {
			return err
		}
	}
	s.shelf = DiskSpec{Serial: s.lab.NewSerial(), Size: l.DiskSize * int64(max(1, s.sc.Shelf.SizeFactor)), SectorSize: sector}
	if s.sc.Shelf.SectorSize != 0 {
		s.shelf.SectorSize = s.sc.Shelf.SectorSize
	}
	s.newSerial = s.shelf.Serial
	return s.lab.Prepare(ctx, s.shelf, s.sc.Shelf.Dirty)
}

// bootMount is where /boot's file system is mounted: <lab>/boot, or <lab>/root/boot when
// /boot is a directory on the root array.
func (s *scene) bootMount() string {
	if s.c.Layout.BootOnRoot {
		return filepath.Join(s.rootDir(), "boot")
	}
	return s.bootDir()
}

func (s *scene) bootDir() string { return filepath.Join(s.lab.Dir(), "boot") }

func (s *scene) rootDir() string { return filepath.Join(s.lab.Dir(), "root") }

func (s *scene) serialOf(r Role) string {
	if r == Survivor {
		return s.survivor
	}
	return s.failed
}

// freeArrayNames are n md names no array uses, from md100 up, so a drill never takes the
// name of one of the host's arrays.
func freeArrayNames(root *seam.Root, n int) ([]string, error) {
	var out []string
	for i := 100; i < 127 && len(out) < n; i++ {
		name := fmt.Sprintf("md%d", i)
		if !root.Exists("/sys/block/"+name) && !root.Exists("/dev/"+name) {
			out = append(out, name)
		}
	}
	if len(out) < n {
		return nil, errors.New("no free md device names between md100 and md126")
	}
	return out, nil
}

func writeRandom(path string, n int64) error {
	src, err := os.Open("/dev/urandom")
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(dst, src, n); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// canaries are the files whose checksums a scenario must find unchanged.
func (s *scene) canaries() []string {
	var out []string
	if s.bootArray != "" && !s.c.Layout.BootOnRoot {
		out = append(out, filepath.Join(s.bootDir(), simulate.CanaryFile))
	}
	if s.rootArray != "" {
		out = append(out, filepath.Join(s.rootDir(), simulate.CanaryFile), filepath.Join(s.rootDir(), "random.bin"))
	}
	return out
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (s *scene) recordSums() error {
	for _, p := range s.canaries() {
		sum, err := fileSum(p)
		if err != nil {
			return fmt.Errorf("canary: %w", err)
		}
		s.sums[p] = sum
	}
	return nil
}
