package exec

import (
	"errors"
	"fmt"
	"io"
	"path"
	"syscall"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
)

// This file reads the disks the boot steps prove things with: O_DIRECT through host.Root,
// never the page cache.

// DiskReader reads what the boot steps prove things with: a block device's bytes, past the
// page cache (md writes a member's blocks beneath the member's own cache), its size, and
// where md keeps array data on a member. Options.Disks; nil reads the live system.
type DiskReader interface {
	ReadAt(dev string, off int64, n int) ([]byte, error)
	Size(dev string) (int64, error)
	// MemberData is the byte range of member (vda2) that holds array's data.
	MemberData(array, member string) (off, size int64, err error)
	// Sync flushes every file system and block device, so what md and the file systems hold
	// is on the disks before they are read.
	Sync() error
}

// liveDisks reads the live system's devices under root, each read with O_DIRECT through
// host.Root.OpenDirect and never through the page cache: a cached read of a member shows
// md's pages, not what is on the disk, and would let the survivor proof pass without proving.
type liveDisks struct{ root *host.Root }

// DirectReadError is a survivor proof that could not read a device past the page cache
// (O_DIRECT refused or the read failed): the proof fails loudly instead of reading cached
// pages. Disk and Serial name the survivor the read was for; Device is what was read (the
// disk, one of its md members, or the array explaining a change).
type DirectReadError struct {
	Device, Disk, Serial string
	Err                  error
}

func (e *DirectReadError) Error() string {
	on := ""
	if e.Disk != "" && e.Disk != e.Device {
		on = " for " + e.Disk
	}
	if e.Serial != "" {
		on += " (" + e.Serial + ")"
	}
	return fmt.Sprintf("the survivor proof cannot read %s%s past the page cache (O_DIRECT): %v; a cached read would show md's pages, not the disk, so nothing is proven", e.Device, on, e.Err)
}

func (e *DirectReadError) Unwrap() error { return e.Err }

// nameSurvivor puts the survivor's name and serial into a DirectReadError within err.
func nameSurvivor(err error, d *discover.Disk) error {
	var de *DirectReadError
	if errors.As(err, &de) {
		de.Disk, de.Serial = "/dev/"+d.Name, d.Serial
	}
	return err
}

func (l liveDisks) ReadAt(dev string, off int64, n int) ([]byte, error) {
	f, err := l.root.OpenDirectFile(dev)
	if err != nil {
		return nil, &DirectReadError{Device: dev, Err: err}
	}
	defer f.Close()
	// What was asked for must have been read: io.EOF with less is a failure.
	b := make([]byte, n)
	if got, err := f.ReadAt(b, off); got < n {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, &DirectReadError{Device: dev, Err: err}
	}
	return b, nil
}

func (l liveDisks) Size(dev string) (int64, error) {
	var sectors int64
	s, err := l.root.ReadString("/sys/class/block/" + path.Base(dev) + "/size")
	if err != nil {
		return 0, err
	}
	if _, err := fmt.Sscan(s, &sectors); err != nil {
		return 0, fmt.Errorf("/sys/class/block/%s/size: %q", path.Base(dev), s)
	}
	return sectors * 512, nil
}

func (l liveDisks) MemberData(array, member string) (int64, int64, error) {
	var off, kib int64
	s, err := l.root.ReadString("/sys/block/" + array + "/md/dev-" + member + "/offset")
	if err != nil {
		return 0, 0, err
	}
	if _, err := fmt.Sscan(s, &off); err != nil {
		return 0, 0, fmt.Errorf("md offset of %s in %s: %q", member, array, s)
	}
	if s, err = l.root.ReadString("/sys/block/" + array + "/md/component_size"); err != nil {
		return 0, 0, err
	}
	if _, err := fmt.Sscan(s, &kib); err != nil {
		return 0, 0, fmt.Errorf("component_size of %s: %q", array, s)
	}
	return off * 512, kib * 1024, nil
}

func (l liveDisks) Sync() error {
	syscall.Sync()
	return nil
}

func (r *run) disks() DiskReader {
	if r.o.Disks != nil {
		return r.o.Disks
	}
	return liveDisks{root: host.NewRoot(r.w.sys.Root)}
}
