package plankey

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "plan.key")
	k1, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != Size {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %o", di.Mode().Perm())
	}
	k2, err := LoadOrCreate(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load: %v, same key %t", err, bytes.Equal(k1, k2))
	}
	if bytes.Equal(k1, make([]byte, Size)) {
		t.Error("key is all zeros")
	}
}

func TestLoadRefusesUnsafeKeys(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.key")
	if _, err := LoadOrCreate(good); err != nil {
		t.Fatal(err)
	}
	readable := filepath.Join(dir, "readable.key")
	os.WriteFile(readable, make([]byte, Size), 0o644)
	os.Chmod(readable, 0o644)
	short := filepath.Join(dir, "short.key")
	os.WriteFile(short, []byte("abc"), 0o600)
	link := filepath.Join(dir, "link.key")
	os.Symlink(good, link)
	sub := filepath.Join(dir, "dir.key")
	os.Mkdir(sub, 0o700)
	for path, want := range map[string]string{
		readable: "has mode 0644",
		short:    "has 3 bytes",
		link:     "symbolic link",
		sub:      "not a regular file",
	} {
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", filepath.Base(path), err, want)
		}
		if _, err := LoadOrCreate(path); err == nil {
			t.Errorf("%s: LoadOrCreate accepted it", filepath.Base(path))
		}
	}
}
