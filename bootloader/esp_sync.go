package bootloader

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Copying the survivor's ESP tree onto the new disk's ESP, verified file by file.

// FullError refuses a copy that does not fit on the target ESP.
type FullError struct {
	Dir        string
	NeedBytes  int64
	FreeBytes  int64
	FilesBytes int64
}

func (e *FullError) Error() string {
	return fmt.Sprintf("the ESP at %s has %d bytes free; the survivor's tree needs %d (%d bytes of files, rounded to clusters): nothing was copied",
		e.Dir, e.FreeBytes, e.NeedBytes, e.FilesBytes)
}

// freeBytes is the space left on the file system of dir and its block size (a variable so
// a test can make an ESP full without filling a disk).
var freeBytes = statfsFree

func statfsFree(dir string) (free, block int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Bavail) * st.Bsize, st.Bsize, nil
}

// need is what a tree takes on a file system with the given cluster size: each file
// rounded up to clusters, each directory one cluster.
func need(tree []File, cluster int64) (total, files int64) {
	if cluster <= 0 {
		cluster = 512
	}
	for _, f := range tree {
		if f.Dir {
			total += cluster
			continue
		}
		files += f.Size
		total += (f.Size + cluster - 1) / cluster * cluster
	}
	return total, files
}

// SyncResult says what SyncTree did.
type SyncResult struct {
	// AlreadyInSync: the target already held the survivor's tree; nothing was written.
	AlreadyInSync bool
	Files         int
	Bytes         int64
}

// SyncTree makes the ESP mounted at dst hold the tree of the ESP mounted at src, verified
// file by file by SHA-256. It is done in Go, not by `cp -a`, because every file is checked
// against the survivor's hash after it is written and synced, and the whole tree is first
// written under a temporary name and only then renamed into place: a full ESP is refused
// before anything is written (with the numbers), and an interrupted copy leaves a
// temporary directory that the next run removes, never a half-written EFI/ tree. Running
// it again on a target in sync writes nothing.
func SyncTree(src, dst string) (SyncResult, error) {
	want, err := ReadTree(src)
	if err != nil {
		return SyncResult{}, fmt.Errorf("reading the survivor's ESP: %w", err)
	}
	if len(want) == 0 {
		return SyncResult{}, fmt.Errorf("the survivor's ESP at %s is empty: nothing to copy, and nothing that boots", src)
	}
	got, err := ReadTree(dst)
	if err != nil {
		return SyncResult{}, fmt.Errorf("reading the new ESP: %w", err)
	}
	if Mismatch(want, got) == "" {
		return SyncResult{AlreadyInSync: true}, nil
	}
	tmp := filepath.Join(dst, tmpPrefix)
	if err := os.RemoveAll(tmp); err != nil {
		return SyncResult{}, fmt.Errorf("removing an interrupted copy: %w", err)
	}
	free, cluster, err := freeBytes(dst)
	if err != nil {
		return SyncResult{}, err
	}
	// What the target holds now is replaced only after the copy: it still takes room.
	total, files := need(want, cluster)
	if total > free {
		return SyncResult{}, &FullError{Dir: dst, NeedBytes: total, FreeBytes: free, FilesBytes: files}
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return SyncResult{}, err
	}
	res := SyncResult{}
	for _, f := range want {
		to := filepath.Join(tmp, filepath.FromSlash(f.Path))
		if f.Dir {
			if err := os.Mkdir(to, 0o700); err != nil {
				return res, err
			}
			continue
		}
		if err := copyVerified(filepath.Join(src, filepath.FromSlash(f.Path)), to, f.SHA256); err != nil {
			return res, err
		}
		res.Files++
		res.Bytes += f.Size
	}
	// Rename each top-level entry into place; one that is already there is moved aside
	// first and removed after, so each entry is either the old one or the new one whole.
	top, err := os.ReadDir(tmp)
	if err != nil {
		return res, err
	}
	for _, e := range top {
		final := filepath.Join(dst, e.Name())
		old := filepath.Join(dst, tmpPrefix+"-old-"+e.Name())
		if err := os.RemoveAll(old); err != nil {
			return res, err
		}
		if existing := lookupFold(dst, e.Name()); existing != "" {
			if err := os.Rename(filepath.Join(dst, existing), old); err != nil {
				return res, err
			}
		}
		if err := os.Rename(filepath.Join(tmp, e.Name()), final); err != nil {
			return res, err
		}
		if err := os.RemoveAll(old); err != nil {
			return res, err
		}
	}
	if err := os.Remove(tmp); err != nil {
		return res, err
	}
	if err := syncDir(dst); err != nil {
		return res, err
	}
	got, err = ReadTree(dst)
	if err != nil {
		return res, err
	}
	if m := Mismatch(want, got); m != "" {
		return res, fmt.Errorf("after the copy the new ESP differs from the survivor's: %s", m)
	}
	return res, nil
}

// lookupFold finds name in dir ignoring case (FAT's rule), "" when absent.
func lookupFold(dir, name string) string {
	es, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range es {
		if strings.EqualFold(e.Name(), name) {
			return e.Name()
		}
	}
	return ""
}

// copyVerified copies from to to (a new file), syncs it, reads it back and compares its
// SHA-256 with want.
func copyVerified(from, to string, want [32]byte) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", from, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("syncing %s: %w", to, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	if !bytes.Equal(h.Sum(nil), want[:]) {
		return fmt.Errorf("%s changed while it was copied (sha256 differs from the one read first)", from)
	}
	got, _, err := hashFile(to)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s reads back different from %s (sha256 %x, want %x)", to, from, got[:8], want[:8])
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	// syncfs through the directory, not fsync: vfat writes a renamed file's start cluster
	// into its new directory entry only when the file's inode is written back, which an
	// fsync of the directory does not do. Until then the disk holds the entry with cluster
	// 0 (status, reading the device, found "invalid start cluster: 0" in EFI/BOOT/BOOTX64.EFI
	// right after the fallback step), and a power cut would leave it so.
	if err := unix.Syncfs(int(d.Fd())); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
