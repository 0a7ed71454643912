package partition

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/raidswap/raidswap/internal/host"
)

// The test images are sparse files of up to a few GiB holding a few KiB of tables and
// superblocks. Reading them whole (to compare before and after) and making each with sgdisk
// (which syncs every file system and then sleeps a second) took most of the package's time;
// the helpers here read only a file's data extents and make each sgdisk layout once.

// dataExtents calls fn for every extent of f that may hold data, in order, as [start, end).
// A file system that cannot say where its holes are gives one extent: the whole file.
func dataExtents(f *os.File, size int64, fn func(start, end int64) error) error {
	for off := int64(0); off < size; {
		start, err := unix.Seek(int(f.Fd()), off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			return nil // only a hole is left
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) {
			return fn(off, size)
		}
		if err != nil {
			return err
		}
		end, err := unix.Seek(int(f.Fd()), start, unix.SEEK_HOLE)
		if err != nil {
			return err
		}
		if end > size {
			end = size
		}
		if err := fn(start, end); err != nil {
			return err
		}
		off = end
	}
	return nil
}

const sumBlock = 4096

// ContentSum is a digest of a file's content: its size and every 4 KiB block that is not all
// zeros, with the block's offset. Two files get the same digest exactly when they read the
// same, byte for byte (a hole reads as zeros, so skipping holes and zero blocks loses
// nothing), but only the data extents are read.
func ContentSum(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "size %d\n", fi.Size())
	buf := make([]byte, 256*sumBlock)
	zero := make([]byte, sumBlock)
	next := int64(0) // the first block not yet digested
	err = dataExtents(f, fi.Size(), func(start, end int64) error {
		start = max(start/sumBlock*sumBlock, next)
		for off := start; off < end; {
			n, err := f.ReadAt(buf[:min(int64(len(buf)), (end-off+sumBlock-1)/sumBlock*sumBlock)], off)
			if err != nil && err != io.EOF {
				return err
			}
			if n == 0 {
				break
			}
			for b := 0; b < n; b += sumBlock {
				blk := buf[b:min(b+sumBlock, n)]
				if string(blk) != string(zero[:len(blk)]) {
					var at [8]byte
					binary.BigEndian.PutUint64(at[:], uint64(off+int64(b)))
					h.Write(at[:])
					h.Write(blk)
				}
			}
			off += int64((n + sumBlock - 1) / sumBlock * sumBlock)
			next = off
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// copySparse copies the file src to a new file dst of the same size, holes as holes.
func copySparse(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if err := out.Truncate(fi.Size()); err != nil {
		out.Close()
		return err
	}
	err = dataExtents(in, fi.Size(), func(start, end int64) error {
		_, err := io.Copy(io.NewOffsetWriter(out, start), io.NewSectionReader(in, start, end-start))
		return err
	})
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// sgdiskImages holds one image per sgdisk layout (size and arguments) made in this test
// process; sgdiskDir is the directory they are in, removed by TestMain.
var (
	sgdiskMu     sync.Mutex
	sgdiskImages = map[string]string{}
	sgdiskDir    string
)

// SgdiskImage makes the file dir/name of size bytes, partitioned by sgdisk with args. sgdisk
// runs once per layout; every later caller gets a copy of that image (with the same disk and
// partition GUIDs: no test compares the GUIDs of two such images).
func SgdiskImage(t testing.TB, dir, name string, size int64, args ...string) string {
	t.Helper()
	needTool(t, host.Sgdisk)
	key := fmt.Sprintf("%d %s", size, strings.Join(args, "\x00"))
	sgdiskMu.Lock()
	defer sgdiskMu.Unlock()
	tmpl, ok := sgdiskImages[key]
	if !ok {
		if sgdiskDir == "" {
			d, err := os.MkdirTemp("", "raidswap-partition-images-")
			if err != nil {
				t.Fatal(err)
			}
			sgdiskDir = d
		}
		tmpl = filepath.Join(sgdiskDir, fmt.Sprintf("%d.img", len(sgdiskImages)))
		f, err := os.Create(tmpl)
		if err == nil {
			err = f.Truncate(size)
			f.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		run(t, append(append([]string{host.Sgdisk}, args...), tmpl)...)
		sgdiskImages[key] = tmpl
	}
	img := filepath.Join(dir, name)
	if err := copySparse(img, tmpl); err != nil {
		t.Fatal(err)
	}
	return img
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sgdiskDir != "" {
		os.RemoveAll(sgdiskDir)
	}
	os.Exit(code)
}

// TestContentSumAndCopySparse: the digest tells two contents apart wherever they differ and
// only there, whether the bytes sit in holes, zero-filled data or data; a sparse copy reads the
// same as its source.
func TestContentSumAndCopySparse(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, size int64, writes map[int64][]byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, size); err != nil {
			t.Fatal(err)
		}
		for off, b := range writes {
			writeAt(t, p, off, b)
		}
		return p
	}
	const size = 8 << 20
	base := mk("base", size, map[int64][]byte{0: []byte("table"), 5<<20 + 7: []byte("superblock")})
	same := map[string]string{
		"zeros written into a hole": mk("zeros", size, map[int64][]byte{0: []byte("table"), 5<<20 + 7: []byte("superblock"), 2 << 20: make([]byte, 1<<20)}),
		"written in another order":  mk("order", size, map[int64][]byte{5<<20 + 7: []byte("superblock"), 0: []byte("table")}),
	}
	differ := map[string]string{
		"one byte more":        mk("byte", size, map[int64][]byte{0: []byte("table"), 5<<20 + 7: []byte("superblock"), size - 1: {1}}),
		"a byte moved":         mk("moved", size, map[int64][]byte{0: []byte("table"), 5<<20 + 8: []byte("superblock")}),
		"one byte changed":     mk("changed", size, map[int64][]byte{0: []byte("tablf"), 5<<20 + 7: []byte("superblock")}),
		"longer by zeros only": mk("longer", size+1, map[int64][]byte{0: []byte("table"), 5<<20 + 7: []byte("superblock")}),
		"a block moved":        mk("block", size, map[int64][]byte{sumBlock: []byte("table"), 5<<20 + 7: []byte("superblock")}),
	}
	want := ContentSum(t, base)
	for name, p := range same {
		if got := ContentSum(t, p); got != want {
			t.Errorf("%s: digest differs from the same content's", name)
		}
	}
	for name, p := range differ {
		if got := ContentSum(t, p); got == want {
			t.Errorf("%s: digest equals a different content's", name)
		}
	}
	cp := filepath.Join(dir, "copy")
	if err := copySparse(cp, base); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(base)
	b, _ := os.ReadFile(cp)
	if string(a) != string(b) {
		t.Error("the sparse copy does not read as its source")
	}
	var st unix.Stat_t
	if err := unix.Stat(cp, &st); err == nil && st.Blocks*512 > size/2 {
		t.Logf("the copy takes %d bytes: this file system keeps no holes", st.Blocks*512)
	}
}
