package bootloader

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// An ESP's tree: what it holds, file by file, and where two trees differ.

// File is one file or directory of an ESP tree, by its slash path below the ESP's root.
type File struct {
	Path   string
	Dir    bool
	Size   int64
	SHA256 [32]byte
}

// ReadTree lists the tree under dir with each file's SHA-256, sorted by path. Symbolic
// links and special files are refused (FAT has none; finding one means dir is not an ESP).
// raidswap's own temporary names are left out.
func ReadTree(dir string) ([]File, error) {
	var out []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(path.Base(rel), tmpPrefix) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			out = append(out, File{Path: rel, Dir: true})
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: not a regular file or directory (%s)", p, d.Type())
		}
		sum, n, err := hashFile(p)
		if err != nil {
			return err
		}
		out = append(out, File{Path: rel, Size: n, SHA256: sum})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func hashFile(p string) ([32]byte, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return [32]byte{}, 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return [32]byte{}, 0, err
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, n, nil
}

// Mismatch is the first difference between an ESP tree and the survivor's, or "" when
// every file and directory of want is in got with the same content. FAT names are compared
// without case, as the firmware and the kernel's vfat compare them.
func Mismatch(want, got []File) string {
	have := map[string]File{}
	for _, f := range got {
		have[strings.ToLower(f.Path)] = f
	}
	for _, w := range want {
		g, ok := have[strings.ToLower(w.Path)]
		switch {
		case !ok:
			return w.Path + " is missing"
		case w.Dir != g.Dir:
			return w.Path + " is a directory on one ESP and a file on the other"
		case w.Dir:
		case w.Size != g.Size:
			return fmt.Sprintf("%s has %d bytes, want %d", w.Path, g.Size, w.Size)
		case w.SHA256 != g.SHA256:
			return fmt.Sprintf("%s differs (sha256 %x, want %x)", w.Path, g.SHA256[:8], w.SHA256[:8])
		}
	}
	return ""
}
