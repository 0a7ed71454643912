package bootloader

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
)

// ESPRef is one disk's ESP as the UEFI steps and checks name it.
type ESPRef struct {
	Disk   string // kernel name of the disk: vda
	Serial string
	// Dev is the ESP's block device: /dev/vda1 (or the md array holding it, /dev/md127).
	Dev string
	// PARTUUID is the ESP partition's GUID, which a boot entry names.
	PARTUUID string
}

// Label is "vda (WD-X9)".
func (e ESPRef) Label() string { return e.Disk + " (" + orUnknown(e.Serial) + ")" }

// MountError refuses an ESP that could not be mounted, naming disk and serial.
type MountError struct {
	ESP ESPRef
	Err error
}

func (e *MountError) Error() string {
	return fmt.Sprintf("the ESP %s of %s could not be mounted: %v", e.ESP.Dev, e.ESP.Label(), e.Err)
}

func (e *MountError) Unwrap() error { return e.Err }

// mountpointOf is where dev is mounted according to /proc/self/mounts, "" when nowhere.
// Escapes (\040 for a space) are undone.
func mountpointOf(mounts []blockstack.MountsLine, dev string) string {
	for _, m := range mounts {
		if m.Source == dev {
			return m.Point
		}
	}
	return ""
}

// MountESP mounts the ESP at its private directory under ESPMountBase (through root, so a
// test's root holds it) and returns the directory as root maps it and a release that
// unmounts it and says why when it could not (the next MountESP unmounts a leftover). Read-only: when the ESP is already mounted elsewhere (/boot/efi) it is
// bind-mounted read-only from there (the kernel refuses a second mount of the same device
// with another read-only state); otherwise mounted -o ro. Read-write: mounted again (the
// kernel shares the one file system). A mount left by an interrupted run is unmounted first.
func MountESP(ctx context.Context, r host.Runner, root *host.Root, e ESPRef, readOnly bool) (string, func() error, error) {
	part := e.Dev[strings.LastIndexByte(e.Dev, '/')+1:]
	dir := ESPMountDir(e.Serial, part)
	path := root.Path(dir)
	b, err := root.ReadFile("/proc/self/mounts")
	if err != nil {
		return "", nil, &MountError{ESP: e, Err: err}
	}
	mounts := blockstack.ParseMounts(b)
	if slices.ContainsFunc(mounts, func(m blockstack.MountsLine) bool { return m.Point == path }) {
		if _, err := r.Run(ctx, host.Umount, path); err != nil {
			return "", nil, &MountError{ESP: e, Err: fmt.Errorf("a mount left at %s by an earlier run: %w", path, err)}
		}
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return "", nil, &MountError{ESP: e, Err: err}
	}
	argv := []string{host.Mount, "-t", "vfat", "-o", "rw,nodev,nosuid,noexec", e.Dev, path}
	if readOnly {
		argv[4] = "ro,nodev,nosuid,noexec"
		if mp := mountpointOf(mounts, e.Dev); mp != "" {
			argv = []string{host.Mount, "--bind", "-o", "ro", root.Path(mp), path}
		}
	}
	if _, err := r.Run(ctx, argv...); err != nil {
		os.Remove(path)
		return "", nil, &MountError{ESP: e, Err: err}
	}
	release := func() error {
		// A fresh context: the unmount must happen also when ctx was cancelled.
		if _, err := r.Run(context.Background(), host.Umount, path); err != nil {
			return fmt.Errorf("unmounting %s's ESP from %s: %w", e.Label(), path, err)
		}
		os.Remove(path)
		return nil
	}
	return path, release, nil
}
