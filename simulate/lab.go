package simulate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

	"github.com/raidswap/raidswap/internal/host"
)

// The drill's lab: throw-away disks on loop devices over sparse files in one directory. A
// loop is the lab's only when the kernel says its backing file is one of the lab's files
// (/sys/block/loopN/loop/backing_file); nothing the lab wrote itself is trusted for that.
const (
	// DefaultLabBase is where labs live unless the caller says otherwise.
	DefaultLabBase = "/var/lib/raidswap/drill"
	// LabMarker is the marker file naming a directory as a drill lab.
	LabMarker = "raidswap-drill.json"
	// labFilePrefix and labFileSuffix frame a disk's file name: raidswap-drill-SERIAL.img.
	labFilePrefix = "raidswap-drill-"
	labFileSuffix = ".img"
	// maxMarker bounds what is read of a marker file: it is untrusted input.
	maxMarker = 64 << 10
	// labWait bounds every wait for the kernel (a loop attaching or going, a dm node).
	labWait = 15 * time.Second
)

var (
	labIDRe     = regexp.MustCompile(`^drill-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$`)
	labSerialRe = regexp.MustCompile(`^DRILL-[A-Z0-9-]{1,26}$`)
	loopDevRe   = regexp.MustCompile(`^/dev/loop[0-9]+$`)
)

// LabFile is the file name of a drill disk: raidswap-drill-SERIAL.img.
func LabFile(serial string) string { return labFilePrefix + serial + labFileSuffix }

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

// labMarker is the marker file's content (shared design: id, pid, created, disks).
type labMarker struct {
	ID      string       `json:"id"`
	PID     int          `json:"pid"`
	Created time.Time    `json:"created"`
	Disks   []markerDisk `json:"disks"`
}

type markerDisk struct {
	Serial     string `json:"serial"`
	File       string `json:"file"` // absolute path: <dir>/raidswap-drill-<SERIAL>.img
	SectorSize int    `json:"sector_size"`
	Size       int64  `json:"size,omitempty"`
}

// Lab is one drill's set of disks. Its methods may be called from several goroutines (a
// signal handler's Close while an Insert runs): they take turns.
type Lab struct {
	Dir, ID string

	r      host.Runner
	root   *host.Root
	mu     sync.Mutex
	marker labMarker
	next   int // serial letters handed out
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
	l := &Lab{Dir: dir, ID: id, r: r, root: root,
		marker: labMarker{ID: id, PID: os.Getpid(), Created: now, Disks: []markerDisk{}}}
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
	tmp := filepath.Join(l.Dir, LabMarker+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing the drill marker: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(l.Dir, LabMarker)); err != nil {
		return fmt.Errorf("writing the drill marker: %w", err)
	}
	return nil
}

// readMarker reads and checks a lab's marker: it is untrusted (a crashed drill, an edit, a
// hostile file), so every field is checked and a disk's file must be the lab's own name.
func readMarker(dir string) (labMarker, error) {
	var m labMarker
	p := filepath.Join(dir, LabMarker)
	// Only a real directory holding a regular file: a link could point the teardown at
	// another directory, and a FIFO would block the read forever.
	if fi, err := os.Lstat(dir); err != nil {
		return m, err
	} else if !fi.IsDir() {
		return m, fmt.Errorf("drill lab %s is not a directory (%s)", dir, fi.Mode().Type())
	}
	if fi, err := os.Lstat(p); err != nil {
		return m, err
	} else if !fi.Mode().IsRegular() {
		return m, fmt.Errorf("drill marker %s is not a regular file (%s)", p, fi.Mode().Type())
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return m, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMarker+1))
	if err != nil {
		return m, fmt.Errorf("reading drill marker %s: %w", p, err)
	}
	if len(b) > maxMarker {
		return m, fmt.Errorf("drill marker %s is larger than %d bytes: not a marker raidswap wrote", p, maxMarker)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("drill marker %s is not valid: %w", p, err)
	}
	if !labIDRe.MatchString(m.ID) || m.ID != filepath.Base(dir) {
		return m, fmt.Errorf("drill marker %s: id %q is not this directory's drill id", p, m.ID)
	}
	if m.PID <= 0 {
		return m, fmt.Errorf("drill marker %s: pid %d is not a process id", p, m.PID)
	}
	for _, d := range m.Disks {
		if !labSerialRe.MatchString(d.Serial) {
			return m, fmt.Errorf("drill marker %s: serial %q is not a drill serial", p, d.Serial)
		}
		if d.File != filepath.Join(dir, LabFile(d.Serial)) {
			return m, fmt.Errorf("drill marker %s: disk %s's file %q is not %s", p, d.Serial, d.File, filepath.Join(dir, LabFile(d.Serial)))
		}
		if d.SectorSize != 512 && d.SectorSize != 4096 {
			return m, fmt.Errorf("drill marker %s: disk %s's sector size %d is not 512 or 4096", p, d.Serial, d.SectorSize)
		}
	}
	return m, nil
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

func (l *Lab) disk(serial string) *markerDisk {
	for i := range l.marker.Disks {
		if l.marker.Disks[i].Serial == serial {
			return &l.marker.Disks[i]
		}
	}
	return nil
}

// file is where serial's disk lives.
func (l *Lab) file(serial string) string { return filepath.Join(l.Dir, LabFile(serial)) }

// create checks d and makes its sparse file, recorded in the marker before it exists so a
// crash right after leaves nothing the cleanup cannot find.
func (l *Lab) create(d DiskSpec) (*markerDisk, error) {
	if !labSerialRe.MatchString(d.Serial) {
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
	md := markerDisk{Serial: d.Serial, File: l.file(d.Serial), SectorSize: d.SectorSize, Size: d.Size}
	l.marker.Disks = append(l.marker.Disks, md)
	if err := l.saveMarker(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(md.File, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("making drill disk %s: %w", d.Serial, err)
	}
	err = f.Truncate(d.Size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("making drill disk %s: %w", d.Serial, err)
	}
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
		if dev := l.device(md.File); dev != "" {
			return "", fmt.Errorf("drill disk %s is inserted already as %s", d.Serial, dev)
		}
		if (d.Size != 0 && d.Size != md.Size) || (d.SectorSize != 0 && d.SectorSize != md.SectorSize) {
			return "", fmt.Errorf("drill disk %s was prepared with %d bytes of %d-byte sectors, not %d of %d", d.Serial, md.Size, md.SectorSize, d.Size, d.SectorSize)
		}
	}
	return l.attach(ctx, *md)
}

// attach runs losetup and waits until the kernel shows the loop with the file and its size.
func (l *Lab) attach(ctx context.Context, md markerDisk) (string, error) {
	argv := []string{host.Losetup, "--find", "--show", "--partscan"}
	if md.SectorSize == 4096 {
		argv = append(argv, "--sector-size", "4096")
	}
	res, err := run(ctx, l.r, "attaching drill disk "+md.Serial, append(argv, md.File)...)
	if err != nil {
		return "", err
	}
	dev := strings.TrimSpace(string(res.Stdout))
	if !loopDevRe.MatchString(dev) {
		return "", fmt.Errorf("attaching drill disk %s: losetup printed %q, not a loop device", md.Serial, dev)
	}
	k := kname(dev)
	want := strconv.FormatInt(md.Size/512, 10)
	err = waitFor(ctx, labWait, dev+" to show "+md.Serial, func() bool {
		size, err := l.root.ReadString("/sys/block/" + k + "/size")
		return err == nil && size == want && backingFile(l.root, k) == md.File && l.root.Exists(dev)
	})
	return dev, err
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

// device is the loop whose backing file is file, or "".
func (l *Lab) device(file string) string {
	for _, k := range loopsUnder(l.root, func(f string) bool { return f == file }) {
		return "/dev/" + k
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
	dev := l.device(md.File)
	if dev == "" {
		return "", fmt.Errorf("refusing to %s %s: it is not attached (pulled already?)", what, serial)
	}
	if f := backingFile(l.root, kname(dev)); f != md.File {
		return "", fmt.Errorf("refusing to %s %s (%s): its backing file is %q, not this drill's %s", what, dev, serial, f, md.File)
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
		out = append(out, LabDisk{Serial: d.Serial, File: d.File, Device: l.device(d.File), Size: d.Size, SectorSize: d.SectorSize})
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
	dev := l.device(d.File)
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

// loops are the loops attached to this lab's files now.
func (l *Lab) loops() []string {
	return loopsUnder(l.root, func(f string) bool { return filepath.Dir(f) == l.Dir && isLabFile(filepath.Base(f)) })
}

func isLabFile(name string) bool {
	s, ok := strings.CutPrefix(name, labFilePrefix)
	if !ok {
		return false
	}
	s, ok = strings.CutSuffix(s, labFileSuffix)
	return ok && labSerialRe.MatchString(s)
}

// Cleanup is what a teardown removed.
type Cleanup struct {
	Unmounted, Swapoff, Arrays, DM, Loops, Files []string
}

func (c *Cleanup) add(o Cleanup) {
	c.Unmounted = append(c.Unmounted, o.Unmounted...)
	c.Swapoff = append(c.Swapoff, o.Swapoff...)
	c.Arrays = append(c.Arrays, o.Arrays...)
	c.DM = append(c.DM, o.DM...)
	c.Loops = append(c.Loops, o.Loops...)
	c.Files = append(c.Files, o.Files...)
}

// Close tears the lab down, best-effort and complete, in order: unmount what is mounted from
// lab devices (and under Dir), swapoff lab swaps, stop the arrays all of whose members are
// lab devices, dmsetup remove the rs-* tables over them, losetup -d every lab loop, remove
// the files and Dir. It never touches an array with a member outside the lab. Idempotent.
func (l *Lab) Close(ctx context.Context) (Cleanup, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return teardown(ctx, l.r, l.root, l.Dir, l.loops())
}

// CleanupLeftovers finds labs under base (by their marker, and by the loops whose backing
// file is a lab file there, even when the directory is gone) and tears down those whose
// drill is no longer running, as Close does.
func CleanupLeftovers(ctx context.Context, r host.Runner, root *host.Root, base string) (Cleanup, error) {
	if base == "" {
		base = DefaultLabBase
	}
	base = filepath.Clean(base)
	if root == nil {
		root = host.NewRoot("/")
	}
	labs := map[string][]string{}
	for _, k := range loopsUnder(root, func(f string) bool {
		return filepath.Dir(filepath.Dir(f)) == base && isLabFile(filepath.Base(f))
	}) {
		d := filepath.Dir(backingFile(root, k))
		labs[d] = append(labs[d], k)
	}
	markers, _ := filepath.Glob(filepath.Join(base, "*", LabMarker))
	for _, m := range markers {
		d := filepath.Dir(m)
		if _, ok := labs[d]; !ok {
			labs[d] = nil
		}
	}
	dirs := make([]string, 0, len(labs))
	for d := range labs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	var all Cleanup
	var errs []error
	for _, d := range dirs {
		m, err := readMarker(d)
		switch {
		case errors.Is(err, os.ErrNotExist):
			// The directory (or its marker) is gone; the loops still name its files.
		case err != nil:
			errs = append(errs, fmt.Errorf("skipping lab %s: %w", d, err))
			continue
		case root.Exists("/proc/" + strconv.Itoa(m.PID)):
			// Its drill (pid) still runs: not a leftover.
			continue
		}
		c, err := teardown(ctx, r, root, d, labs[d])
		all.add(c)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return all, errors.Join(errs...)
}

// deviceSet is a lab's loops and everything stacked on them alone: their partitions, the dm
// devices all of whose slaves are in the set, the arrays all of whose members are. foreign
// lists arrays and dm devices that have a member in the set and one outside it.
type deviceSet struct {
	in      map[string]bool
	foreign map[string]bool
}

func (s deviceSet) of(prefix string) []string {
	var out []string
	for k := range s.in {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (s deviceSet) arrays() []string { return s.of("md") }
func (s deviceSet) dms() []string    { return s.of("dm-") }

// labSet computes the set from the loops, read from the live sysfs.
func labSet(root *host.Root, loops []string) deviceSet {
	s := deviceSet{in: map[string]bool{}, foreign: map[string]bool{}}
	for _, k := range loops {
		s.in[k] = true
		parts, _ := root.Glob("/sys/block/" + k + "/" + k + "p*")
		for _, p := range parts {
			if isPartition(filepath.Base(p), k) {
				s.in[filepath.Base(p)] = true
			}
		}
	}
	under := func(h string) []string {
		if strings.HasPrefix(h, "md") {
			ds, _ := root.Glob("/sys/block/" + h + "/md/dev-*")
			out := make([]string, len(ds))
			for i, d := range ds {
				out[i] = strings.TrimPrefix(filepath.Base(d), "dev-")
			}
			return out
		}
		ents, _ := root.ReadDir("/sys/block/" + h + "/slaves")
		out := make([]string, len(ents))
		for i, e := range ents {
			out[i] = e.Name()
		}
		return out
	}
	for changed := true; changed; {
		changed = false
		for _, k := range slices.Sorted(mapKeys(s.in)) {
			hs, _ := root.ReadDir("/sys/class/block/" + k + "/holders")
			for _, e := range hs {
				h := e.Name()
				if s.in[h] {
					continue
				}
				all := true
				for _, u := range under(h) {
					all = all && s.in[u]
				}
				if all {
					s.in[h] = true
					changed = true
				}
			}
		}
	}
	// A dm device simulate made over a lab partition ("rs-loop0p2") whose table no longer
	// names it (an error table, after a Vanish cut short) belongs to the lab too.
	ds, _ := root.Glob("/sys/block/dm-*/dm/name")
	for _, d := range ds {
		x := strings.Split(strings.TrimPrefix(d, "/sys/block/"), "/")[0]
		name, err := root.ReadString(d)
		part, ok := strings.CutPrefix(name, "rs-")
		if err != nil || !ok || !s.in[part] || s.in[x] {
			continue
		}
		if ents, err := root.ReadDir("/sys/block/" + x + "/slaves"); err == nil && len(ents) == 0 {
			s.in[x] = true
		}
	}
	for k := range s.in {
		hs, _ := root.ReadDir("/sys/class/block/" + k + "/holders")
		for _, e := range hs {
			if !s.in[e.Name()] {
				s.foreign[e.Name()] = true
			}
		}
	}
	return s
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

type mountEntry struct{ dev, dir string }

// readMounts lists /proc/self/mounts with each source's kernel name ("" if none), in order.
func readMounts(root *host.Root) []mountEntry {
	b, err := root.ReadFile("/proc/self/mounts")
	if err != nil {
		return nil
	}
	var out []mountEntry
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		out = append(out, mountEntry{dev: blockName(root, host.UnescapeMount(f[0])), dir: host.UnescapeMount(f[1])})
	}
	return out
}

// mountsOf lists the mounts of devices in s, or under one of dirs, innermost first.
func mountsOf(root *host.Root, s deviceSet, dirs []string) []mountEntry {
	var out []mountEntry
	for _, m := range readMounts(root) {
		under := false
		for _, d := range dirs {
			under = under || m.dir == d || strings.HasPrefix(m.dir, d+"/")
		}
		if (m.dev != "" && s.in[m.dev]) || under {
			out = append(out, m)
		}
	}
	slices.Reverse(out)
	return out
}

// blockName is the kernel name of a device path from mounts or swaps: /dev/md0 -> md0,
// /dev/mapper/rs-x -> dm-N, /dev/md/boot -> md127; "" when it is no block device.
func blockName(root *host.Root, dev string) string {
	if !strings.HasPrefix(dev, "/dev/") {
		return ""
	}
	if name, ok := strings.CutPrefix(dev, "/dev/mapper/"); ok {
		ds, _ := root.Glob("/sys/block/dm-*/dm/name")
		for _, d := range ds {
			if n, err := root.ReadString(d); err == nil && n == name {
				return strings.Split(strings.TrimPrefix(d, "/sys/block/"), "/")[0]
			}
		}
		return ""
	}
	if strings.HasPrefix(dev, "/dev/md/") {
		if t, err := root.ResolveLink(dev); err == nil {
			return filepath.Base(t)
		}
	}
	return kname(dev)
}

// swapsOf lists the active swaps on devices in s.
func swapsOf(root *host.Root, s deviceSet) []string {
	b, err := root.ReadFile("/proc/swaps")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "/dev/") {
			continue
		}
		if k := blockName(root, host.UnescapeMount(f[0])); s.in[k] {
			out = append(out, host.UnescapeMount(f[0]))
		}
	}
	return out
}

// teardown removes one lab: dir and the loops attached to its files.
func teardown(ctx context.Context, r host.Runner, root *host.Root, dir string, loops []string) (Cleanup, error) {
	var c Cleanup
	var errs []error
	s := labSet(root, loops)
	for _, f := range slices.Sorted(mapKeys(s.foreign)) {
		errs = append(errs, fmt.Errorf("leaving /dev/%s alone: it has a member outside the drill (lab %s), so /dev/%s cannot be detached", f, dir, strings.Join(loops, ", /dev/")))
	}
	for _, m := range mountsOf(root, s, []string{dir}) {
		if _, err := run(ctx, r, "unmounting "+m.dir, host.Umount, m.dir); err != nil {
			errs = append(errs, err)
			continue
		}
		c.Unmounted = append(c.Unmounted, m.dir)
	}
	for _, sw := range swapsOf(root, s) {
		if _, err := run(ctx, r, "turning off swap "+sw, host.Swapoff, sw); err != nil {
			errs = append(errs, err)
			continue
		}
		c.Swapoff = append(c.Swapoff, sw)
	}
	for _, a := range s.arrays() {
		if _, err := run(ctx, r, "stopping /dev/"+a, host.Mdadm, "--stop", "/dev/"+a); err != nil {
			errs = append(errs, err)
			continue
		}
		c.Arrays = append(c.Arrays, "/dev/"+a)
	}
	for _, x := range s.dms() {
		name, err := root.ReadString("/sys/block/" + x + "/dm/name")
		if err != nil {
			continue // gone with its array
		}
		if !strings.HasPrefix(name, "rs-") {
			errs = append(errs, fmt.Errorf("leaving dm %s (/dev/%s) alone: raidswap did not make it, and it holds a drill disk (lab %s)", name, x, dir))
			continue
		}
		if _, err := run(ctx, r, "removing dm "+name, host.Dmsetup, "remove", "--retry", name); err != nil {
			errs = append(errs, err)
			continue
		}
		c.DM = append(c.DM, name)
	}
	attached := 0
	for _, k := range loops {
		// Something outside the lab still holds it: losetup -d would only mark it autoclear.
		if err := checkIdle(root, k); err != nil {
			errs = append(errs, err)
			attached++
			continue
		}
		if _, err := run(ctx, r, "detaching /dev/"+k, host.Losetup, "--detach", "/dev/"+k); err != nil {
			errs = append(errs, err)
			attached++
			continue
		}
		if err := waitFor(ctx, labWait, "/dev/"+k+" to detach", func() bool {
			return !root.Exists("/sys/block/" + k + "/loop/backing_file")
		}); err != nil {
			errs = append(errs, err)
			attached++
			continue
		}
		c.Loops = append(c.Loops, "/dev/"+k)
	}
	if attached > 0 {
		// Keep the files and the marker, so a later CleanupLeftovers finds the lab again.
		errs = append(errs, fmt.Errorf("keeping %s: %d of its disks are still attached", dir, attached))
		return c, errors.Join(errs...)
	}
	files, err := removeLabDir(dir)
	c.Files = files
	if err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// removeLabDir removes the lab's own files (disk images, marker, tables) and empty
// directories (mount points), then dir. Anything else is left, and named.
func removeLabDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		own := isLabFile(e.Name()) || e.Name() == LabMarker || e.Name() == LabMarker+".tmp" ||
			(strings.HasPrefix(e.Name(), "rs-") && strings.HasSuffix(e.Name(), ".table"))
		switch {
		case e.IsDir():
			if err := os.Remove(p); err != nil {
				errs = append(errs, fmt.Errorf("leaving %s: %w", p, err))
			}
		case own && e.Type().IsRegular():
			if err := os.Remove(p); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, p)
		default:
			errs = append(errs, fmt.Errorf("leaving %s: raidswap did not make it", p))
		}
	}
	if len(errs) == 0 {
		if err := os.Remove(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}
