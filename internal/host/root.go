package host

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Root is the directory that stands for "/" when reading kernel and udev state. The live
// system is Root("/"); a capture unpacked by `raidswap snapshot` is Root("/path/to/capture").
type Root struct {
	dir string
	// Recorder, when set, is told of every path read through this Root. `snapshot` uses it to
	// capture exactly the files discovery reads.
	Recorder func(path string)
}

// NewRoot returns a Root at dir ("" means "/").
func NewRoot(dir string) *Root {
	if dir == "" {
		dir = "/"
	}
	return &Root{dir: filepath.Clean(dir)}
}

// Dir is the directory standing for "/".
func (r *Root) Dir() string { return r.dir }

// IsLive reports whether the Root is the running system's own "/".
func (r *Root) IsLive() bool { return r.dir == "/" }

// Path maps an absolute system path (e.g. /sys/block/md0/md/uuid) into the Root.
func (r *Root) Path(p string) string {
	if r.dir == "/" {
		return filepath.Clean("/" + p)
	}
	return filepath.Join(r.dir, filepath.Clean("/"+p))
}

// record tells the Recorder of a read. A directory listing keeps its trailing "/", which
// tells a capture to keep the directory's entries, not only the directory.
func (r *Root) record(p string) {
	if r.Recorder == nil {
		return
	}
	c := filepath.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	r.Recorder(c)
}

// ReadFile reads a whole file.
func (r *Root) ReadFile(p string) ([]byte, error) {
	r.record(p)
	return os.ReadFile(r.Path(p))
}

// ReadString reads a sysfs-style attribute: the file's content with surrounding white space
// trimmed.
func (r *Root) ReadString(p string) (string, error) {
	b, err := r.ReadFile(p)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// ReadLink reads a symbolic link's target as stored.
func (r *Root) ReadLink(p string) (string, error) {
	r.record(p)
	return os.Readlink(r.Path(p))
}

// ResolveLink returns the absolute system path a link points to. A relative target is
// resolved from the link's real directory: in sysfs the link's own directory is often reached
// through another link (/sys/block/md0 -> ../devices/virtual/block/md0), and "../" climbs
// from where the directory really is.
func (r *Root) ResolveLink(p string) (string, error) {
	t, err := r.ReadLink(p)
	if err != nil {
		return "", err
	}
	if filepath.IsAbs(t) {
		return filepath.Clean(t), nil
	}
	dir := filepath.Dir(filepath.Clean("/" + p))
	real, err := filepath.EvalSymlinks(r.Path(dir))
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(r.dir, real)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("%s resolves outside %s", p, r.dir)
	}
	return filepath.Join("/"+rel, t), nil
}

// ReadDir lists a directory's entries.
func (r *Root) ReadDir(p string) ([]fs.DirEntry, error) {
	r.record(p + "/")
	return os.ReadDir(r.Path(p))
}

// Glob matches a pattern of system paths and returns system paths.
func (r *Root) Glob(pattern string) ([]string, error) {
	dir := filepath.Dir(pattern)
	r.record(dir + "/")
	m, err := filepath.Glob(r.Path(pattern))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(m))
	for _, p := range m {
		rel, err := filepath.Rel(r.dir, p)
		if err != nil {
			continue
		}
		out = append(out, "/"+rel)
	}
	return out, nil
}

// Exists reports whether a path exists (a dangling link counts as existing).
func (r *Root) Exists(p string) bool {
	r.record(p)
	_, err := os.Lstat(r.Path(p))
	return err == nil
}

// WriteFile writes a kernel attribute (an LED, a speed limit) under the Root. The file must
// exist: sysfs and procfs attributes are never created.
func (r *Root) WriteFile(p string, b []byte) error {
	f, err := os.OpenFile(r.Path(p), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// OpenDirect opens a block device under the Root for reading with O_DIRECT, so reads reach
// the disk instead of the page cache (a read-activity blink). It never opens for writing.
func (r *Root) OpenDirect(p string) (*os.File, error) {
	r.record(p)
	return os.OpenFile(r.Path(p), os.O_RDONLY|syscall.O_DIRECT, 0)
}

// FileType names a file mode's type for a refusal ("FIFO", "socket", "directory"...).
func FileType(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	case m.IsDir():
		return "directory"
	}
	return m.Type().String()
}
