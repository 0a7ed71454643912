package partition

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Device is the narrow view of a disk the table code reads and writes through.
type Device interface {
	io.ReaderAt
	io.WriterAt
	// Path is the path the disk was opened by (a block device or an image file).
	Path() string
	Geometry() Geometry
	// Sync makes every write durable.
	Sync() error
	// Kernel is how the kernel learns the disk's partitions: a block device's ioctls, nil
	// for an image file (no kernel partitions to tell).
	Kernel() KernelTable
}

// KernelTable tells the kernel about a block device's partitions, the way a partition
// editor does. Offsets and sizes are in bytes.
type KernelTable interface {
	// Reread asks the kernel to read the table itself (BLKRRPART).
	Reread() error
	// Add registers partition number at start, size bytes (BLKPG_ADD_PARTITION).
	Add(number int, start, size int64) error
	// Delete drops partition number (BLKPG_DEL_PARTITION).
	Delete(number int) error
}

// OpenOptions say how to open a disk.
type OpenOptions struct {
	// Write opens the disk for writing: exclusively (O_EXCL) for a block device, so the kernel
	// itself refuses while a partition is mounted, held by md or dm, or in use as swap, and
	// under an exclusive flock, which also keeps udev from probing mid-write.
	Write bool
	// LogicalSectorSize and PhysicalSectorSize give an image file's geometry (default 512 and
	// the logical size). For a block device they must be 0 or match the device.
	LogicalSectorSize  int
	PhysicalSectorSize int
}

// Disk is an open block device or image file.
type Disk struct {
	f     *os.File
	path  string
	geo   Geometry
	block bool
	rdev  uint64
	ino   [2]uint64
}

// Open opens a disk.
func Open(path string, o OpenOptions) (*Disk, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	d := &Disk{path: path, ino: [2]uint64{st.Dev, st.Ino}}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		d.block, d.rdev = true, st.Rdev
	case unix.S_IFREG:
	default:
		return nil, fmt.Errorf("%s is neither a block device nor an image file", path)
	}
	flags := os.O_RDONLY
	if o.Write {
		flags = os.O_RDWR
		if d.block {
			flags |= unix.O_EXCL
		}
	}
	f, err := os.OpenFile(path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EBUSY) {
			return nil, fmt.Errorf("opening %s exclusively: the kernel says it is in use (mounted, an md or dm member, or swap): %w", path, err)
		}
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	d.f = f
	if err := d.loadGeometry(st, o); err != nil {
		f.Close()
		return nil, err
	}
	if o.Write {
		if err := lockExclusive(f, 10*time.Second); err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
	}
	if d.block {
		// Reads must see the disk, not pages cached before md or another tool wrote to it.
		_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	}
	return d, nil
}

func (d *Disk) loadGeometry(st unix.Stat_t, o OpenOptions) error {
	if !d.block {
		l := o.LogicalSectorSize
		if l == 0 {
			l = 512
		}
		p := o.PhysicalSectorSize
		if p == 0 {
			p = l
		}
		d.geo = Geometry{Size: st.Size - st.Size%int64(l), LogicalSectorSize: l, PhysicalSectorSize: p}
		return d.geo.validate()
	}
	fd := int(d.f.Fd())
	l, err := unix.IoctlGetInt(fd, unix.BLKSSZGET)
	if err != nil {
		return fmt.Errorf("%s: BLKSSZGET: %w", d.path, err)
	}
	p, err := unix.IoctlGetUint32(fd, unix.BLKPBSZGET)
	if err != nil {
		return fmt.Errorf("%s: BLKPBSZGET: %w", d.path, err)
	}
	var size uint64
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&size))); e != 0 {
		return fmt.Errorf("%s: BLKGETSIZE64: %w", d.path, e)
	}
	if o.LogicalSectorSize != 0 && o.LogicalSectorSize != l {
		return fmt.Errorf("%s has %d-byte logical sectors, not %d", d.path, l, o.LogicalSectorSize)
	}
	if o.PhysicalSectorSize != 0 && o.PhysicalSectorSize != int(p) {
		return fmt.Errorf("%s has %d-byte physical sectors, not %d", d.path, p, o.PhysicalSectorSize)
	}
	d.geo = Geometry{Size: int64(size), LogicalSectorSize: l, PhysicalSectorSize: int(p)}
	return d.geo.validate()
}

// lockExclusive takes an exclusive flock, waiting out short holds such as udev's probes.
func lockExclusive(f *os.File, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *Disk) ReadAt(b []byte, off int64) (int, error)  { return d.f.ReadAt(b, off) }
func (d *Disk) WriteAt(b []byte, off int64) (int, error) { return d.f.WriteAt(b, off) }

// Path is the path the disk was opened by.
func (d *Disk) Path() string { return d.path }

// Geometry is the disk's size and sector sizes.
func (d *Disk) Geometry() Geometry { return d.geo }

// Sync flushes writes to the disk.
func (d *Disk) Sync() error { return d.f.Sync() }

// Close closes the disk (and drops its lock).
func (d *Disk) Close() error { return d.f.Close() }

// IsBlockDevice reports whether the disk is a block device rather than an image file.
func (d *Disk) IsBlockDevice() bool { return d.block }

// Kernel is the block device's partition ioctls; nil for an image file.
func (d *Disk) Kernel() KernelTable {
	if !d.block {
		return nil
	}
	return ioctlTable{fd: int(d.f.Fd())}
}

// DevNumber is the block device's major and minor number.
func (d *Disk) DevNumber() (major, minor uint32) { return unix.Major(d.rdev), unix.Minor(d.rdev) }

// SameAs reports whether two open disks are the same device or file.
func (d *Disk) SameAs(o *Disk) bool {
	if d.block || o.block {
		return d.block && o.block && d.rdev == o.rdev
	}
	return d.ino == o.ino
}

// DropCache makes later reads come from the disk: after a write, verification must read
// what the disk holds, not the pages just written.
func (d *Disk) DropCache() error {
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", d.path, err)
	}
	if err := unix.Fadvise(int(d.f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("dropping cached pages of %s: %w", d.path, err)
	}
	return nil
}

// ZeroRange zeroes n bytes at off: BLKZEROOUT on a block device, a punched hole in an image
// file, and plain writes of zeros where neither works.
func (d *Disk) ZeroRange(off, n int64) error {
	if n <= 0 {
		return nil
	}
	fd := int(d.f.Fd())
	var err error
	if d.block {
		r := [2]uint64{uint64(off), uint64(n)}
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.BLKZEROOUT, uintptr(unsafe.Pointer(&r)))
		if e == 0 {
			return nil
		}
		err = e
	} else {
		err = unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
		if err == nil {
			return nil
		}
	}
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY) {
		return writeZeros(d, off, n)
	}
	return fmt.Errorf("zeroing %d bytes at %d on %s: %w", n, off, d.path, err)
}

// writeZeros zeroes a range with ordinary writes.
func writeZeros(w io.WriterAt, off, n int64) error {
	buf := make([]byte, min(n, 1<<20))
	for n > 0 {
		c := min(n, int64(len(buf)))
		if _, err := w.WriteAt(buf[:c], off); err != nil {
			return fmt.Errorf("writing zeros at %d: %w", off, err)
		}
		off += c
		n -= c
	}
	return nil
}

// Fd is the file descriptor, for the kernel's partition ioctls.
func (d *Disk) Fd() uintptr { return d.f.Fd() }
