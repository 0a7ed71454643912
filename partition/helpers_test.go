package partition

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

// run runs a tool the test depends on and returns its stdout; it fails the test on a
// non-zero exit.
func run(t testing.TB, argv ...string) string {
	t.Helper()
	res, err := host.ExecRunner{}.Run(context.Background(), argv...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, res.Stdout)
	}
	return string(res.Stdout)
}

// runStdin runs a tool with stdin.
func runStdin(t testing.TB, stdin string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

func needTool(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not installed", path)
	}
}

// newImage creates a sparse image file of size bytes.
func newImage(t testing.TB, name string, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func writeAt(t testing.TB, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// seeded is a deterministic source of "random" identifiers for golden output.
func seeded(seed int64) io.Reader { return rand.New(rand.NewSource(seed)) }

// md1 describes a version-1 superblock to synthesize, in 512-byte sectors as md stores them.
type md1 struct {
	minor         int
	devSize       int64 // bytes of the member device
	dataOffset    uint64
	dataSize      uint64
	size          uint64 // component size
	devNumber     uint32
	role          uint16
	name          string
	uuid          [16]byte
	bitmapOffset  int32
	featureBitmap bool
	events        uint64 // 0 means 42
}

// bytes renders the superblock as the kernel writes it, checksum included.
func (m md1) bytes() (off int64, b []byte) {
	b = make([]byte, 4096)
	le32 := func(o int, v uint32) { binary.LittleEndian.PutUint32(b[o:], v) }
	le64 := func(o int, v uint64) { binary.LittleEndian.PutUint64(b[o:], v) }
	off = md1Offset(m.minor, m.devSize)
	le32(0, mdMagic)
	le32(4, 1)
	if m.featureBitmap {
		le32(8, 1)
		le32(96, uint32(m.bitmapOffset))
	}
	copy(b[16:32], m.uuid[:])
	copy(b[32:64], m.name)
	le64(64, 1700000000)
	le32(72, 1) // raid1
	le64(80, m.size)
	le32(92, 2)
	le64(128, m.dataOffset)
	le64(136, m.dataSize)
	le64(144, uint64(off/512))
	le64(152, ^uint64(0)>>1) // recovery_offset: irrelevant
	le32(160, m.devNumber)
	copy(b[168:184], m.uuid[:])
	le64(192, 1700000100)
	events := m.events
	if events == 0 {
		events = 42
	}
	le64(200, events)
	le64(208, ^uint64(0))
	maxDev := uint32(128)
	le32(220, maxDev)
	for i := 0; i < int(maxDev); i++ {
		binary.LittleEndian.PutUint16(b[256+2*i:], 0xffff)
	}
	binary.LittleEndian.PutUint16(b[256+2*int(m.devNumber):], m.role)
	n := 256 + 2*int(maxDev)
	var sum uint64
	for i := 0; i+4 <= n; i += 4 {
		sum += uint64(binary.LittleEndian.Uint32(b[i:]))
	}
	le32(216, uint32(sum&0xffffffff)+uint32(sum>>32))
	return off, b
}

// md090 renders a 0.90 superblock for a member of devSize bytes with a component of sizeKiB.
func md090(devSize int64, sizeKiB uint32, raidDisk uint32, uuid [4]uint32) (int64, []byte) {
	b := make([]byte, 4096)
	w := func(i int, v uint32) { binary.LittleEndian.PutUint32(b[i*4:], v) }
	w(0, mdMagic)
	w(1, 0)
	w(2, 90)
	w(3, 0)
	w(5, uuid[0])
	w(6, 1700000000)
	w(7, 1)
	w(8, sizeKiB)
	w(9, 2)
	w(10, 2)
	w(13, uuid[1])
	w(14, uuid[2])
	w(15, uuid[3])
	w(32, 1700000100)
	w(33, 1) // clean
	w(34, 2)
	w(35, 2)
	w(39, 42)
	// disks[raidDisk] and this_disk: number, major, minor, raid_disk, state (active|sync)
	for _, base := range []int{128 + 32*int(raidDisk), 992} {
		w(base, raidDisk)
		w(base+1, 8)
		w(base+2, 16*raidDisk+1)
		w(base+3, raidDisk)
		w(base+4, 6)
	}
	var sum uint64
	for i := 0; i < 1024; i++ {
		sum += uint64(binary.LittleEndian.Uint32(b[i*4:]))
	}
	w(38, uint32(sum&0xffffffff)+uint32(sum>>32))
	return md090Offset(devSize), b
}

func strconvItoa(n int64) string { return fmt.Sprint(n) }

func atoi(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}
