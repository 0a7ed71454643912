package host

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"unsafe"
)

// directAlign is what an O_DIRECT read's offset, length and buffer are aligned to: 4 KiB,
// a multiple of every logical block size Linux disks have.
const directAlign = 4096

// DirectFile reads a block device past the page cache (O_DIRECT): md writes a member's
// blocks beneath the member's own cache, and a mounted file system writes file data beneath
// the device's, so a cached read can show what is no longer on the disk. Every read is
// widened to whole aligned blocks in an aligned buffer, so callers read any offset and
// length. It is the one O_DIRECT reader: the survivor proof (exec) and status's reading of
// ESPs (bootloader) use it. It never writes.
type DirectFile struct {
	f   *os.File
	off int64
}

// OpenDirectFile opens the block device p under the Root for O_DIRECT reads.
func (r *Root) OpenDirectFile(p string) (*DirectFile, error) {
	f, err := r.OpenDirect(p)
	if err != nil {
		return nil, err
	}
	return &DirectFile{f: f}, nil
}

// ReadAt reads len(b) bytes at off from the disk (io.ReaderAt: io.EOF when the device
// ends first, with the bytes it had).
func (d *DirectFile) ReadAt(b []byte, off int64) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	start := off / directAlign * directAlign
	end := (off + int64(len(b)) + directAlign - 1) / directAlign * directAlign
	raw := make([]byte, end-start+directAlign)
	pad := directAlign - int(uintptr(unsafe.Pointer(&raw[0]))%directAlign)
	if pad == directAlign {
		pad = 0
	}
	buf := raw[pad : pad+int(end-start)]
	got, err := d.f.ReadAt(buf, start)
	have := int64(got) - (off - start)
	if have < 0 {
		have = 0
	}
	n := copy(b, buf[off-start:off-start+min(have, int64(len(b)))])
	if n < len(b) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.EOF
		}
		return n, err
	}
	return n, nil
}

// Read reads at the current offset (io.Reader).
func (d *DirectFile) Read(b []byte) (int, error) {
	n, err := d.ReadAt(b, d.off)
	d.off += int64(n)
	return n, err
}

// Seek sets the offset of Read (io.Seeker); io.SeekEnd is the device's size.
func (d *DirectFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += d.off
	case io.SeekEnd:
		size, err := d.f.Seek(0, io.SeekEnd)
		if err != nil {
			return d.off, err
		}
		off += size
	default:
		return d.off, errors.New("bad whence")
	}
	if off < 0 {
		return d.off, errors.New("negative offset")
	}
	d.off = off
	return off, nil
}

// Stat is the device's (fs.File).
func (d *DirectFile) Stat() (fs.FileInfo, error) { return d.f.Stat() }

// Close closes the device.
func (d *DirectFile) Close() error { return d.f.Close() }
