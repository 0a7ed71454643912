package identify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/raidswap/raidswap/internal/host"
)

// A drill disk is a loop device over one of `raidswap drill`'s sparse files: its
// /sys/block/loopN/loop/backing_file is <lab>/raidswap-drill-<SERIAL>.img and <lab> holds the
// drill's marker file. It is listed as a disk even when it holds nothing, named by that
// serial, and nothing else is ever one. The kernel's backing_file is the only witness: a
// file raidswap wrote (inventory, plan) never makes a disk a drill disk. That names and lists
// drill disks; writing to one takes the inode behind the loop too (ProveDrillDisk).

// Names of a drill's files (the shared design of issue 12).
const (
	DrillMarker     = "raidswap-drill.json"
	DrillFilePrefix = "raidswap-drill-"
	DrillFileSuffix = ".img"
	// TransportLoop and DrillModel are what a drill disk reports.
	TransportLoop = "loop"
	DrillModel    = "raidswap drill disk"
	// SerialSourceDrill says the serial came from a drill disk's backing file name.
	SerialSourceDrill = "drill"
)

// A drill serial is DRILL- and 1 to 26 of A-Z, 0-9 and "-": at most DrillSerialMax bytes.
// No hardware field bounds it (a loop disk's serial is its image's file name, recorded in the
// marker, not a 20-byte virtio, ATA or NVMe field); the bound is the widest serial the lab has
// ever made or accepted, so the lab that makes drill disks, its cleanup that finds them and
// status that leaves them out of the verdict recognise exactly the same disks.
const DrillSerialMax = 32

var (
	drillSerialRE = regexp.MustCompile(`^DRILL-[A-Z0-9-]{1,` + strconv.Itoa(DrillSerialMax-len("DRILL-")) + `}$`)
	loopNameRE    = regexp.MustCompile(`^loop[0-9]{1,6}$`)
	// labPathRE is what a lab directory may look like: an absolute path of plain characters.
	labPathRE = regexp.MustCompile(`^/[A-Za-z0-9._/+-]+$`)
)

// DrillDisk reports whether the whole disk name (loopN) is a drill disk, and if so its serial
// and lab directory. Everything it reads goes through the Root: under a capture the marker is
// looked for inside the capture. A backing file that is not exactly <lab>/raidswap-drill-
// <SERIAL>.img (deleted, relative, holding "..", control characters, too long), a serial
// that is not IsDrillSerial's or a missing marker: not a drill disk.
func DrillDisk(root *host.Root, name string) (serial, lab string, ok bool) {
	if !loopNameRE.MatchString(name) {
		return "", "", false
	}
	b, err := root.ReadFile("/sys/block/" + name + "/loop/backing_file")
	if err != nil || len(b) > 4096 { // PATH_MAX
		return "", "", false
	}
	// sysfs ends the attribute with one newline; anything else around it is not a path.
	backing := strings.TrimSuffix(string(b), "\n")
	if !labPathRE.MatchString(backing) || path.Clean(backing) != backing {
		return "", "", false
	}
	dir, file := path.Split(backing)
	lab = strings.TrimSuffix(dir, "/")
	if lab == "" || path.Clean(lab) != lab {
		return "", "", false
	}
	serial, found := DrillFileSerial(file)
	if !found {
		return "", "", false
	}
	if !root.Exists(path.Join(lab, DrillMarker)) {
		return "", "", false
	}
	return serial, lab, true
}

// IsDrillSerial reports whether s has the form of a drill disk's serial: the one rule the
// lab (making a disk, finding its images), identify (naming a loop) and discovery's scope use.
func IsDrillSerial(s string) bool { return drillSerialRE.MatchString(s) }

// DrillFileSerial is the serial in a drill disk's image file name (DrillFile's inverse), and
// whether name is one: raidswap-drill-<SERIAL>.img with IsDrillSerial's serial, nothing more.
func DrillFileSerial(name string) (string, bool) {
	serial, ok := strings.CutPrefix(name, DrillFilePrefix)
	if !ok {
		return "", false
	}
	if serial, ok = strings.CutSuffix(serial, DrillFileSuffix); !ok || !IsDrillSerial(serial) {
		return "", false
	}
	return serial, true
}

// The marker is what ties a lab's disks to the files raidswap made: when a drill creates a
// disk's image (O_EXCL, so the file is new), it records the image's device and inode. A loop
// is proven a drill disk (ProveDrillDisk) only when the kernel's own open file behind it is
// that inode: a path can be swapped for a link to another file between any two looks at it,
// the inode the loop holds cannot.

// DrillMarkerTool is the "tool" a marker raidswap wrote names.
const DrillMarkerTool = "raidswap drill"

// MaxDrillMarker bounds what is read of a marker: it is untrusted input.
const MaxDrillMarker = 64 << 10

// maxDrillDisks bounds a marker's disks (a drill makes three or four).
const maxDrillDisks = 64

var drillIDRE = regexp.MustCompile(`^drill-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$`)

// LabMarker is the content of a lab's raidswap-drill.json.
type LabMarker struct {
	Tool    string    `json:"tool"`
	ID      string    `json:"id"`
	PID     int       `json:"pid"`
	Created time.Time `json:"created"`
	Disks   []LabDisk `json:"disks"`
}

// LabDisk is one disk of a lab as its marker records it.
type LabDisk struct {
	Serial     string `json:"serial"`
	File       string `json:"file"` // <lab>/raidswap-drill-<SERIAL>.img
	SectorSize int    `json:"sector_size"`
	Size       int64  `json:"size,omitempty"`
	// Dev and Ino are the image's st_dev and st_ino as raidswap created it.
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

// Disk is the marker's disk with serial, or nil.
func (m *LabMarker) Disk(serial string) *LabDisk {
	for i := range m.Disks {
		if m.Disks[i].Serial == serial {
			return &m.Disks[i]
		}
	}
	return nil
}

// DrillFile is the file name of a drill disk's image: raidswap-drill-SERIAL.img.
func DrillFile(serial string) string { return DrillFilePrefix + serial + DrillFileSuffix }

// ParseDrillMarker parses the marker of the lab in dir (a clean absolute path) and checks
// every field: it names this directory's drill, it is raidswap's, and each disk is a drill
// serial whose file is <dir>/raidswap-drill-<SERIAL>.img with its own inode. Anything else,
// unknown fields and trailing bytes included, is an error.
func ParseDrillMarker(b []byte, dir string) (LabMarker, error) {
	var m LabMarker
	if !path.IsAbs(dir) || path.Clean(dir) != dir || dir == "/" {
		return LabMarker{}, fmt.Errorf("lab %q is not a clean absolute directory", dir)
	}
	if len(b) > MaxDrillMarker {
		return LabMarker{}, fmt.Errorf("larger than %d bytes: not a marker raidswap wrote", MaxDrillMarker)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return LabMarker{}, fmt.Errorf("not valid: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return LabMarker{}, errors.New("not valid: more than one JSON value")
	}
	if m.Tool != DrillMarkerTool {
		return LabMarker{}, fmt.Errorf("tool %q is not %q: not a marker raidswap wrote", m.Tool, DrillMarkerTool)
	}
	if !drillIDRE.MatchString(m.ID) || m.ID != path.Base(dir) {
		return LabMarker{}, fmt.Errorf("id %q is not this directory's drill id", m.ID)
	}
	if m.PID <= 0 {
		return LabMarker{}, fmt.Errorf("pid %d is not a process id", m.PID)
	}
	if len(m.Disks) > maxDrillDisks {
		return LabMarker{}, fmt.Errorf("%d disks: a drill makes at most %d", len(m.Disks), maxDrillDisks)
	}
	type inode struct{ dev, ino uint64 }
	serials, inodes := map[string]bool{}, map[inode]string{}
	for _, d := range m.Disks {
		if !IsDrillSerial(d.Serial) {
			return LabMarker{}, fmt.Errorf("serial %q is not a drill serial", d.Serial)
		}
		if want := path.Join(dir, DrillFile(d.Serial)); d.File != want {
			return LabMarker{}, fmt.Errorf("disk %s's file %q is not %s", d.Serial, d.File, want)
		}
		if d.SectorSize != 512 && d.SectorSize != 4096 {
			return LabMarker{}, fmt.Errorf("disk %s's sector size %d is not 512 or 4096", d.Serial, d.SectorSize)
		}
		if d.Size < 0 {
			return LabMarker{}, fmt.Errorf("disk %s's size %d is negative", d.Serial, d.Size)
		}
		if d.Ino == 0 {
			return LabMarker{}, fmt.Errorf("disk %s has no inode recorded", d.Serial)
		}
		if serials[d.Serial] {
			return LabMarker{}, fmt.Errorf("disk %s is listed twice", d.Serial)
		}
		serials[d.Serial] = true
		if other, dup := inodes[inode{d.Dev, d.Ino}]; dup {
			return LabMarker{}, fmt.Errorf("disks %s and %s record one file (inode %d:%d)", other, d.Serial, d.Dev, d.Ino)
		}
		inodes[inode{d.Dev, d.Ino}] = d.Serial
	}
	return m, nil
}

// ReadDrillMarker reads and parses the marker of the lab in dir through the Root. Only a real
// directory holding a regular file is read: a link could point at another directory, and a
// FIFO would block the read forever. Errors wrap os.ErrNotExist when there is no marker.
func ReadDrillMarker(root *host.Root, dir string) (LabMarker, error) {
	p := path.Join(dir, DrillMarker)
	if fi, err := os.Lstat(root.Path(dir)); err != nil {
		return LabMarker{}, err
	} else if !fi.IsDir() {
		return LabMarker{}, fmt.Errorf("drill lab %s is not a directory (%s)", dir, fi.Mode().Type())
	}
	if fi, err := os.Lstat(root.Path(p)); err != nil {
		return LabMarker{}, err
	} else if !fi.Mode().IsRegular() {
		return LabMarker{}, fmt.Errorf("drill marker %s is not a regular file (%s)", p, fi.Mode().Type())
	}
	f, err := os.OpenFile(root.Path(p), os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return LabMarker{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxDrillMarker+1))
	if err != nil {
		return LabMarker{}, fmt.Errorf("reading drill marker %s: %w", p, err)
	}
	m, err := ParseDrillMarker(b, dir)
	if err != nil {
		return LabMarker{}, fmt.Errorf("drill marker %s: %w", p, err)
	}
	return m, nil
}

// LoopBackingInodeFile is where a capture (a Root that is not "/") keeps what
// LOOP_GET_STATUS64 said of loop N: "DEV:INO". sysfs itself has no such attribute.
const LoopBackingInodeFile = "loop/backing_inode"

// LoopBacking is the device and inode of the file the kernel holds open behind loop name
// (LOOP_GET_STATUS64's lo_device and lo_inode, in stat(2)'s st_dev encoding). On the live
// system it asks the kernel through /dev/<name>; under a capture it reads
// /sys/block/<name>/loop/backing_inode.
func LoopBacking(root *host.Root, name string) (dev, ino uint64, err error) {
	if !loopNameRE.MatchString(name) {
		return 0, 0, fmt.Errorf("%q is not a loop device", name)
	}
	if !root.IsLive() {
		s, err := root.ReadString("/sys/block/" + name + "/" + LoopBackingInodeFile)
		if err != nil {
			return 0, 0, err
		}
		d, i, ok := strings.Cut(s, ":")
		dev, err1 := strconv.ParseUint(d, 10, 64)
		ino, err2 := strconv.ParseUint(i, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return 0, 0, fmt.Errorf("/sys/block/%s/%s: %q is not DEV:INO", name, LoopBackingInodeFile, s)
		}
		return dev, ino, nil
	}
	f, err := os.OpenFile("/dev/"+name, os.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	info, err := unix.IoctlLoopGetStatus64(int(f.Fd()))
	if err != nil {
		return 0, 0, fmt.Errorf("/dev/%s: LOOP_GET_STATUS64: %w", name, err)
	}
	return info.Device, info.Inode, nil
}

// FileInode is the device, inode and link count of the file at p (not following a link).
func FileInode(p string) (dev, ino, nlink uint64, regular bool, err error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return 0, 0, 0, false, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 0, false, fmt.Errorf("%s: no stat", p)
	}
	return st.Dev, st.Ino, uint64(st.Nlink), fi.Mode().IsRegular(), nil
}

// CheckDrillImage says whether the image of d, as found at its path now (dev, ino, nlink,
// regular), is the file raidswap created: the same inode, a regular file with one link.
func CheckDrillImage(d LabDisk, dev, ino, nlink uint64, regular bool) error {
	switch {
	case !regular:
		return fmt.Errorf("drill disk %s's image %s is not a regular file", d.Serial, d.File)
	case dev != d.Dev || ino != d.Ino:
		return fmt.Errorf("drill disk %s's image %s is inode %d:%d, not the file raidswap made (%d:%d): it was replaced", d.Serial, d.File, dev, ino, d.Dev, d.Ino)
	case nlink != 1:
		return fmt.Errorf("drill disk %s's image %s has %d links: another name shares its file", d.Serial, d.File, nlink)
	}
	return nil
}

// ProveDrillDisk is the rule for writing to a drill disk: loop name is a drill disk
// (DrillDisk), its lab's marker is raidswap's and lists the serial, the file the kernel
// holds behind the loop is the inode raidswap created for that serial, the path still names
// that inode with one link, and no other loop is attached to the same file. It says which
// of these failed.
func ProveDrillDisk(root *host.Root, name string) (serial, lab string, err error) {
	serial, lab, ok := DrillDisk(root, name)
	if !ok {
		return "", "", fmt.Errorf("/dev/%s is not a drill disk: its backing file is not a drill image next to a marker", name)
	}
	m, err := ReadDrillMarker(root, lab)
	if err != nil {
		return serial, lab, err
	}
	d := m.Disk(serial)
	if d == nil {
		return serial, lab, fmt.Errorf("the marker of lab %s does not list %s", lab, serial)
	}
	dev, ino, err := LoopBacking(root, name)
	if err != nil {
		return serial, lab, fmt.Errorf("reading the file behind /dev/%s: %w", name, err)
	}
	if dev != d.Dev || ino != d.Ino {
		return serial, lab, fmt.Errorf("/dev/%s is attached to inode %d:%d, not %s's image raidswap made (%d:%d)", name, dev, ino, serial, d.Dev, d.Ino)
	}
	fdev, fino, nlink, regular, err := FileInode(root.Path(d.File))
	if err != nil {
		return serial, lab, fmt.Errorf("drill disk %s's image: %w", serial, err)
	}
	if err := CheckDrillImage(*d, fdev, fino, nlink, regular); err != nil {
		return serial, lab, err
	}
	others, _ := root.Glob("/sys/block/loop*/loop/backing_file")
	for _, o := range others {
		k := strings.Split(strings.TrimPrefix(o, "/sys/block/"), "/")[0]
		if k == name {
			continue
		}
		if odev, oino, err := LoopBacking(root, k); err == nil && odev == dev && oino == ino {
			return serial, lab, fmt.Errorf("/dev/%s and /dev/%s are attached to one file (inode %d:%d)", name, k, dev, ino)
		}
	}
	return serial, lab, nil
}
