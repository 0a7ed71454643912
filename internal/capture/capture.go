// Package capture writes and reads raidswap captures: a tar.gz of exactly the files and
// symbolic links under /proc, /sys, /dev and /run that discovery read, laid out as they are
// on the system, so `status --root` on the unpacked capture sees what `status` saw live.
// Captures serve bug reports and are how test fixtures are made. Capturing reads the live
// system only; unpacking never follows a link and refuses entries that could land outside the
// target directory.
package capture

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
)

// ManifestName is the capture's own description, at the top of the archive.
const ManifestName = "raidswap-capture.json"

// Manifest says where and when a capture was taken.
type Manifest struct {
	Format   int       `json:"format"`
	Taken    time.Time `json:"taken"`
	Hostname string    `json:"hostname"`
	Kernel   string    `json:"kernel"`
	Files    int       `json:"files"`
	Links    int       `json:"links"`
	Verdict  string    `json:"verdict"`
}

// Record runs discovery on root and returns every path it read (directories end in "/").
func Record(root *host.Root) ([]string, *discover.System, error) {
	seen := map[string]bool{}
	rec := *root
	rec.Recorder = func(p string) { seen[p] = true }
	sys, err := discover.Discover(&rec)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range []string{"/proc/sys/kernel/hostname", "/proc/sys/kernel/osrelease"} {
		seen[p] = true
	}
	paths := make([]string, 0, len(seen))
	for p := range seen {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths, sys, nil
}

type entry struct {
	link    string // symlink target, or ""
	dir     bool
	content []byte
}

// collector resolves recorded paths on the real file system below dir, noting every
// symbolic link on the way so the capture keeps sysfs' shape.
type collector struct {
	dir     string
	entries map[string]entry
}

func (c *collector) real(p string) string { return filepath.Join(c.dir, p) }

// resolve walks p component by component, recording links and directories, and returns the
// resolved system path.
func (c *collector) resolve(p string, depth int) (string, bool) {
	if depth > 40 {
		return "", false
	}
	parts := strings.Split(strings.Trim(filepath.Clean(p), "/"), "/")
	cur := "/"
	for i, part := range parts {
		if part == "" {
			continue
		}
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(c.real(next))
		if err != nil {
			return "", false
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			t, err := os.Readlink(c.real(next))
			if err != nil {
				return "", false
			}
			abs := t
			if !filepath.IsAbs(t) {
				abs = filepath.Join(filepath.Dir(next), t)
			}
			// Links are stored relative, so an unpacked capture never points outside itself.
			rel, err := filepath.Rel(filepath.Dir(next), filepath.Clean(abs))
			if err != nil {
				return "", false
			}
			c.entries[next] = entry{link: rel}
			last := i == len(parts)-1
			if last && !linkTargetExists(c.real(abs)) {
				return next, true
			}
			resolved, ok := c.resolve(abs, depth+1)
			if !ok {
				return next, last
			}
			cur = resolved
			continue
		}
		if fi.IsDir() {
			if _, ok := c.entries[next]; !ok {
				c.entries[next] = entry{dir: true}
			}
		}
		cur = next
	}
	return cur, true
}

func linkTargetExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (c *collector) add(p string) {
	listing := strings.HasSuffix(p, "/")
	resolved, ok := c.resolve(strings.TrimSuffix(p, "/"), 0)
	if !ok {
		return
	}
	fi, err := os.Lstat(c.real(resolved))
	if err != nil {
		return
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		// A dangling link: already recorded by resolve.
	case fi.IsDir() && listing:
		ents, err := os.ReadDir(c.real(resolved))
		if err != nil {
			return
		}
		for _, e := range ents {
			child := filepath.Join(resolved, e.Name())
			if e.Type()&fs.ModeSymlink != 0 {
				c.resolve(child, 0)
				if t, ok := c.entries[child]; ok && t.link != "" {
					continue
				}
			}
			if e.IsDir() {
				if _, ok := c.entries[child]; !ok {
					c.entries[child] = entry{dir: true}
				}
			}
		}
	case fi.Mode().IsRegular():
		b, err := os.ReadFile(c.real(resolved))
		if err != nil {
			return // write-only or vanished attribute: not capturable, not readable either
		}
		c.entries[resolved] = entry{content: b}
	}
}

// Write captures the given system paths from below dir into w as a tar.gz.
func Write(w io.Writer, dir string, paths []string, m Manifest) (Manifest, error) {
	c := &collector{dir: dir, entries: map[string]entry{}}
	for _, p := range paths {
		c.add(p)
	}
	names := make([]string, 0, len(c.entries))
	for n, e := range c.entries {
		names = append(names, n)
		switch {
		case e.link != "":
			m.Links++
		case !e.dir:
			m.Files++
		}
	}
	sort.Strings(names)
	m.Format = 1
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	mb, _ := json.MarshalIndent(m, "", "  ")
	if err := tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o644, Size: int64(len(mb)), Typeflag: tar.TypeReg, ModTime: m.Taken}); err != nil {
		return m, err
	}
	if _, err := tw.Write(mb); err != nil {
		return m, err
	}
	for _, n := range names {
		e := c.entries[n]
		h := &tar.Header{Name: strings.TrimPrefix(n, "/"), ModTime: m.Taken}
		switch {
		case e.link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.link, 0o777
		case e.dir:
			h.Typeflag, h.Mode, h.Name = tar.TypeDir, 0o755, h.Name+"/"
		default:
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o644, int64(len(e.content))
		}
		if err := tw.WriteHeader(h); err != nil {
			return m, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.content); err != nil {
				return m, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return m, err
	}
	return m, gz.Close()
}

// Unpack extracts a capture into dir, which must be empty. A capture comes from a bug report
// and is opened as root, so unpacking never follows a link: every entry is created relative
// to an opened directory, one name at a time, with O_NOFOLLOW (see unpacker). It refuses
// absolute names, ".." components, an entry whose path passes through a link, an entry that
// is neither a regular file, a directory nor a symbolic link, a link that points outside the
// capture, and archives over the size limits.
func Unpack(r io.Reader, dir string) (Manifest, error) {
	var m Manifest
	gz, err := gzip.NewReader(r)
	if err != nil {
		return m, fmt.Errorf("not a raidswap capture (gzip): %w", err)
	}
	u, err := openUnpacker(dir)
	if err != nil {
		return m, err
	}
	defer u.close()
	tr := tar.NewReader(gz)
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, fmt.Errorf("reading capture: %w", err)
		}
		if n == maxEntries {
			return m, fmt.Errorf("refusing capture: it holds more than %d entries", maxEntries)
		}
		if err := u.entry(h, tr, &m); err != nil {
			return m, err
		}
	}
	if m.Format == 0 {
		return m, errors.New("not a raidswap capture: no " + ManifestName)
	}
	return m, nil
}
