package simulate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/host"
)

// The drill's lab: throw-away disks on loop devices over sparse files in one directory. A
// loop is the lab's only when the kernel says its backing file is one of the lab's files
// (/sys/block/loopN/loop/backing_file); nothing the lab wrote itself is trusted for that.
const (
	// DefaultLabBase is where labs live unless the caller says otherwise.
	DefaultLabBase = "/var/lib/raidswap/drill"
	// maxMarker bounds what is read of a marker file: it is untrusted input.
	maxMarker = 64 << 10
	// labWait bounds every wait for the kernel (a loop attaching or going, a dm node).
	labWait = 15 * time.Second
)

var (
	labIDRe   = regexp.MustCompile(`^drill-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$`)
	loopDevRe = regexp.MustCompile(`^/dev/loop[0-9]+$`)
)

// DiskSpec is one drill disk to make.
type DiskSpec struct {
	Serial     string
	Size       int64 // bytes, a multiple of 1 MiB
	SectorSize int   // logical sector size: 512 (default) or 4096
}

// LabDisk is one drill disk as the lab knows it.
type LabDisk struct {
	Serial, File string
	Device       string // /dev/loopN; "" when not attached (pulled, vanished, or on the shelf)
	Size         int64
	SectorSize   int
}

// Lab is one drill's set of disks. Its methods may be called from several goroutines (a
// signal handler's Close while an Insert runs): they take turns.
type Lab struct {
	Dir, ID string

	r      host.Runner
	root   *host.Root
	mu     sync.Mutex
	marker identify.LabMarker
	next   int // serial letters handed out
	// images are the disks' image files, open since raidswap created them: a disk is
	// attached from this descriptor, never by its path (see attach).
	images map[string]*os.File
	// attachFD attaches an open image to a free loop device (attachLoopFD; tests fake it).
	attachFD func(ctx context.Context, f *os.File, d identify.LabDisk) (string, error)
}

// NewLab makes <base>/<ID> (base "" = DefaultLabBase) with the marker file, mode 0700.
func NewLab(ctx context.Context, r host.Runner, root *host.Root, base string) (*Lab, error) {
	if base == "" {
		base = DefaultLabBase
	}
	if !filepath.IsAbs(base) {
		return nil, fmt.Errorf("drill lab base %q is not an absolute path", base)
	}
	if root == nil {
		root = host.NewRoot("/")
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, fmt.Errorf("making the drill lab base: %w", err)
	}
	now := time.Now().UTC()
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	id := "drill-" + now.Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
	dir := filepath.Join(filepath.Clean(base), id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("making the drill lab: %w", err)
	}
	l := &Lab{Dir: dir, ID: id, r: r, root: root, images: map[string]*os.File{}, attachFD: attachLoopFD,
		marker: identify.LabMarker{Tool: identify.DrillMarkerTool, ID: id, PID: os.Getpid(), Created: now, Disks: []identify.LabDisk{}}}
	if err := l.saveMarker(); err != nil {
		os.Remove(dir)
		return nil, err
	}
	return l, nil
}

// saveMarker writes the marker atomically (a crash leaves the old or the new one).
func (l *Lab) saveMarker() error {
	b, err := json.MarshalIndent(l.marker, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(l.Dir, identify.DrillMarker+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing the drill marker: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(l.Dir, identify.DrillMarker)); err != nil {
		return fmt.Errorf("writing the drill marker: %w", err)
	}
	return nil
}

// readMarker reads and checks a lab's marker (identify.ReadDrillMarker): it is untrusted (a
// crashed drill, an edit, a hostile file). Labs live on the real filesystem, whatever Root
// the lab reads the kernel's state through.
func readMarker(dir string) (identify.LabMarker, error) {
	return identify.ReadDrillMarker(host.NewRoot("/"), dir)
}

// NewSerial returns a fresh drill serial DRILL-<letter><4 hex> (letter A, B, C... per call).
func (l *Lab) NewSerial() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	letter := string(rune('A' + l.next%26))
	l.next++
	for {
		var b [2]byte
		rand.Read(b[:])
		s := "DRILL-" + letter + strings.ToUpper(hex.EncodeToString(b[:]))
		if l.disk(s) == nil {
			return s
		}
	}
}

func (l *Lab) disk(serial string) *identify.LabDisk { return l.marker.Disk(serial) }

// file is where serial's disk lives.
func (l *Lab) file(serial string) string { return filepath.Join(l.Dir, identify.DrillFile(serial)) }

// create checks d and makes its sparse file with O_EXCL (so it is a file raidswap made, not
// one that was there), keeps it open, and records its device and inode in the marker. A crash
// between the two leaves a file the marker does not name: cleanup leaves that lab alone and
// says so, which is safe, where recording a file before it exists could name someone else's.
func (l *Lab) create(d DiskSpec) (*identify.LabDisk, error) {
	if !identify.IsDrillSerial(d.Serial) {
		return nil, fmt.Errorf("drill serial %q: want DRILL- and up to 26 of A-Z, 0-9, -", d.Serial)
	}
	if d.SectorSize == 0 {
		d.SectorSize = 512
	}
	if d.SectorSize != 512 && d.SectorSize != 4096 {
		return nil, fmt.Errorf("drill disk %s: sector size %d: use 512 or 4096", d.Serial, d.SectorSize)
	}
	if d.Size <= 0 || d.Size%mib != 0 {
		return nil, fmt.Errorf("drill disk %s: size %d is not a positive multiple of 1 MiB", d.Serial, d.Size)
	}
	if l.disk(d.Serial) != nil {
		return nil, fmt.Errorf("drill disk %s exists already in %s", d.Serial, l.Dir)
	}
	file := l.file(d.Serial)
	f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("making drill disk %s: %w", d.Serial, err)
	}
	fail := func(err error) (*identify.LabDisk, error) {
		f.Close()
		os.Remove(file)
		return nil, fmt.Errorf("making drill disk %s: %w", d.Serial, err)
	}
	if err := f.Truncate(d.Size); err != nil {
		return fail(err)
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fail(errors.New("no inode"))
	}
	md := identify.LabDisk{Serial: d.Serial, File: file, SectorSize: d.SectorSize, Size: d.Size, Dev: st.Dev, Ino: st.Ino}
	l.marker.Disks = append(l.marker.Disks, md)
	if err := l.saveMarker(); err != nil {
		l.marker.Disks = l.marker.Disks[:len(l.marker.Disks)-1]
		return fail(err)
	}
	l.images[d.Serial] = f
	return l.disk(d.Serial), nil
}

// Insert creates the sparse file (or takes one made by Prepare), attaches it with
// losetup --find --show --partscan [--sector-size 4096], waits until /sys/block/loopN shows
// its size, and returns the device (/dev/loopN).
func (l *Lab) Insert(ctx context.Context, d DiskSpec) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	md := l.disk(d.Serial)
	if md == nil {
		var err error
		if md, err = l.create(d); err != nil {
			return "", err
		}
	} else {
		if dev := l.device(*md); dev != "" {
			return "", fmt.Errorf("drill disk %s is inserted already as %s", d.Serial, dev)
		}
		if (d.Size != 0 && d.Size != md.Size) || (d.SectorSize != 0 && d.SectorSize != md.SectorSize) {
			return "", fmt.Errorf("drill disk %s was prepared with %d bytes of %d-byte sectors, not %d of %d", d.Serial, md.Size, md.SectorSize, d.Size, d.SectorSize)
		}
	}
	return l.attach(ctx, *md)
}

// attach attaches md's image from the descriptor raidswap has held open since it created the
// file, after checking that the path still names that file with one link (else the image
// was swapped: refused, naming the disk, before anything is written), and waits until the
// kernel shows the loop with the file, its inode and its size.
//
// Attaching by the descriptor (LOOP_CONFIGURE) rather than by path (losetup FILE, then
// looking at what got attached) leaves no moment in which the path could be swapped between
// the check and the attach: the loop gets the very inode raidswap made.
func (l *Lab) attach(ctx context.Context, md identify.LabDisk) (string, error) {
	f := l.images[md.Serial]
	if f == nil {
		return "", fmt.Errorf("refusing to attach drill disk %s: this drill does not hold its image open (made by another process?)", md.Serial)
	}
	dev, ino, nlink, regular, err := identify.FileInode(md.File)
	if err == nil {
		err = identify.CheckDrillImage(md, dev, ino, nlink, regular)
	}
	if err != nil {
		return "", fmt.Errorf("refusing to attach drill disk %s: %w", md.Serial, err)
	}
	loop, err := l.attachFD(ctx, f, md)
	if err != nil {
		return "", fmt.Errorf("attaching drill disk %s: %w", md.Serial, err)
	}
	if !loopDevRe.MatchString(loop) {
		return "", fmt.Errorf("attaching drill disk %s: %q is not a loop device", md.Serial, loop)
	}
	k := kname(loop)
	want := strconv.FormatInt(md.Size/512, 10)
	err = waitFor(ctx, labWait, loop+" to show "+md.Serial, func() bool {
		size, err := l.root.ReadString("/sys/block/" + k + "/size")
		return err == nil && size == want && l.owns(k, md) && l.root.Exists(loop)
	})
	return loop, err
}

// owns says whether loop k is md's disk as the kernel holds it: its backing file is md's
// file (deleted or not) and the inode behind it is the one raidswap made.
func (l *Lab) owns(k string, md identify.LabDisk) bool {
	return loopOf(l.root, k, md)
}

func loopOf(root *host.Root, k string, md identify.LabDisk) bool {
	if backingFile(root, k) != md.File {
		return false
	}
	dev, ino, err := identify.LoopBacking(root, k)
	return err == nil && dev == md.Dev && ino == md.Ino
}

// backingFile is the file behind loop k as the kernel says, without the " (deleted)" it adds
// once the file is unlinked; "" when k is not attached.
func backingFile(root *host.Root, k string) string {
	s, err := root.ReadString("/sys/block/" + k + "/loop/backing_file")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(s, " (deleted)")
}

// device is the loop md's disk is attached to (owns), or "".
func (l *Lab) device(md identify.LabDisk) string {
	for _, k := range loopsUnder(l.root, func(f string) bool { return f == md.File }) {
		if l.owns(k, md) {
			return "/dev/" + k
		}
	}
	return ""
}

// loopsUnder lists the attached loops whose backing file satisfies keep, sorted.
func loopsUnder(root *host.Root, keep func(file string) bool) []string {
	ps, _ := root.Glob("/sys/block/loop*/loop/backing_file")
	var out []string
	for _, p := range ps {
		k := strings.Split(strings.TrimPrefix(p, "/sys/block/"), "/")[0]
		if f := backingFile(root, k); f != "" && keep(f) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Prepare creates a disk's file without attaching it (a new disk on the shelf). With dirty it
// first gets what a used disk carries: a GPT with one partition holding the superblock of a
// one-member RAID1 (metadata 1.2), stopped, then the disk is detached again.
func (l *Lab) Prepare(ctx context.Context, d DiskSpec, dirty bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	md, err := l.create(d)
	if err != nil || !dirty {
		return err
	}
	dev, err := l.attach(ctx, *md)
	if err != nil {
		return err
	}
	p1 := partDev(dev, 1)
	array := l.freeMD()
	if array == "" {
		return errors.New("no free md device between md100 and md126 for the dirty disk's old array")
	}
	steps := [][]string{
		{host.Flock, dev, host.Sgdisk, "--clear", "--new=1:1M:0", "--typecode=1:fd00", "--change-name=1:old-raid", dev},
		{host.Flock, dev, host.Partx, "--update", dev},
	}
	for _, argv := range steps {
		if _, err := run(ctx, l.r, "making "+md.Serial+" dirty", argv...); err != nil {
			return err
		}
	}
	if err := waitFor(ctx, labWait, p1, func() bool { return l.root.Exists(p1) }); err != nil {
		return err
	}
	if _, err := run(ctx, l.r, "writing an old md superblock on "+md.Serial, host.Mdadm, "--create", array, "--run", "--force",
		"--level=1", "--raid-devices=1", "--metadata=1.2", "--homehost=old-server", "--name=old", p1); err != nil {
		return err
	}
	if _, err := run(ctx, l.r, "stopping "+array, host.Mdadm, "--stop", array); err != nil {
		return err
	}
	_, err = l.detach(ctx, kname(dev))
	return err
}

// freeMD is an md device no array uses, from the top of the range udev's incremental
// assembly leaves to others.
func (l *Lab) freeMD() string {
	for n := 126; n >= 100; n-- {
		if !l.root.Exists("/sys/block/md" + strconv.Itoa(n) + "/md") {
			return "/dev/md" + strconv.Itoa(n)
		}
	}
	return ""
}

// detach stops arrays that hold only this loop (udev's incremental assembly may have
// assembled an old superblock), runs losetup -d and waits until the kernel has let the file
// go. It returns the arrays it stopped.
func (l *Lab) detach(ctx context.Context, k string) ([]string, error) {
	var stopped []string
	settleUdevIfRunning(ctx, l.r)
	for range 3 {
		set := labSet(l.root, []string{k})
		for _, a := range set.arrays() {
			if _, err := run(ctx, l.r, "stopping "+a, host.Mdadm, "--stop", "/dev/"+a); err != nil {
				return stopped, err
			}
			stopped = append(stopped, "/dev/"+a)
		}
		if err := checkIdle(l.root, k); err != nil {
			return stopped, err
		}
		if _, err := run(ctx, l.r, "detaching /dev/"+k, host.Losetup, "--detach", "/dev/"+k); err != nil {
			return stopped, err
		}
		// A loop still open (udev probing it, an array assembled meanwhile) is only marked
		// autoclear: it goes when the last user closes it.
		err := waitFor(ctx, labWait, "/dev/"+k+" to detach", func() bool {
			return !l.root.Exists("/sys/block/" + k + "/loop/backing_file")
		})
		if err == nil {
			return stopped, nil
		}
		if len(labSet(l.root, []string{k}).arrays()) == 0 {
			return stopped, err
		}
	}
	return stopped, fmt.Errorf("/dev/%s: still attached after three tries", k)
}

// settleUdevIfRunning waits for udev's queue when udevd runs (its events open new devices).
func settleUdevIfRunning(ctx context.Context, r host.Runner) {
	if udevRunning(ctx, r) {
		r.Run(ctx, host.Udevadm, "settle", "--timeout=30")
	}
}

// labDevice finds serial's attached loop and checks from the kernel that it is this lab's.
func (l *Lab) labDevice(serial, what string) (string, error) {
	md := l.disk(serial)
	if md == nil {
		return "", fmt.Errorf("refusing to %s %s: not a disk of this drill (lab %s)", what, serial, l.Dir)
	}
	dev := l.device(*md)
	if dev == "" {
		return "", fmt.Errorf("refusing to %s %s: it is not attached (pulled already?)", what, serial)
	}
	return dev, nil
}

// Pull detaches the disk (losetup -d) after checking nothing holds it: no md member, no
// mount, no swap, no dm holder. It returns once the kernel has let the file go.
func (l *Lab) Pull(ctx context.Context, serial string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	dev, err := l.labDevice(serial, "pull")
	if err != nil {
		return err
	}
	if err := checkIdle(l.root, dev); err != nil {
		return fmt.Errorf("%w (%s)", err, serial)
	}
	k := kname(dev)
	if _, err := run(ctx, l.r, "pulling "+dev+" ("+serial+")", host.Losetup, "--detach", dev); err != nil {
		return err
	}
	return waitFor(ctx, labWait, dev+" to detach", func() bool {
		return !l.root.Exists("/sys/block/" + k + "/loop/backing_file")
	})
}

// dmMembers lists the md members on serial's disk and the rs-* dm device under each; a
// member not on such a device, or a mount or swap on the disk, is refused.
func (l *Lab) dmMembers(dev, serial, what string) ([]Member, []string, error) {
	ms, err := onDisk(l.root, dev)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		name, err := l.root.ReadString("/sys/block/" + m.Device + "/dm/name")
		if err != nil || !strings.HasPrefix(name, "rs-") {
			return nil, nil, fmt.Errorf("refusing to %s %s (%s): its member %s of %s is not on a simulate dm device (build the seed with DMDisks for it)", what, dev, serial, m.Device, m.Array)
		}
		names[i] = name
	}
	set := labSet(l.root, []string{kname(dev)})
	for _, m := range mountsOf(l.root, set, nil) {
		if !strings.HasPrefix(m.dev, "md") {
			return nil, nil, fmt.Errorf("refusing to %s %s (%s): /dev/%s is mounted at %s", what, dev, serial, m.dev, m.dir)
		}
	}
	if sw := swapsOf(l.root, set); len(sw) > 0 {
		return nil, nil, fmt.Errorf("refusing to %s %s (%s): %s is in use as swap", what, dev, serial, sw[0])
	}
	return ms, names, nil
}

// Vanish makes a disk that md still holds disappear the way a real pull does: its members'
// dm tables switch to error, a write to each array makes md fail them, mdadm --remove takes
// them out (what udev's mdadm -If does), then the dm devices and the loop go. The seed must
// have put this disk's members on dm (Options.DMDisks). It returns the members taken out.
func (l *Lab) Vanish(ctx context.Context, serial string) ([]Member, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	dev, err := l.labDevice(serial, "vanish")
	if err != nil {
		return nil, err
	}
	ms, names, err := l.dmMembers(dev, serial, "vanish")
	if err != nil {
		return nil, err
	}
	// Named now: under an error table a dm device no longer lists the partition as its slave.
	over := l.dmOver(kname(dev))
	for i, m := range ms {
		sectors, err := l.root.ReadString("/sys/block/" + m.Device + "/size")
		if err != nil {
			return nil, err
		}
		if err := l.loadTable(ctx, names[i], "0 "+sectors+" error"); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.Array] {
			continue
		}
		seen[m.Array] = true
		if err := l.poke(ctx, m.Array); err != nil {
			return nil, err
		}
		if err := waitFor(ctx, labWait, m.Array+" to fail "+serial+"'s member", func() bool {
			return memberGone(l.root, m) != ""
		}); err != nil {
			return nil, err
		}
	}
	for i, m := range ms {
		ms[i].State = "removed"
		if memberGone(l.root, m) == "removed" {
			continue // udev's mdadm -If was quicker
		}
		if err := RemoveMember(ctx, l.r, m.Array, "/dev/"+m.Device); err != nil {
			return ms, err
		}
	}
	for _, name := range over {
		if _, err := run(ctx, l.r, "removing dm "+name, host.Dmsetup, "remove", "--retry", name); err != nil {
			return ms, err
		}
	}
	_, err = l.detach(ctx, kname(dev))
	return ms, err
}

// memberGone says how md holds a member of a failing disk: "faulty", "removed", or "" while
// md still counts it working.
func memberGone(root *host.Root, m Member) string {
	d := "/sys/block/" + m.Array + "/md/dev-" + m.Device
	if !root.Exists(d) {
		return "removed"
	}
	st, _ := root.ReadString(d + "/state")
	if slices.Contains(strings.Split(st, ","), "faulty") {
		return "faulty"
	}
	return ""
}

// poke makes md write to every mirror of md: a direct rewrite of its first block when it is
// not mounted (Poke), or a synced file in its filesystem when it is (raw writes under a
// mounted filesystem could undo its own).
func (l *Lab) poke(ctx context.Context, md string) error {
	for _, m := range readMounts(l.root) {
		if m.dev == mdName(md) {
			p := filepath.Join(m.dir, ".raidswap-drill-poke")
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_SYNC, 0o600)
			if err != nil {
				return fmt.Errorf("writing to %s so md notices its failing member: %w", m.dir, err)
			}
			f.Write(make([]byte, 4096))
			f.Sync()
			f.Close()
			os.Remove(p)
			// Deleting the file is one more metadata write: make it reach the disks.
			if d, err := os.Open(m.dir); err == nil {
				d.Sync()
				d.Close()
			}
			return nil
		}
	}
	return Poke(ctx, l.r, l.root, md)
}

// loadTable swaps a dm device's table: suspend, load, resume.
func (l *Lab) loadTable(ctx context.Context, name, table string) error {
	file := filepath.Join(l.Dir, name+".table")
	if err := os.WriteFile(file, []byte(table+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(file)
	for _, argv := range [][]string{
		{host.Dmsetup, "suspend", name},
		{host.Dmsetup, "load", name, file},
		{host.Dmsetup, "resume", name},
	} {
		if _, err := run(ctx, l.r, "loading "+name+"'s table", argv...); err != nil {
			if argv[1] != "resume" {
				l.r.Run(ctx, host.Dmsetup, "resume", name)
			}
			return err
		}
	}
	return nil
}

// dmOver lists the rs-* dm devices whose slaves are partitions of loop k (or k itself).
func (l *Lab) dmOver(k string) []string {
	var out []string
	for _, x := range labSet(l.root, []string{k}).dms() {
		if name, err := l.root.ReadString("/sys/block/" + x + "/dm/name"); err == nil && strings.HasPrefix(name, "rs-") {
			out = append(out, name)
		}
	}
	return out
}

// Flaky makes reads of the disk's dm members fail in the middle of their data area, so a
// recovery that reads from this disk fails while the array stays up (its superblocks, at
// either end, and the rest of the data still work). Restore puts the linear tables back.
//
// The unreadable sectors are stripes (see flakyTable), not one range: md records an
// unreadable block in the bad block log of every member and carries on, so over one range a
// recovery "completes" [UU] with bad blocks listed (measured: TestVMLabFlaky). More stripes
// than the log's 512 entries fill it, and then md interrupts the recovery and disables it.
//
// With arrays named, only the disk's members of those arrays turn flaky (the drill keeps
// /boot readable, so it is the rebuild that meets the errors, not the boot code's install).
func (l *Lab) Flaky(ctx context.Context, serial string, arrays ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	dev, err := l.labDevice(serial, "make flaky")
	if err != nil {
		return err
	}
	ms, names, err := l.dmMembers(dev, serial, "make flaky")
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		return fmt.Errorf("%s (%s) holds no md member", dev, serial)
	}
	flaky := 0
	for i, m := range ms {
		if len(arrays) > 0 && !slices.Contains(arrays, m.Array) && !slices.Contains(arrays, "/dev/"+m.Array) {
			continue
		}
		flaky++
		part, sectors, err := l.dmSlave(m.Device)
		if err != nil {
			return err
		}
		off, err1 := readInt(l.root, "/sys/block/"+m.Array+"/md/dev-"+m.Device+"/offset")
		kib, err2 := readInt(l.root, "/sys/block/"+m.Array+"/md/dev-"+m.Device+"/size")
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("reading %s's data area in %s: %w", m.Device, m.Array, err)
		}
		table, err := flakyTable(part, sectors, off, kib*2)
		if err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
		if err := l.loadTable(ctx, names[i], table); err != nil {
			return err
		}
	}
	if flaky == 0 {
		return fmt.Errorf("%s (%s) holds no dm member of %s", dev, serial, strings.Join(arrays, ", "))
	}
	return nil
}

// flakyStripes is how many unreadable stripes Flaky puts in a member: more than the 512
// entries of md's bad block log (each stripe is one entry: they are never adjacent).
const flakyStripes = 640

// flakyTable is a dm table over part (sectors long) that reads like part except for
// flakyStripes unreadable 4 KiB stripes, 4 KiB apart, centred in the data area
// [off, off+data). A data area too small for them all gets as many as fit.
func flakyTable(part string, sectors, off, data int64) (string, error) {
	if off < 0 || data <= 0 || off+data > sectors {
		return "", fmt.Errorf("data area %d+%d does not fit %d sectors", off, data, sectors)
	}
	n := min(int64(flakyStripes), data/32)
	if n == 0 {
		return "", fmt.Errorf("data area of %d sectors is too small for unreadable stripes", data)
	}
	start := (off + data/2 - n*8) &^ 7
	var b strings.Builder
	fmt.Fprintf(&b, "0 %d linear %s 0\n", start, part)
	at := start
	for range n {
		fmt.Fprintf(&b, "%d 8 error\n%d 8 linear %s %d\n", at, at+8, part, at+8)
		at += 16
	}
	fmt.Fprintf(&b, "%d %d linear %s %d", at, sectors-at, part, at)
	return b.String(), nil
}

// Restore puts the linear tables back under the disk's dm members (after Flaky).
func (l *Lab) Restore(ctx context.Context, serial string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	dev, err := l.labDevice(serial, "restore")
	if err != nil {
		return err
	}
	for _, x := range labSet(l.root, []string{kname(dev)}).dms() {
		name, err := l.root.ReadString("/sys/block/" + x + "/dm/name")
		if err != nil || !strings.HasPrefix(name, "rs-") {
			continue
		}
		part, sectors, err := l.dmSlave(x)
		if err != nil {
			return err
		}
		if err := l.loadTable(ctx, name, fmt.Sprintf("0 %d linear %s 0", sectors, part)); err != nil {
			return err
		}
	}
	return nil
}

// dmSlave is the one device under dm device x and its size in sectors.
func (l *Lab) dmSlave(x string) (string, int64, error) {
	ents, err := l.root.ReadDir("/sys/block/" + x + "/slaves")
	if err != nil || len(ents) != 1 {
		return "", 0, fmt.Errorf("%s: want exactly one device under it", x)
	}
	s := ents[0].Name()
	n, err := readInt(l.root, "/sys/class/block/"+s+"/size")
	return "/dev/" + s, n, err
}

func readInt(root *host.Root, p string) (int64, error) {
	s, err := root.ReadString(p)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p, err)
	}
	return n, nil
}

// Disks lists the lab's disks, with the loop each is attached to now.
func (l *Lab) Disks() []LabDisk {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]LabDisk, 0, len(l.marker.Disks))
	for _, d := range l.marker.Disks {
		out = append(out, LabDisk{Serial: d.Serial, File: d.File, Device: l.device(d), Size: d.Size, SectorSize: d.SectorSize})
	}
	return out
}

// Device is the loop serial's disk is attached to now.
func (l *Lab) Device(serial string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.disk(serial)
	if d == nil {
		return "", false
	}
	dev := l.device(*d)
	return dev, dev != ""
}

// MountArray mounts md (whose members must all be this lab's) at dir, making dir if needed.
func (l *Lab) MountArray(ctx context.Context, md, dir string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	name := mdName(md)
	if !slices.Contains(labSet(l.root, l.loops()).arrays(), name) {
		return fmt.Errorf("refusing to mount /dev/%s: not all its members are this drill's disks (lab %s)", name, l.Dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	_, err := run(ctx, l.r, "mounting /dev/"+name, host.Mount, "/dev/"+name, dir)
	return err
}

// InstallGRUB puts GRUB 2 for BIOS on every disk, with its files in bootMount (the /boot
// array mounted there): grub-install --target=i386-pc per disk.
func InstallGRUB(ctx context.Context, r host.Runner, bootMount string, disks ...string) error {
	for _, d := range disks {
		if _, err := run(ctx, r, "installing GRUB on "+devPath(d), host.GrubInstall, "--target=i386-pc",
			"--boot-directory="+bootMount, "--modules=part_gpt part_msdos mdraid1x ext2", devPath(d)); err != nil {
			return err
		}
	}
	return nil
}

// CopyBootCode copies GRUB's BIOS boot code from one disk of a seed layout onto another
// disk with the same layout, where grub-install would write the same bytes: boot.img (the
// first 440 bytes of the MBR: its pointer to core.img is the same LBA on both) and core.img
// (GPT: the BIOS boot partition, partition 1; MBR: the gap after the MBR up to the first
// partition at 1 MiB), whose block list and prefix (the md UUID of /boot) are the same too.
// It saves the drill a grub-install (4–6 s under TCG) when it builds the lab; the
// replacement itself always runs grub-install.
func CopyBootCode(ctx context.Context, r host.Runner, table string, sectorSize int, from, to string) error {
	from, to = devPath(from), devPath(to)
	if from == to {
		return fmt.Errorf("copying boot code from %s onto itself", from)
	}
	if _, err := run(ctx, r, "copying boot.img from "+from+" to "+to, host.Dd, "if="+from, "of="+to, "bs=440", "count=1", "conv=notrunc,fsync", "status=none"); err != nil {
		return err
	}
	switch table {
	case GPT, "":
		_, err := run(ctx, r, "copying core.img (the BIOS boot partition) from "+from+" to "+to, host.Dd,
			"if="+partDev(from, 1), "of="+partDev(to, 1), "bs=1M", "conv=notrunc,fsync", "status=none")
		return err
	case MBR:
		if sectorSize != 512 && sectorSize != 4096 {
			return fmt.Errorf("sector size %d: want 512 or 4096", sectorSize)
		}
		_, err := run(ctx, r, "copying core.img (the gap after the MBR) from "+from+" to "+to, host.Dd,
			"if="+from, "of="+to, fmt.Sprintf("bs=%d", sectorSize), "skip=1", "seek=1", fmt.Sprintf("count=%d", mib/sectorSize-1), "conv=notrunc,fsync", "status=none")
		return err
	}
	return fmt.Errorf("unknown partition table %q", table)
}

// loops are the loops attached to this lab's own images now (owns).
func (l *Lab) loops() []string {
	own, _ := labLoops(l.root, l.Dir, l.marker)
	return own
}

func isLabFile(name string) bool {
	_, ok := identify.DrillFileSerial(name)
	return ok
}
