package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/host/hosttest"
)

// labFixture is a Root with no block device yet and a base directory for labs.
func labFixture(t *testing.T) (*host.Root, string) {
	root := fixture(t)
	must(t, os.MkdirAll(root.Path("/sys/block"), 0o755))
	return root, filepath.Join(t.TempDir(), "drill")
}

// attachLoop makes the kernel's view of loop k backed by file: size, backing_file, node.
func attachLoop(t *testing.T, root *host.Root, k, file string, size int64) {
	must(t, os.MkdirAll(root.Path("/sys/block/"+k+"/loop"), 0o755))
	must(t, os.WriteFile(root.Path("/sys/block/"+k+"/size"), []byte(strconv.FormatInt(size/512, 10)+"\n"), 0o644))
	must(t, os.WriteFile(root.Path("/sys/block/"+k+"/loop/backing_file"), []byte(file+"\n"), 0o644))
	must(t, os.WriteFile(root.Path("/dev/"+k), nil, 0o644))
	if fi, err := os.Stat(strings.TrimSuffix(file, " (deleted)")); err == nil {
		st := fi.Sys().(*syscall.Stat_t)
		setInode(t, root, k, st.Dev, st.Ino)
	}
}

// setInode is what LOOP_GET_STATUS64 says of loop k (identify.LoopBacking under a fixture).
func setInode(t *testing.T, root *host.Root, k string, dev, ino uint64) {
	must(t, os.WriteFile(root.Path("/sys/block/"+k+"/"+identify.LoopBackingInodeFile), []byte(fmt.Sprintf("%d:%d\n", dev, ino)), 0o644))
}

// fakeAttach stands in for LOOP_CONFIGURE: each call attaches the image's open file to the
// next of loops (its backing file and inode as the kernel would show them).
func fakeAttach(t *testing.T, root *host.Root, l *Lab, loops ...string) *[]identify.LabDisk {
	var seen []identify.LabDisk
	l.attachFD = func(_ context.Context, f *os.File, d identify.LabDisk) (string, error) {
		if len(seen) == len(loops) {
			t.Fatalf("unexpected attach of %s", d.Serial)
		}
		k := loops[len(seen)]
		seen = append(seen, d)
		fi, err := f.Stat()
		must(t, err)
		attachLoop(t, root, k, d.File, fi.Size())
		st := fi.Sys().(*syscall.Stat_t)
		setInode(t, root, k, st.Dev, st.Ino)
		return "/dev/" + k, nil
	}
	return &seen
}

// detachLoop is what losetup -d does to sysfs: the loop stays, its loop/ directory goes.
func detachLoop(t *testing.T, root *host.Root, k string) func() {
	return func() {
		must(t, os.RemoveAll(root.Path("/sys/block/"+k+"/loop")))
		ps, _ := filepath.Glob(root.Path("/sys/block/" + k + "/" + k + "p*"))
		for _, p := range ps {
			must(t, os.RemoveAll(p))
		}
	}
}

// class makes /sys/class/block/k a link to k's directory, as sysfs has it.
func class(t *testing.T, root *host.Root, k string) {
	dir := "/sys/block/" + k
	if i := strings.LastIndex(k, "p"); strings.HasPrefix(k, "loop") && i > 4 {
		dir = "/sys/block/" + k[:i] + "/" + k
	}
	must(t, os.MkdirAll(root.Path(dir), 0o755))
	if _, err := os.Lstat(root.Path("/sys/class/block/" + k)); err == nil {
		return
	}
	must(t, os.MkdirAll(root.Path("/sys/class/block"), 0o755))
	must(t, os.Symlink("../.."+strings.TrimPrefix(dir, "/sys"), root.Path("/sys/class/block/"+k)))
}

// holder makes h a holder of k, and k one of h's devices (a dm slave or an md member).
func holder(t *testing.T, root *host.Root, k, h string) {
	class(t, root, k)
	must(t, os.MkdirAll(root.Path("/sys/class/block/"+k+"/holders/"+h), 0o755))
	if strings.HasPrefix(h, "md") {
		must(t, os.MkdirAll(root.Path("/sys/block/"+h+"/md/dev-"+k), 0o755))
	} else {
		must(t, os.MkdirAll(root.Path("/sys/block/"+h+"/slaves/"+k), 0o755))
	}
}

func mkPartition(t *testing.T, root *host.Root, k string, n int) string {
	p := k + "p" + strconv.Itoa(n)
	must(t, os.MkdirAll(root.Path("/sys/block/"+k+"/"+p), 0o755))
	must(t, os.WriteFile(root.Path("/sys/block/"+k+"/"+p+"/partition"), []byte(strconv.Itoa(n)), 0o644))
	class(t, root, p)
	return p
}

func newTestLab(t *testing.T, root *host.Root, base string, r host.Runner) *Lab {
	l, err := NewLab(t.Context(), r, root, base)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestNewLab(t *testing.T) {
	root, base := labFixture(t)
	l := newTestLab(t, root, base, hosttest.NewFakeRunner(t))
	if !labIDRe.MatchString(l.ID) || l.Dir != filepath.Join(base, l.ID) {
		t.Errorf("lab %s in %s", l.ID, l.Dir)
	}
	fi, err := os.Stat(l.Dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("lab dir: %v %v", fi, err)
	}
	m, err := readMarker(l.Dir)
	if err != nil || m.ID != l.ID || m.PID != os.Getpid() || len(m.Disks) != 0 {
		t.Fatalf("marker %+v, %v", m, err)
	}
	a, b := l.NewSerial(), l.NewSerial()
	if !strings.HasPrefix(a, "DRILL-A") || !strings.HasPrefix(b, "DRILL-B") || len(a) != 11 || !identify.IsDrillSerial(a) {
		t.Errorf("serials %q %q", a, b)
	}
	if _, err := NewLab(t.Context(), hosttest.NewFakeRunner(t), root, "relative/dir"); err == nil {
		t.Error("a relative base was accepted")
	}
}

func TestLabInsert(t *testing.T) {
	root, base := labFixture(t)
	r := hosttest.NewFakeRunner(t)
	l := newTestLab(t, root, base, r)
	attached := fakeAttach(t, root, l, "loop0", "loop1")
	for i, tc := range []struct {
		spec   DiskSpec
		sector int
	}{
		{DiskSpec{Serial: "DRILL-A0001", Size: 64 * mib}, 512},
		{DiskSpec{Serial: "DRILL-B0002", Size: 128 * mib, SectorSize: 4096}, 4096},
	} {
		file := filepath.Join(l.Dir, "raidswap-drill-"+tc.spec.Serial+".img")
		k := "loop" + strconv.Itoa(i)
		dev, err := l.Insert(t.Context(), tc.spec)
		if len(*attached) != i+1 || (*attached)[i].SectorSize != tc.sector || (*attached)[i].File != file {
			t.Fatalf("attached %+v", *attached)
		}
		if err != nil || dev != "/dev/"+k {
			t.Fatalf("Insert %s = %q, %v", tc.spec.Serial, dev, err)
		}
		fi, err := os.Stat(file)
		if err != nil || fi.Size() != tc.spec.Size {
			t.Fatalf("file %v %v", fi, err)
		}
		if _, err := l.Insert(t.Context(), tc.spec); err == nil || !strings.Contains(err.Error(), "inserted already as /dev/"+k) {
			t.Errorf("second Insert: %v", err)
		}
	}
	m, err := readMarker(l.Dir)
	if err != nil || len(m.Disks) != 2 || m.Disks[1].SectorSize != 4096 || m.Disks[0].SectorSize != 512 {
		t.Fatalf("marker %+v, %v", m, err)
	}
	for _, d := range m.Disks {
		dev, ino, nlink, _, err := identify.FileInode(d.File)
		if err != nil || d.Ino == 0 || dev != d.Dev || ino != d.Ino || nlink != 1 {
			t.Errorf("marker records %s as %d:%d, the file is %d:%d (%d links), %v", d.Serial, d.Dev, d.Ino, dev, ino, nlink, err)
		}
	}
	ds := l.Disks()
	if len(ds) != 2 || ds[0].Device != "/dev/loop0" || ds[1].Device != "/dev/loop1" || ds[1].Size != 128*mib {
		t.Errorf("Disks = %+v", ds)
	}
	if d, ok := l.Device("DRILL-B0002"); !ok || d != "/dev/loop1" {
		t.Errorf("Device = %q %v", d, ok)
	}
	for _, bad := range []DiskSpec{
		{Serial: "WD-1234", Size: mib}, {Serial: "DRILL-a", Size: mib}, {Serial: "DRILL-C1", Size: mib + 1},
		{Serial: "DRILL-C1", Size: mib, SectorSize: 1024}, {Serial: "DRILL-C1"},
	} {
		if _, err := l.Insert(t.Context(), bad); err == nil {
			t.Errorf("Insert(%+v) succeeded", bad)
		}
	}
}

// TestLabInsertWaits: losetup printed a loop whose sysfs never shows the file.
func TestLabInsertBadLosetup(t *testing.T) {
	root, base := labFixture(t)
	file := func(l *Lab) string { return l.file("DRILL-A0001") }
	r := hosttest.NewFakeRunner(t)
	l := newTestLab(t, root, base, r)
	l.attachFD = func(context.Context, *os.File, identify.LabDisk) (string, error) { return "/etc/passwd", nil }
	_ = file
	if _, err := l.Insert(t.Context(), DiskSpec{Serial: "DRILL-A0001", Size: mib}); err == nil || !strings.Contains(err.Error(), "not a loop device") {
		t.Fatalf("err %v", err)
	}
}

func TestLabPull(t *testing.T) {
	root, base := labFixture(t)
	r := hosttest.NewFakeRunner(t)
	l := newTestLab(t, root, base, r)
	fakeAttach(t, root, l, "loop3")
	if _, err := l.Insert(t.Context(), DiskSpec{Serial: "DRILL-A0001", Size: 64 * mib}); err != nil {
		t.Fatal(err)
	}
	p := mkPartition(t, root, "loop3", 2)
	holder(t, root, p, "md0")
	err := l.Pull(t.Context(), "DRILL-A0001")
	if err == nil || !strings.Contains(err.Error(), "refusing /dev/loop3: loop3p2 is held by md0 (DRILL-A0001)") {
		t.Fatalf("Pull of a held disk: %v", err)
	}
	must(t, os.RemoveAll(root.Path("/sys/class/block/"+p+"/holders/md0")))
	must(t, os.WriteFile(root.Path("/proc/self/mounts"), []byte("/dev/loop3p2 /mnt ext4 rw 0 0\n"), 0o644))
	if err := l.Pull(t.Context(), "DRILL-A0001"); err == nil || !strings.Contains(err.Error(), "mounted at /mnt") {
		t.Fatalf("Pull of a mounted disk: %v", err)
	}
	must(t, os.WriteFile(root.Path("/proc/self/mounts"), nil, 0o644))
	if err := l.Pull(t.Context(), "DRILL-X0000"); err == nil || !strings.Contains(err.Error(), "not a disk of this drill") {
		t.Fatalf("Pull of a stranger: %v", err)
	}
	r.Add(hosttest.Expect{Argv: []string{host.Losetup, "--detach", "/dev/loop3"}, Do: detachLoop(t, root, "loop3")})
	if err := l.Pull(t.Context(), "DRILL-A0001"); err != nil {
		t.Fatal(err)
	}
	if d, ok := l.Device("DRILL-A0001"); ok {
		t.Errorf("pulled disk still on %s", d)
	}
	if err := l.Pull(t.Context(), "DRILL-A0001"); err == nil || !strings.Contains(err.Error(), "not attached") {
		t.Fatalf("second Pull: %v", err)
	}
}

// A loop backed by a file of the same name elsewhere is not the lab's disk.
func TestLabRefusesOtherLoops(t *testing.T) {
	root, base := labFixture(t)
	r := hosttest.NewFakeRunner(t)
	l := newTestLab(t, root, base, r)
	if err := l.Prepare(t.Context(), DiskSpec{Serial: "DRILL-A0001", Size: mib}, false); err != nil {
		t.Fatal(err)
	}
	attachLoop(t, root, "loop0", "/tmp/raidswap-drill-DRILL-A0001.img", mib)
	for name, f := range map[string]func() error{
		"pull":   func() error { return l.Pull(t.Context(), "DRILL-A0001") },
		"vanish": func() error { _, err := l.Vanish(t.Context(), "DRILL-A0001"); return err },
		"flaky":  func() error { return l.Flaky(t.Context(), "DRILL-A0001") },
	} {
		if err := f(); err == nil || !strings.Contains(err.Error(), "not attached") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// labOnLoops lays out a drill the way the seed leaves it: md0 over dm-0 (rs-loop0p2, on the
// lab's loop0) and loop1p2, swap on loop1p3, md0 mounted under the lab, and a stranger:
// loop5 (not the lab's) with md5 on it.
func labOnLoops(t *testing.T) (*host.Root, *Lab, *hosttest.FakeRunner) {
	root, base := labFixture(t)
	r := hosttest.NewFakeRunner(t)
	l := newTestLab(t, root, base, r)
	fakeAttach(t, root, l, "loop0", "loop1")
	for _, s := range []string{"DRILL-A0001", "DRILL-B0002"} {
		if _, err := l.Insert(t.Context(), DiskSpec{Serial: s, Size: 64 * mib}); err != nil {
			t.Fatal(err)
		}
	}
	holder(t, root, mkPartition(t, root, "loop0", 2), "dm-0")
	must(t, os.MkdirAll(root.Path("/sys/block/dm-0/dm"), 0o755))
	must(t, os.WriteFile(root.Path("/sys/block/dm-0/dm/name"), []byte("rs-loop0p2\n"), 0o644))
	holder(t, root, "dm-0", "md0")
	holder(t, root, mkPartition(t, root, "loop1", 2), "md0")
	mkPartition(t, root, "loop1", 3)
	attachLoop(t, root, "loop5", "/srv/other.img", 64*mib)
	holder(t, root, mkPartition(t, root, "loop5", 1), "md5")
	must(t, os.WriteFile(root.Path("/proc/self/mounts"), []byte(
		"/dev/vdz1 / ext4 rw 0 0\n/dev/md0 "+l.Dir+"/boot ext4 rw 0 0\n/dev/md5 /srv ext4 rw 0 0\ntmpfs "+l.Dir+"/boot/x\\040y tmpfs rw 0 0\n"), 0o644))
	must(t, os.WriteFile(root.Path("/proc/swaps"), []byte("Filename Type Size Used Priority\n/dev/loop1p3 partition 32764 0 -2\n/dev/loop5p2 partition 1 0 -3\n"), 0o644))
	must(t, os.MkdirAll(filepath.Join(l.Dir, "boot"), 0o700))
	return root, l, r
}

func TestLabClose(t *testing.T) {
	root, l, r := labOnLoops(t)
	r.Add(
		hosttest.Expect{Argv: []string{host.Umount, l.Dir + "/boot"}},
		hosttest.Expect{Argv: []string{host.Swapoff, "/dev/loop1p3"}},
		hosttest.Expect{Argv: []string{host.Mdadm, "--stop", "/dev/md0"}, Do: func() {
			must(t, os.RemoveAll(root.Path("/sys/block/md0")))
			must(t, os.RemoveAll(root.Path("/sys/class/block/dm-0/holders/md0")))
			must(t, os.RemoveAll(root.Path("/sys/class/block/loop1p2/holders/md0")))
			must(t, os.WriteFile(root.Path("/proc/self/mounts"), []byte("/dev/md5 /srv ext4 rw 0 0\n"), 0o644))
			must(t, os.WriteFile(root.Path("/proc/swaps"), nil, 0o644))
		}},
		hosttest.Expect{Argv: []string{host.Dmsetup, "remove", "--retry", "rs-loop0p2"}, Do: func() {
			must(t, os.RemoveAll(root.Path("/sys/block/dm-0")))
			must(t, os.RemoveAll(root.Path("/sys/class/block/loop0p2/holders/dm-0")))
		}},
		hosttest.Expect{Argv: []string{host.Losetup, "--detach", "/dev/loop0"}, Do: detachLoop(t, root, "loop0")},
		hosttest.Expect{Argv: []string{host.Losetup, "--detach", "/dev/loop1"}, Do: detachLoop(t, root, "loop1")},
	)
	c, err := l.Close(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := Cleanup{
		Unmounted: []string{l.Dir + "/boot"}, Swapoff: []string{"/dev/loop1p3"},
		Arrays: []string{"/dev/md0"}, DM: []string{"rs-loop0p2"}, Loops: []string{"/dev/loop0", "/dev/loop1"},
		Files: []string{l.file("DRILL-A0001"), l.file("DRILL-B0002"), filepath.Join(l.Dir, identify.DrillMarker)},
	}
	if g, w := jsonOf(t, c), jsonOf(t, want); g != w {
		t.Errorf("Cleanup\n got %s\nwant %s", g, w)
	}
	if _, err := os.Stat(l.Dir); !os.IsNotExist(err) {
		t.Errorf("lab dir left: %v", err)
	}
	c, err = l.Close(t.Context())
	if err != nil || jsonOf(t, c) != jsonOf(t, Cleanup{}) {
		t.Errorf("second Close = %+v, %v", c, err)
	}
}

func jsonOf(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	must(t, err)
	return string(b)
}

// An array with one member on the lab and one outside is never stopped, and its lab disk
// is not detached: the files and marker stay for a later cleanup.
func TestLabCloseLeavesForeignArray(t *testing.T) {
	root, l, r := labOnLoops(t)
	holder(t, root, "loop5p1", "md9")
	holder(t, root, mkPartition(t, root, "loop1", 4), "md9")
	must(t, os.WriteFile(root.Path("/proc/self/mounts"), nil, 0o644))
	must(t, os.WriteFile(root.Path("/proc/swaps"), nil, 0o644))
	r.Add(
		hosttest.Expect{Argv: []string{host.Mdadm, "--stop", "/dev/md0"}, Do: func() {
			must(t, os.RemoveAll(root.Path("/sys/block/md0")))
			must(t, os.RemoveAll(root.Path("/sys/class/block/dm-0/holders/md0")))
			must(t, os.RemoveAll(root.Path("/sys/class/block/loop1p2/holders/md0")))
		}},
		hosttest.Expect{Argv: []string{host.Dmsetup, "remove", "--retry", "rs-loop0p2"}, Do: func() {
			must(t, os.RemoveAll(root.Path("/sys/block/dm-0")))
			must(t, os.RemoveAll(root.Path("/sys/class/block/loop0p2/holders/dm-0")))
		}},
		hosttest.Expect{Argv: []string{host.Losetup, "--detach", "/dev/loop0"}, Do: detachLoop(t, root, "loop0")},
	)
	_, err := l.Close(t.Context())
	if err == nil || !strings.Contains(err.Error(), "leaving /dev/md9 alone") || !strings.Contains(err.Error(), "loop1p4 is held by md9") {
		t.Fatalf("err %v", err)
	}
	if _, err := readMarker(l.Dir); err != nil {
		t.Errorf("marker gone: %v", err)
	}
}

func TestCleanupLeftovers(t *testing.T) {
	root, base := labFixture(t)
	mk := func(id string, pid int, serials ...string) string {
		d := filepath.Join(base, id)
		must(t, os.MkdirAll(d, 0o700))
		m := identify.LabMarker{Tool: identify.DrillMarkerTool, ID: id, PID: pid}
		for _, s := range serials {
			m.Disks = append(m.Disks, imageDisk(t, d, s))
		}
		b, _ := json.Marshal(m)
		must(t, os.WriteFile(filepath.Join(d, identify.DrillMarker), b, 0o600))
		return d
	}
	live := mk("drill-20261201-100000-aaaa", 4242, "DRILL-A0001")
	must(t, os.MkdirAll(root.Path("/proc/4242"), 0o755))
	attachLoop(t, root, "loop0", filepath.Join(live, identify.DrillFile("DRILL-A0001")), mib)
	dead := mk("drill-20261201-100000-bbbb", 4343, "DRILL-A0002")
	attachLoop(t, root, "loop1", filepath.Join(dead, identify.DrillFile("DRILL-A0002")), mib)
	gone := filepath.Join(base, "drill-20261201-100000-cccc")
	must(t, os.WriteFile(root.Path("/sys/block/loop1/loop/backing_file"), []byte(filepath.Join(dead, identify.DrillFile("DRILL-A0002"))+" (deleted)\n"), 0o644))
	attachLoop(t, root, "loop2", filepath.Join(gone, identify.DrillFile("DRILL-C0003"))+" (deleted)", mib)
	attachLoop(t, root, "loop3", "/srv/raidswap-drill-DRILL-D0004.img", mib)
	attachLoop(t, root, "loop4", filepath.Join(dead, "other.img"), mib)
	r := hosttest.NewFakeRunner(t,
		hosttest.Expect{Argv: []string{host.Losetup, "--detach", "/dev/loop1"}, Do: detachLoop(t, root, "loop1")},
	)
	// The loop over a file of a directory that is gone is left: no marker says raidswap made it.
	c, err := CleanupLeftovers(t.Context(), r, root, base)
	if want := "leaving " + gone + " alone (/dev/loop2 over its files): it has no drill marker, so nothing shows raidswap made it"; err == nil || err.Error() != want {
		t.Fatalf("err %v, want %q", err, want)
	}
	if strings.Join(c.Loops, " ") != "/dev/loop1" || len(c.Files) != 2 {
		t.Errorf("Cleanup %+v", c)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("dead lab left: %v", err)
	}
	if _, err := readMarker(live); err != nil {
		t.Errorf("live lab touched: %v", err)
	}
}

func TestCleanupLeftoversHostileMarker(t *testing.T) {
	id := "drill-20261201-100000-dddd"
	for name, content := range map[string]string{
		"bad json":    `{"id": "` + id,
		"huge":        `{"id":"` + id + `","pid":1,"x":"` + strings.Repeat("a", maxMarker) + `"}`,
		"wrong types": `{"id":"` + id + `","pid":"1","disks":{}}`,
		"other id":    `{"id":"drill-20261201-100000-eeee","pid":7}`,
		"no pid":      `{"id":"` + id + `"}`,
		"file":        `{"id":"` + id + `","pid":7,"disks":[{"serial":"DRILL-A0001","file":"/etc/passwd","sector_size":512}]}`,
		"serial":      `{"id":"` + id + `","pid":7,"disks":[{"serial":"../../x","file":"x","sector_size":512}]}`,
		"null":        `null`,
	} {
		t.Run(name, func(t *testing.T) {
			root, base := labFixture(t)
			d := filepath.Join(base, id)
			must(t, os.MkdirAll(d, 0o700))
			must(t, os.WriteFile(filepath.Join(d, identify.DrillMarker), []byte(content), 0o600))
			_, err := CleanupLeftovers(t.Context(), hosttest.NewFakeRunner(t), root, base)
			if err == nil || !strings.Contains(err.Error(), "skipping lab "+d) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err %v", err)
			}
			if _, err := os.Stat(filepath.Join(d, identify.DrillMarker)); err != nil {
				t.Errorf("marker removed: %v", err)
			}
		})
	}
}

// A marker that is a FIFO or a link, or a lab that is a link, is refused without reading it.
func TestCleanupLeftoversMarkerNotAFile(t *testing.T) {
	id := "drill-20261201-100000-ffff"
	for name, setup := range map[string]func(d string){
		"fifo":     func(d string) { must(t, syscall.Mkfifo(filepath.Join(d, identify.DrillMarker), 0o600)) },
		"link":     func(d string) { must(t, os.Symlink("/etc/hostname", filepath.Join(d, identify.DrillMarker))) },
		"dir link": nil,
	} {
		t.Run(name, func(t *testing.T) {
			root, base := labFixture(t)
			d := filepath.Join(base, id)
			if setup == nil {
				other := t.TempDir()
				must(t, os.WriteFile(filepath.Join(other, identify.DrillMarker), []byte(`{"id":"`+id+`","pid":7}`), 0o600))
				must(t, os.MkdirAll(base, 0o700))
				must(t, os.Symlink(other, d))
			} else {
				must(t, os.MkdirAll(d, 0o700))
				setup(d)
			}
			_, err := CleanupLeftovers(t.Context(), hosttest.NewFakeRunner(t), root, base)
			if err == nil || !strings.Contains(err.Error(), "skipping lab "+d) {
				t.Fatalf("err %v", err)
			}
		})
	}
}

func TestFlakyTable(t *testing.T) {
	got, err := flakyTable("/dev/loop0p4", 100000, 2048, 96000)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(got, "\n")
	if len(lines) != 2*flakyStripes+2 || lines[0] != "0 44928 linear /dev/loop0p4 0" || lines[1] != "44928 8 error" ||
		lines[2] != "44936 8 linear /dev/loop0p4 44936" || lines[len(lines)-1] != "55168 44832 linear /dev/loop0p4 55168" {
		t.Errorf("flakyTable = %q ... %q (%d lines)", lines[:3], lines[len(lines)-1], len(lines))
	}
	// Contiguous: every segment starts where the last ended, and the table covers the device.
	var next int64
	for _, l := range lines {
		f := strings.Fields(l)
		s, _ := strconv.ParseInt(f[0], 10, 64)
		n, _ := strconv.ParseInt(f[1], 10, 64)
		if s != next {
			t.Fatalf("segment %q starts at %d, want %d", l, s, next)
		}
		next = s + n
	}
	if next != 100000 {
		t.Errorf("table covers %d sectors", next)
	}
	if got, err := flakyTable("/dev/x", 4096, 0, 3200); err != nil || strings.Count(got, "error") != 100 {
		t.Errorf("small area: %d stripes, %v", strings.Count(got, "error"), err)
	}
	if _, err := flakyTable("/dev/loop0p4", 1000, 2048, 96000); err == nil {
		t.Error("a data area larger than the device was accepted")
	}
}

func TestInstallGRUB(t *testing.T) {
	r := hosttest.NewFakeRunner(t,
		hosttest.Expect{Argv: []string{host.GrubInstall, "--target=i386-pc", "--boot-directory=/lab/boot", "--modules=part_gpt part_msdos mdraid1x ext2", "/dev/loop0"}},
		hosttest.Expect{Argv: []string{host.GrubInstall, "--target=i386-pc", "--boot-directory=/lab/boot", "--modules=part_gpt part_msdos mdraid1x ext2", "/dev/loop1"}},
	)
	if err := InstallGRUB(t.Context(), r, "/lab/boot", "loop0", "/dev/loop1"); err != nil {
		t.Fatal(err)
	}
}

func TestLabVanishNeedsDM(t *testing.T) {
	_, l, _ := labOnLoops(t)
	_, err := l.Vanish(t.Context(), "DRILL-B0002")
	if err == nil || !strings.Contains(err.Error(), "refusing to vanish /dev/loop1 (DRILL-B0002): its member loop1p2 of md0 is not on a simulate dm device") {
		t.Fatalf("err %v", err)
	}
}

func TestLabMountArrayRefusesForeign(t *testing.T) {
	_, l, _ := labOnLoops(t)
	if err := l.MountArray(t.Context(), "md5", filepath.Join(l.Dir, "x")); err == nil || !strings.Contains(err.Error(), "refusing to mount /dev/md5") {
		t.Fatalf("err %v", err)
	}
}

func TestPlanSeedDMDisks(t *testing.T) {
	s, err := PlanSeed([]string{"loop0", "loop1"}, Options{DMDisks: []string{"/dev/loop1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Arrays[1].Members; got[0] != "/dev/loop0p4" || got[1] != "/dev/mapper/rs-loop1p4" {
		t.Errorf("md1 members %q", got)
	}
}

// TestLabVanish: error table, a write through the mounted filesystem, md fails the member,
// mdadm --remove, dmsetup remove, losetup -d — in that order.
func TestLabVanish(t *testing.T) {
	root, l, r := labOnLoops(t)
	must(t, os.WriteFile(root.Path("/sys/block/dm-0/size"), []byte("131072\n"), 0o644))
	must(t, os.WriteFile(root.Path("/sys/block/md0/md/dev-dm-0/state"), []byte("in_sync\n"), 0o644))
	var table string
	r.Add(
		hosttest.Expect{Argv: []string{host.Dmsetup, "suspend", "rs-loop0p2"}},
		hosttest.Expect{Argv: []string{host.Dmsetup, "load", "rs-loop0p2", filepath.Join(l.Dir, "rs-loop0p2.table")}, Do: func() {
			b, _ := os.ReadFile(filepath.Join(l.Dir, "rs-loop0p2.table"))
			table = string(b)
			must(t, os.RemoveAll(root.Path("/sys/block/dm-0/slaves/loop0p2"))) // an error table has no slave
		}},
		hosttest.Expect{Argv: []string{host.Dmsetup, "resume", "rs-loop0p2"}, Do: func() {
			// md fails the member at the poke's write; the test sets it here, before the wait.
			must(t, os.WriteFile(root.Path("/sys/block/md0/md/dev-dm-0/state"), []byte("faulty\n"), 0o644))
		}},
		hosttest.Expect{Argv: []string{host.Mdadm, "/dev/md0", "--remove", "/dev/dm-0"}, Do: func() {
			must(t, os.RemoveAll(root.Path("/sys/block/md0/md/dev-dm-0")))
			must(t, os.RemoveAll(root.Path("/sys/class/block/dm-0/holders/md0")))
		}},
		hosttest.Expect{Argv: []string{host.Dmsetup, "remove", "--retry", "rs-loop0p2"}, Do: func() {
			must(t, os.RemoveAll(root.Path("/sys/block/dm-0")))
			must(t, os.RemoveAll(root.Path("/sys/class/block/loop0p2/holders/dm-0")))
		}},
		hosttest.Expect{Argv: []string{host.Udevadm, "control", "--ping", "--timeout=5"}, Exit: 1},
		hosttest.Expect{Argv: []string{host.Losetup, "--detach", "/dev/loop0"}, Do: detachLoop(t, root, "loop0")},
	)
	ms, err := l.Vanish(t.Context(), "DRILL-A0001")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Array != "md0" || ms[0].Device != "dm-0" || ms[0].State != "removed" {
		t.Errorf("Vanish = %+v", ms)
	}
	if table != "0 131072 error\n" {
		t.Errorf("table %q", table)
	}
	if _, ok := l.Device("DRILL-A0001"); ok {
		t.Error("the vanished disk is still attached")
	}
	if ents, _ := os.ReadDir(filepath.Join(l.Dir, "boot")); len(ents) != 0 {
		t.Errorf("the poke left %v in the mounted array", ents)
	}
}

// imageDisk makes serial's image in lab dir and returns it as the marker records it.
func imageDisk(t *testing.T, dir, serial string) identify.LabDisk {
	f := filepath.Join(dir, identify.DrillFile(serial))
	must(t, os.WriteFile(f, nil, 0o600))
	dev, ino, _, _, err := identify.FileInode(f)
	must(t, err)
	return identify.LabDisk{Serial: serial, File: f, SectorSize: 512, Dev: dev, Ino: ino}
}

// victimTree is issue 18's directory under the drill base that only looks like a lab: no
// marker, two files named like lab images on loop0 and loop1, md60 (RAID1) on them, mounted at
// /mnt/victim.
func victimTree(t *testing.T, root *host.Root, dir string) {
	must(t, os.MkdirAll(dir, 0o700))
	for i, s := range []string{"DRILL-A0001", "DRILL-B0002"} {
		f := filepath.Join(dir, identify.DrillFile(s))
		must(t, os.WriteFile(f, []byte("someone's data"), 0o600))
		k := "loop" + strconv.Itoa(i)
		attachLoop(t, root, k, f, mib)
		holder(t, root, k, "md60")
	}
	must(t, os.WriteFile(root.Path("/proc/self/mounts"), []byte("/dev/md60 /mnt/victim ext4 rw 0 0\n"), 0o644))
}

// A directory without a marker is never torn down, whatever it holds: no command runs (the
// fake runner fails on any), its files stay, and cleanup says so in one line.
func TestCleanupLeftoversNoMarker(t *testing.T) {
	root, base := labFixture(t)
	dir := filepath.Join(base, "drill-20261201-100000-aaaa")
	victimTree(t, root, dir)
	c, err := CleanupLeftovers(t.Context(), hosttest.NewFakeRunner(t), root, base)
	want := "leaving " + dir + " alone (/dev/loop0, /dev/loop1 over its files): it has no drill marker, so nothing shows raidswap made it"
	if err == nil || err.Error() != want {
		t.Fatalf("err %v, want %q", err, want)
	}
	if jsonOf(t, c) != jsonOf(t, Cleanup{}) {
		t.Errorf("Cleanup %+v", c)
	}
	for _, s := range []string{"DRILL-A0001", "DRILL-B0002"} {
		if b, err := os.ReadFile(filepath.Join(dir, identify.DrillFile(s))); err != nil || string(b) != "someone's data" {
			t.Errorf("%s: %q, %v", s, b, err)
		}
	}
	// Not attached either: the image files alone are enough to find it, and it is left.
	must(t, os.RemoveAll(root.Path("/sys/block/loop0/loop")))
	must(t, os.RemoveAll(root.Path("/sys/block/loop1/loop")))
	if _, err := CleanupLeftovers(t.Context(), hosttest.NewFakeRunner(t), root, base); err == nil ||
		err.Error() != "leaving "+dir+" alone (its files): it has no drill marker, so nothing shows raidswap made it" {
		t.Fatalf("err %v", err)
	}
}

// A lab with raidswap's marker whose image, or the file behind a loop, is not the inode the
// marker recorded (a copy, a link to another file) is left alone, and named.
func TestCleanupLeftoversSwappedImage(t *testing.T) {
	for name, swap := range map[string]func(t *testing.T, root *host.Root, dir string, m identify.LabMarker){
		"image replaced by a link": func(t *testing.T, root *host.Root, dir string, m identify.LabMarker) {
			victim := filepath.Join(t.TempDir(), "host.img")
			must(t, os.WriteFile(victim, []byte("host data"), 0o600))
			must(t, os.Remove(m.Disks[1].File))
			must(t, os.Link(victim, m.Disks[1].File))
		},
		"loop over another file of that name": func(t *testing.T, root *host.Root, dir string, m identify.LabMarker) {
			attachLoop(t, root, "loop0", m.Disks[0].File, mib)
			setInode(t, root, "loop0", m.Disks[0].Dev, m.Disks[0].Ino+1000)
		},
		"image not in the marker": func(t *testing.T, root *host.Root, dir string, m identify.LabMarker) {
			must(t, os.WriteFile(filepath.Join(dir, identify.DrillFile("DRILL-C0003")), []byte("x"), 0o600))
		},
	} {
		t.Run(name, func(t *testing.T) {
			root, base := labFixture(t)
			id := "drill-20261201-100000-bbbb"
			dir := filepath.Join(base, id)
			must(t, os.MkdirAll(dir, 0o700))
			m := identify.LabMarker{Tool: identify.DrillMarkerTool, ID: id, PID: 4343,
				Disks: []identify.LabDisk{imageDisk(t, dir, "DRILL-A0001"), imageDisk(t, dir, "DRILL-B0002")}}
			b, _ := json.Marshal(m)
			must(t, os.WriteFile(filepath.Join(dir, identify.DrillMarker), b, 0o600))
			swap(t, root, dir, m)
			c, err := CleanupLeftovers(t.Context(), hosttest.NewFakeRunner(t), root, base)
			if err == nil || !strings.HasPrefix(err.Error(), "leaving lab "+dir+" alone: ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err %v", err)
			}
			t.Log(err)
			if len(c.Files) != 0 {
				t.Errorf("removed %v", c.Files)
			}
			for _, d := range m.Disks {
				if _, err := os.Stat(d.File); err != nil {
					t.Errorf("%s: %v", d.File, err)
				}
			}
		})
	}
}

// After --keep, cleanup removes everything raidswap made in the lab: the engine's plan key,
// audit log, inventory, lock, journal and backups, the mount points, the images, and the
// marker last. A file raidswap did not make is left and named, and then the marker stays.
func TestCleanupRemovesWhatTheDrillMade(t *testing.T) {
	for _, foreign := range []bool{false, true} {
		t.Run(fmt.Sprintf("foreign=%t", foreign), func(t *testing.T) {
			root, base := labFixture(t)
			id := "drill-20261201-100000-cccc"
			dir := filepath.Join(base, id)
			must(t, os.MkdirAll(dir, 0o700))
			m := identify.LabMarker{Tool: identify.DrillMarkerTool, ID: id, PID: 4343,
				Disks: []identify.LabDisk{imageDisk(t, dir, "DRILL-A0001"), imageDisk(t, dir, "DRILL-B0002")}}
			b, _ := json.Marshal(m)
			must(t, os.WriteFile(filepath.Join(dir, identify.DrillMarker), b, 0o600))
			for _, f := range []string{LabPlanKey, LabAuditLog, LabInventory, LabLock, ".inventory-123",
				LabJournal + "/p-1.jsonl", LabBackups + "/DRILL-B0002-20261201/table.sfdisk", LabBackups + "/DRILL-B0002-20261201/README.txt"} {
				must(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o700))
				must(t, os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600))
			}
			must(t, os.MkdirAll(filepath.Join(dir, "boot"), 0o700))
			if foreign {
				must(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600))
			}
			c, err := CleanupLeftovers(t.Context(), hosttest.NewFakeRunner(t), root, base)
			if !foreign {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := os.Lstat(dir); !os.IsNotExist(err) {
					t.Errorf("lab left: %v", err)
				}
				if got := c.Files[len(c.Files)-1]; got != filepath.Join(dir, identify.DrillMarker) {
					t.Errorf("last removed %s, want the marker", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "leaving "+filepath.Join(dir, "notes.txt")+": raidswap did not make it") {
				t.Fatalf("err %v", err)
			}
			ents, _ := os.ReadDir(dir)
			var left []string
			for _, e := range ents {
				left = append(left, e.Name())
			}
			if strings.Join(left, " ") != "notes.txt "+identify.DrillMarker {
				t.Errorf("left %v, want notes.txt and the marker", left)
			}
		})
	}
}

// The images of a prepared disk swapped for hard links to one host file before it is
// attached: Insert refuses, naming the disk, and nothing is attached (so nothing written).
func TestLabInsertRefusesSwappedImage(t *testing.T) {
	root, base := labFixture(t)
	l := newTestLab(t, root, base, hosttest.NewFakeRunner(t))
	attached := fakeAttach(t, root, l)
	for _, s := range []string{"DRILL-A0001", "DRILL-B0002"} {
		if err := l.Prepare(t.Context(), DiskSpec{Serial: s, Size: mib}, false); err != nil {
			t.Fatal(err)
		}
	}
	victim := filepath.Join(t.TempDir(), "host.img")
	must(t, os.WriteFile(victim, []byte("host data"), 0o600))
	for _, s := range []string{"DRILL-A0001", "DRILL-B0002"} {
		must(t, os.Remove(l.file(s)))
		must(t, os.Link(victim, l.file(s)))
	}
	for _, s := range []string{"DRILL-A0001", "DRILL-B0002"} {
		_, err := l.Insert(t.Context(), DiskSpec{Serial: s})
		if err == nil || !strings.HasPrefix(err.Error(), "refusing to attach drill disk "+s+": drill disk "+s+"'s image "+l.file(s)+" is inode ") ||
			!strings.Contains(err.Error(), "it was replaced") {
			t.Errorf("Insert %s: %v", s, err)
		}
	}
	if len(*attached) != 0 {
		t.Errorf("attached %v", *attached)
	}
	if b, _ := os.ReadFile(victim); string(b) != "host data" {
		t.Errorf("host file now %q", b)
	}
	// Teardown leaves the links (not raidswap's images) and names them.
	if _, err := l.Close(t.Context()); err == nil || !strings.Contains(err.Error(), "it is not the image raidswap made") {
		t.Errorf("Close: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "host data" {
		t.Errorf("host file now %q", b)
	}
}
