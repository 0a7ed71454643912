package host

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestDirectFileReadsAnyRange: unaligned offsets and lengths, across block boundaries and
// up to the end, read what the file holds. O_DIRECT needs a file system that takes it; where
// the test's directory does not (tmpfs), the test says so and skips.
func TestDirectFileReadsAnyRange(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 3*directAlign+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(filepath.Join(dir, "disk"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := NewRoot(dir).OpenDirectFile("/disk")
	if err != nil {
		t.Skipf("O_DIRECT is not taken here: %v", err)
	}
	defer d.Close()
	for _, c := range []struct{ off, n int }{{0, 512}, {1, 10}, {4090, 20}, {4096, 4096}, {5000, 7000}, {len(data) - 10, 10}} {
		b := make([]byte, c.n)
		n, err := d.ReadAt(b, int64(c.off))
		if err != nil || n != c.n || !bytes.Equal(b, data[c.off:c.off+c.n]) {
			t.Errorf("ReadAt(%d, %d) = %d, %v", c.off, c.n, n, err)
		}
	}
	b := make([]byte, 20)
	if n, err := d.ReadAt(b, int64(len(data)-10)); n != 10 || !errors.Is(err, io.EOF) || !bytes.Equal(b[:10], data[len(data)-10:]) {
		t.Errorf("past the end: %d, %v", n, err)
	}
	if size, err := d.Seek(0, io.SeekEnd); err != nil || size != int64(len(data)) {
		t.Errorf("size %d, %v", size, err)
	}
}
