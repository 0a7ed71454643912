package capture

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Limits on an archive Unpack accepts. The largest capture a test VM made (3 disks, 2 arrays,
// recovering) holds 253 entries and 16 KB; a server with a few hundred disks and partitions
// reads about 60 entries and 5 KB per block device, so a few tens of thousands of entries and
// a few MB. The limits leave room for that and stop a hostile archive (a gzip bomb, a header
// claiming terabytes) from filling the temporary directory's file system.
const (
	maxEntries  = 100_000
	maxBytes    = 64 << 20 // all regular files together
	maxManifest = 64 << 10 // the manifest is read into memory; a real one is ~200 bytes
)

// unpacker creates entries below an opened directory without ever following a link: each
// path is walked one name at a time with openat(O_NOFOLLOW|O_DIRECTORY), and the last name is
// created with mkdirat, symlinkat or openat(O_CREAT|O_EXCL|O_NOFOLLOW). A link met on the way
// (one the archive created earlier) fails the walk in the kernel, so no sequence of entries
// can make a later one land elsewhere.
type unpacker struct {
	root   int   // fd of the target directory
	budget int64 // bytes of regular-file content still allowed
}

func openUnpacker(dir string) (*unpacker, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("unpacking capture into %s: %w", dir, err)
	}
	// An empty directory holds no link an entry could pass through unseen.
	ents, err := os.ReadDir(dir)
	if err == nil && len(ents) > 0 {
		err = errors.New("the directory is not empty")
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("unpacking capture into %s: %w", dir, err)
	}
	return &unpacker{root: fd, budget: maxBytes}, nil
}

func (u *unpacker) close() { unix.Close(u.root) }

// entryPath splits an entry's name into the names of its path below the capture's top. "."
// and empty components ("./sys", "sys//block") are dropped; nothing else is rewritten.
func entryPath(name string) ([]string, error) {
	if strings.HasPrefix(name, "/") {
		return nil, errors.New("its name is absolute")
	}
	var parts []string
	for _, p := range strings.Split(name, "/") {
		switch p {
		case "", ".":
		case "..":
			return nil, errors.New(`its name has a ".." component`)
		default:
			parts = append(parts, p)
		}
	}
	return parts, nil
}

// checkLinkTarget keeps a link inside the capture. A clean relative target (only leading
// "..", as filepath.Rel writes them and sysfs has them) that climbs no higher than the link's
// own depth stays inside on disk too: the link's directory is a real one (entries never pass
// through links), and every link it may lead through obeys the same rule.
func checkLinkTarget(parts []string, target string) error {
	switch {
	case target == "":
		return errors.New("its link target is empty")
	case filepath.IsAbs(target):
		return fmt.Errorf("it links to the absolute path %s", target)
	case filepath.Clean(target) != target:
		return fmt.Errorf("its link target %s is not clean (captures store links as filepath.Rel writes them)", target)
	}
	ups := 0
	for _, p := range strings.Split(target, "/") {
		if p == ".." {
			ups++
		}
	}
	if ups > len(parts)-1 {
		return fmt.Errorf("it links outside the capture (%s)", target)
	}
	return nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeLink:
		return "a hard link"
	case tar.TypeChar:
		return "a character device"
	case tar.TypeBlock:
		return "a block device"
	case tar.TypeFifo:
		return "a fifo"
	}
	return fmt.Sprintf("of tar type %q", t)
}

// entry creates one archive entry; a refusal names it and says why, on one line.
func (u *unpacker) entry(h *tar.Header, body io.Reader, m *Manifest) error {
	refuse := func(err error) error { return fmt.Errorf("refusing capture entry %q: %w", h.Name, err) }
	parts, err := entryPath(h.Name)
	if err != nil {
		return refuse(err)
	}
	if len(parts) == 0 {
		if h.Typeflag == tar.TypeDir {
			return nil // the top itself, as `tar -C dir .` writes it
		}
		return refuse(errors.New("it has no name"))
	}
	switch h.Typeflag {
	case tar.TypeDir, tar.TypeSymlink, tar.TypeReg:
	default:
		return refuse(fmt.Errorf("it is %s; a capture holds only files, directories and symbolic links", typeName(h.Typeflag)))
	}
	if h.Typeflag == tar.TypeSymlink {
		if err := checkLinkTarget(parts, h.Linkname); err != nil {
			return refuse(err)
		}
	}
	if h.Typeflag == tar.TypeReg && h.Size > u.budget {
		return refuse(fmt.Errorf("the capture's files add up to more than %d bytes", maxBytes))
	}
	parent, err := u.openDir(parts[:len(parts)-1])
	if err != nil {
		return refuse(err)
	}
	defer unix.Close(parent)
	name := parts[len(parts)-1]
	switch h.Typeflag {
	case tar.TypeDir:
		fd, err := u.mkdirOpen(parent, parts, len(parts)-1)
		if err != nil {
			return refuse(err)
		}
		unix.Close(fd)
	case tar.TypeSymlink:
		if err := unix.Symlinkat(h.Linkname, parent, name); err != nil {
			return refuse(existsTwice(err))
		}
	case tar.TypeReg:
		if err := u.writeFile(parent, name, h.Size, body, len(parts) == 1 && name == ManifestName, m); err != nil {
			return refuse(err)
		}
	}
	return nil
}

func existsTwice(err error) error {
	if errors.Is(err, unix.EEXIST) {
		return errors.New("the name appears twice")
	}
	return err
}

// openDir walks parts from the top, creating missing directories, and returns an fd of the
// last one.
func (u *unpacker) openDir(parts []string) (int, error) {
	fd, err := unix.Dup(u.root)
	if err != nil {
		return -1, err
	}
	for i := range parts {
		next, err := u.mkdirOpen(fd, parts, i)
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// mkdirOpen makes directory parts[i] in dirfd (its parent, parts[:i]) unless it exists, and
// opens it without following a link.
func (u *unpacker) mkdirOpen(dirfd int, parts []string, i int) (int, error) {
	if err := unix.Mkdirat(dirfd, parts[i], 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, err
	}
	fd, err := unix.Openat(dirfd, parts[i], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == nil {
		return fd, nil
	}
	here := strings.Join(parts[:i+1], "/")
	var st unix.Stat_t
	if unix.Fstatat(dirfd, parts[i], &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return -1, fmt.Errorf("its path passes through the link %s", here)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return -1, fmt.Errorf("its path passes through %s, which is not a directory", here)
		}
	}
	return -1, fmt.Errorf("%s: %w", here, err)
}

// writeFile creates name in dirfd (never through a link, never over an existing entry) and
// copies exactly size bytes into it; the manifest is also decoded into m.
func (u *unpacker) writeFile(dirfd int, name string, size int64, body io.Reader, manifest bool, m *Manifest) error {
	if manifest && size > maxManifest {
		return fmt.Errorf("the manifest is over %d bytes", maxManifest)
	}
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return existsTwice(err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	u.budget -= size
	w := io.Writer(f)
	var mb strings.Builder
	if manifest {
		w = io.MultiWriter(f, &mb)
	}
	if _, err := io.CopyN(w, body, size); err != nil {
		return err
	}
	if manifest {
		if err := json.Unmarshal([]byte(mb.String()), m); err != nil {
			return fmt.Errorf("capture manifest: %w", err)
		}
	}
	return f.Close()
}
