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

// loops are the loops attached to this lab's own images now (owns).
func (l *Lab) loops() []string {
	own, _ := labLoops(l.root, l.Dir, l.marker)
	return own
}

func isLabFile(name string) bool {
	_, ok := identify.DrillFileSerial(name)
	return ok
}
