// Package plankey keeps this host's plan key: the secret that seals every plan raidswap
// builds (an HMAC-SHA256 over the plan), so that apply can tell a plan this host built from
// one edited by hand and re-hashed. The key is root's alone (0600 in a 0700 directory) and is
// created on first use. The package reads and creates that one file; it knows nothing of plans.
package plankey

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// Size is the key's length in bytes (HMAC-SHA256's block-size-independent strength).
const Size = 32

// Load reads the key at path and refuses a key file anyone but its owner (this user) could
// read or replace: a symlink, not a regular file, group or world access, another owner, or a
// wrong size.
func Load(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("plan key %s is a symbolic link: refusing it", path)
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("plan key %s is not a regular file: refusing it", path)
	case fi.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("plan key %s has mode %04o: anyone but its owner may read or change it, so it proves nothing (chmod 600 it, or remove it and build the plan again)", path, fi.Mode().Perm())
	case st != nil && int(st.Uid) != os.Geteuid():
		return nil, fmt.Errorf("plan key %s belongs to uid %d, not to this user (uid %d): refusing it", path, st.Uid, os.Geteuid())
	case fi.Size() != Size:
		return nil, fmt.Errorf("plan key %s has %d bytes, not %d: damaged; remove it and build the plan again", path, fi.Size(), Size)
	}
	key := make([]byte, Size)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, fmt.Errorf("reading plan key %s: %w", path, err)
	}
	return key, nil
}

// LoadOrCreate reads the key at path, creating it (and its directory, 0700) with fresh random
// bytes when there is none. Two raidswaps creating it at once agree: the second reads the
// first's key.
func LoadOrCreate(path string) ([]byte, error) {
	key, err := Load(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("plan key directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return Load(path)
	}
	if err != nil {
		return nil, fmt.Errorf("creating plan key: %w", err)
	}
	key = make([]byte, Size)
	if _, err := rand.Read(key); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("creating plan key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("writing plan key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing plan key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing plan key %s: %w", path, err)
	}
	return key, nil
}

// Ephemeral is a key that exists only in this process: it seals a plan meant for reading
// (a plan of a capture, or one printed by a user who cannot read the host's key), which no
// apply will accept.
func Ephemeral() []byte {
	key := make([]byte, Size)
	if _, err := rand.Read(key); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return key
}
