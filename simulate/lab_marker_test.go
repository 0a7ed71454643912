package simulate

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/host"
)

// FuzzReadMarker: the drill marker (raidswap-drill.json) is read back by every cleanup, from
// a directory anyone with root may have edited. Whatever its bytes, reading it never
// panics, and a marker it accepts is raidswap's, of this very directory, and names only
// files <lab>/raidswap-drill-<SERIAL>.img, each serial and each inode once. The seed is a
// marker the lab code itself wrote (NewLab, two disks made by Prepare).
func FuzzReadMarker(f *testing.F) {
	base := filepath.Join(f.TempDir(), "drill")
	l, err := NewLab(f.Context(), host.NoRunner{Reason: "making a marker runs no command"}, nil, base)
	if err != nil {
		f.Fatal(err)
	}
	for _, d := range []DiskSpec{{Serial: l.NewSerial(), Size: mib}, {Serial: l.NewSerial(), Size: mib, SectorSize: 4096}} {
		if err := l.Prepare(f.Context(), d, false); err != nil {
			f.Fatal(err)
		}
	}
	real, err := os.ReadFile(filepath.Join(l.Dir, identify.DrillMarker))
	if err != nil {
		f.Fatal(err)
	}
	m, err := readMarker(l.Dir)
	if err != nil || len(m.Disks) != 2 {
		f.Fatalf("the lab's own marker: %+v, %v", m, err)
	}
	f.Add(real)
	f.Add([]byte(strings.Replace(string(real), m.Disks[0].File, "/etc/passwd", 1)))
	f.Add([]byte(strings.Replace(string(real), m.Disks[0].File, l.Dir+"/../x/"+identify.DrillFile(m.Disks[0].Serial), 1)))
	f.Add([]byte(strings.Replace(string(real), m.Disks[1].Serial, m.Disks[0].Serial, -1)))
	f.Add([]byte("null"))
	// The bytes go straight to the parser readMarker hands them to (identify.ParseDrillMarker):
	// what readMarker adds (a regular file in a real directory, at most 64 KiB) is
	// TestCleanupLeftoversMarkerNotAFile's and TestCleanupLeftoversHostileMarker's.
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := identify.ParseDrillMarker(b, l.Dir)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error of more than one line: %q", err)
			}
			return
		}
		if m.Tool != identify.DrillMarkerTool || m.ID != l.ID || m.PID <= 0 {
			t.Errorf("accepted %+v", m)
		}
		serials, inodes := map[string]bool{}, map[[2]uint64]bool{}
		for _, d := range m.Disks {
			if path.Dir(d.File) != l.Dir || d.File != path.Clean(d.File) || path.Base(d.File) != identify.DrillFile(d.Serial) || !isLabFile(path.Base(d.File)) {
				t.Errorf("accepted a disk outside the lab: %+v", d)
			}
			if d.Ino == 0 || serials[d.Serial] || inodes[[2]uint64{d.Dev, d.Ino}] {
				t.Errorf("accepted a disk without its own inode or serial: %+v", d)
			}
			serials[d.Serial], inodes[[2]uint64{d.Dev, d.Ino}] = true, true
		}
	})
}
