// Package blockstack traces what a mount point or a swap device finally rests on: through
// device-mapper (LVM, LUKS and plain dm-crypt, in any order), partitions of md arrays
// (md0p1) and bind mounts, down to the md arrays and the plain partitions or disks beneath.
// It is the one answer to "which arrays hold /boot (or /, or this swap)", asked by boot
// detection (bootloader/detect.go) and by discovery's usage of arrays
// (internal/discover/usage.go).
//
// Read gathers the facts through host.Root (/proc/self/mountinfo, /proc/swaps, and
// /sys/block/*: dev, partitions, slaves, dm/name, dm/uuid); everything else is a pure
// function of the Stack it returns. It never writes and never guesses: a device it cannot
// place is named in the trace as what it is ("dm-3 (dm, not LVM or LUKS)").
package blockstack

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
)

// Kind is what a block device is, as far as the stack is concerned.
type Kind string

// Kinds.
const (
	KindDisk        Kind = "disk"         // a whole disk (sda, vda, nvme0n1, loop0)
	KindPartition   Kind = "partition"    // a partition of a disk (sda3)
	KindMD          Kind = "md"           // an md array (md1)
	KindMDPartition Kind = "md-partition" // a partition of an md array (md0p1)
	KindLVM         Kind = "lvm"          // a dm device LVM made (dm uuid LVM-…)
	KindCrypt       Kind = "crypt"        // a dm-crypt device (dm uuid CRYPT-LUKS1-, CRYPT-LUKS2-, CRYPT-PLAIN-…)
	KindDM          Kind = "dm"           // another dm target (multipath, integrity, …)
)

// Device is one block device of the running system.
type Device struct {
	Name string // kernel name: sda3, md1, md0p1, dm-0
	Dev  string // "major:minor"
	Kind Kind
	// DMName and DMUUID are a dm device's name (vg0-root, cryptroot) and uuid.
	DMName, DMUUID string
	// Parent is the device a partition belongs to (sda for sda3, md0 for md0p1).
	Parent string
	// Slaves are the devices this one is built on: an array's members, a dm device's
	// underlying devices (sysfs slaves/).
	Slaves []string
}

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	ID, ParentID int
	Dev          string // "major:minor" of the file system's device
	Root         string // the directory of that file system mounted here ("/" unless a bind mount of a subtree)
	Point        string // the mount point
	FSType       string
	Source       string // the mount source (/dev/mapper/vg0-root)
}

// Stack is what Read found: the block devices, the mounts and the active swaps.
type Stack struct {
	Devices map[string]Device
	Mounts  []Mount
	// Swaps are the kernel names of the block devices in active use as swap.
	Swaps []string
	// DevNames maps a mounted file system's "major:minor" to its device's kernel name, as
	// /sys/dev/block says (for devices /sys/block did not list).
	DevNames map[string]string
}

// Read reads the stack of the system under root. What cannot be read is a line in
// problems; the Stack holds the rest.
func Read(root *host.Root) (*Stack, []string) {
	st := &Stack{Devices: map[string]Device{}, DevNames: map[string]string{}}
	var problems []string
	if b, err := root.ReadFile("/proc/self/mountinfo"); err == nil {
		st.Mounts = ParseMountinfo(b)
	} else {
		problems = append(problems, "reading /proc/self/mountinfo: "+err.Error())
	}
	ents, err := root.ReadDir("/sys/block")
	if err != nil {
		problems = append(problems, "reading /sys/block: "+err.Error())
	}
	for _, e := range ents {
		readDevice(root, st, e.Name(), "")
	}
	for _, m := range st.Mounts {
		if st.ByDev(m.Dev) != "" || !strings.Contains(m.Dev, ":") || strings.HasPrefix(m.Dev, "0:") {
			continue
		}
		if t, err := root.ReadLink("/sys/dev/block/" + m.Dev); err == nil {
			st.DevNames[m.Dev] = path.Base(t)
		}
	}
	if b, err := root.ReadFile("/proc/swaps"); err == nil {
		for _, p := range ParseSwaps(b) {
			n := st.Name(p)
			if n == "" && strings.HasPrefix(p, "/dev/") && !strings.HasPrefix(p, "/dev/mapper/") {
				// A device /sys/block did not list (a capture holds only what was read):
				// its kernel name is the node's.
				n = path.Base(p)
			}
			if n != "" {
				st.Swaps = append(st.Swaps, n)
			}
		}
	} else {
		problems = append(problems, "reading /proc/swaps: "+err.Error())
	}
	return st, problems
}

// readDevice reads /sys/block/<whole>[/<name>] into st, and a whole device's partitions.
func readDevice(root *host.Root, st *Stack, name, parent string) {
	sys := "/sys/block/" + name
	if parent != "" {
		sys = "/sys/block/" + parent + "/" + name
	}
	d := Device{Name: name, Parent: parent}
	d.Dev, _ = root.ReadString(sys + "/dev")
	switch {
	case parent != "" && st.Devices[parent].Kind == KindMD:
		d.Kind = KindMDPartition
	case parent != "":
		d.Kind = KindPartition
	case root.Exists(sys + "/md"):
		d.Kind = KindMD
	case root.Exists(sys + "/dm"):
		d.DMName, _ = root.ReadString(sys + "/dm/name")
		d.DMUUID, _ = root.ReadString(sys + "/dm/uuid")
		d.Kind = dmKind(d.DMUUID)
	default:
		d.Kind = KindDisk
	}
	if ents, err := root.ReadDir(sys + "/slaves"); err == nil {
		for _, e := range ents {
			d.Slaves = append(d.Slaves, e.Name())
		}
	}
	st.Devices[name] = d
	if parent != "" {
		return
	}
	ents, _ := root.ReadDir(sys)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), name) && root.Exists(sys+"/"+e.Name()+"/partition") {
			readDevice(root, st, e.Name(), name)
		}
	}
}

// dmKind tells LVM and dm-crypt from other dm targets by the uuid their tools give.
func dmKind(uuid string) Kind {
	switch {
	case strings.HasPrefix(uuid, "LVM-"):
		return KindLVM
	case strings.HasPrefix(uuid, "CRYPT-"):
		return KindCrypt
	}
	return KindDM
}

// ParseMountinfo parses /proc/self/mountinfo (proc(5)); octal escapes are decoded. Lines it
// cannot read are skipped.
func ParseMountinfo(b []byte) []Mount {
	var out []Mount
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := slices.Index(f, "-")
		if len(f) < 5 || sep < 6 || len(f) < sep+3 {
			continue
		}
		m := Mount{Dev: f[2], Root: host.UnescapeMount(f[3]), Point: host.UnescapeMount(f[4]),
			FSType: f[sep+1], Source: host.UnescapeMount(f[sep+2])}
		fmt.Sscan(f[0], &m.ID)
		fmt.Sscan(f[1], &m.ParentID)
		out = append(out, m)
	}
	return out
}

// MountsLine is one line of /proc/self/mounts (fstab's format): source, mount point, type and
// options, escapes decoded.
type MountsLine struct {
	Source, Point, FSType string
	Options               []string
}

// ParseMounts parses /proc/self/mounts (or /proc/mounts): the one parser of that file, for
// the callers that need a mount's source as written or its options. A line with only a source
// has an empty Point (a caller judging "in use" still sees the device); empty lines are
// skipped.
func ParseMounts(b []byte) []MountsLine {
	var out []MountsLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		m := MountsLine{Source: host.UnescapeMount(f[0])}
		if len(f) > 1 {
			m.Point = host.UnescapeMount(f[1])
		}
		if len(f) > 2 {
			m.FSType = f[2]
		}
		if len(f) > 3 {
			m.Options = strings.Split(f[3], ",")
		}
		out = append(out, m)
	}
	return out
}

// ParseSwaps returns the paths of the block devices in /proc/swaps (swap files are left
// out: they rest on the file system that holds them).
func ParseSwaps(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for first := true; sc.Scan(); first = false {
		f := strings.Fields(sc.Text())
		if first || len(f) < 2 || f[1] != "partition" {
			continue
		}
		out = append(out, host.UnescapeMount(f[0]))
	}
	return out
}

// Name is the kernel name of the device a path or mount source means: /dev/md0p1,
// /dev/dm-1, /dev/mapper/vg0-root; "" when no device of the stack is meant.
func (s *Stack) Name(p string) string {
	if s == nil {
		return ""
	}
	base := path.Base(p)
	if strings.HasPrefix(p, "/dev/mapper/") {
		for _, d := range s.sorted() {
			if d.DMName != "" && d.DMName == base {
				return d.Name
			}
		}
		return ""
	}
	if _, ok := s.Devices[base]; ok && strings.HasPrefix(p, "/dev/") {
		return base
	}
	return ""
}

// ByDev is the kernel name of the device numbered "major:minor", or "".
func (s *Stack) ByDev(dev string) string {
	if s == nil || dev == "" {
		return ""
	}
	for _, d := range s.sorted() {
		if d.Dev == dev {
			return d.Name
		}
	}
	return s.DevNames[dev]
}

func (s *Stack) sorted() []Device {
	out := make([]Device, 0, len(s.Devices))
	for _, d := range s.Devices {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// MountAt is the mount visible at point (the last one mounted there), and whether there is
// one.
func (s *Stack) MountAt(point string) (Mount, bool) {
	if s == nil {
		return Mount{}, false
	}
	for i := len(s.Mounts) - 1; i >= 0; i-- {
		if s.Mounts[i].Point == point {
			return s.Mounts[i], true
		}
	}
	return Mount{}, false
}

// Holding is the mount whose file system holds path p (the visible mount with the longest
// mount point that is p or a parent of it): "/" for /boot when /boot is a directory on /.
func (s *Stack) Holding(p string) (Mount, bool) {
	if s == nil {
		return Mount{}, false
	}
	p = path.Clean("/" + p)
	for q := p; ; q = path.Dir(q) {
		if m, ok := s.MountAt(q); ok {
			return m, true
		}
		if q == "/" {
			return Mount{}, false
		}
	}
}

// Device is the kernel name of the block device a mount's file system is on, by its
// device number (so a bind mount names the same device as its source), else by its
// source; "" for a file system on no block device of the stack (tmpfs, nfs).
func (s *Stack) Device(m Mount) string {
	if n := s.ByDev(m.Dev); n != "" {
		return n
	}
	return s.Name(m.Source)
}

// Trace is what a device rests on.
type Trace struct {
	// Device is the traced device (dm-1, md0p1, md1, sda1).
	Device string
	// Levels are the devices met going down, level by level: Levels[0] is {Device}, the
	// next level what it is built on, to the disks' partitions at the bottom.
	Levels [][]string
	// Arrays are the md arrays met, top first (md0 for md0p1).
	Arrays []string
	// Plain are the devices at the bottom reached through no md array: a partition or disk
	// the mirror does not cover.
	Plain []string
	// Kinds are what each device met is.
	Kinds map[string]Kind
	// Unknown are devices the trace met but cannot follow: absent from the stack's devices,
	// or a dm device with no slaves to read.
	Unknown []string
	labels  map[string]string
}

// Trace follows device name down to the bottom of its stack.
func (s *Stack) Trace(name string) Trace {
	t := Trace{Device: name, Kinds: map[string]Kind{}, labels: map[string]string{}}
	seen := map[string]bool{}
	underMD := map[string]bool{}
	level := []string{name}
	for len(level) > 0 && len(t.Levels) < 32 {
		t.Levels = append(t.Levels, level)
		var next []string
		for _, n := range level {
			if seen[n] {
				continue
			}
			seen[n] = true
			d, ok := s.Devices[n]
			if !ok {
				t.Unknown = append(t.Unknown, n)
				continue
			}
			t.Kinds[n] = d.Kind
			t.labels[n] = label(d)
			below := d.Slaves
			switch d.Kind {
			case KindMD:
				t.Arrays = appendNew(t.Arrays, n)
			case KindMDPartition:
				below = []string{d.Parent}
			}
			switch {
			case len(below) > 0:
			case d.Kind == KindDisk || d.Kind == KindPartition:
				if !underMD[n] {
					t.Plain = appendNew(t.Plain, n)
				}
			case d.Kind != KindMD:
				// A dm device on nothing readable: what it rests on is not known.
				t.Unknown = append(t.Unknown, n)
			}
			for _, b := range below {
				underMD[b] = underMD[b] || underMD[n] || d.Kind == KindMD
				if !slices.Contains(next, b) {
					next = append(next, b)
				}
			}
		}
		level = next
	}
	return t
}

func appendNew(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func label(d Device) string {
	switch d.Kind {
	case KindLVM:
		return "LVM " + d.DMName
	case KindCrypt:
		kind := "dm-crypt"
		if strings.HasPrefix(d.DMUUID, "CRYPT-LUKS") {
			kind = "LUKS"
		}
		return kind + " " + d.DMName
	case KindDM:
		return "dm " + d.DMName + ", neither LVM nor dm-crypt"
	case KindMDPartition:
		return "partition of " + d.Parent
	}
	return ""
}

// OfKind are the devices of kind k the trace met, top first.
func (t Trace) OfKind(k Kind) []string {
	var out []string
	for _, l := range t.Levels {
		for _, n := range l {
			if t.Kinds[n] == k && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// Stacked says whether the device is more than an md array or a partition: something
// (dm, an md partition) lies between it and its arrays.
func (t Trace) Stacked() bool {
	k := t.Kinds[t.Device]
	return k != KindMD && k != KindPartition && k != KindDisk
}

// String is the chain, top down: "dm-1 (LVM vg0-root) → dm-0 (LUKS cryptmd) → md1 → sda3, sdb3".
func (t Trace) String() string {
	parts := make([]string, 0, len(t.Levels))
	for _, l := range t.Levels {
		names := make([]string, 0, len(l))
		for _, n := range l {
			if lb := strings.TrimSpace(t.labels[n]); lb != "" {
				n += " (" + lb + ")"
			}
			names = append(names, n)
		}
		parts = append(parts, strings.Join(names, ", "))
	}
	return strings.Join(parts, " → ")
}

// Point is what a mount point rests on: the mount whose file system holds it (Holding),
// and that file system's device traced down. ok is false when no mount holds it or its
// file system is on no block device of the stack.
func (s *Stack) Point(p string) (Mount, Trace, bool) {
	m, ok := s.Holding(p)
	if !ok {
		return Mount{}, Trace{}, false
	}
	dev := s.Device(m)
	if dev == "" {
		return m, Trace{}, false
	}
	return m, s.Trace(dev), true
}

// Describe is a mount's chain for a person: "/ → dm-0 (LVM vg0-root) → md1 → vda2, vdb2";
// a bind mount of a subtree says so ("/boot (bind of /boot on dm-0) → …").
func Describe(point string, m Mount, t Trace) string {
	head := point
	if m.Point != point {
		head += " (a directory on " + m.Point + ")"
	} else if m.Root != "/" && m.Root != "" {
		head += " (bind of " + m.Root + " of " + t.Device + ")"
	}
	return head + " → " + t.String()
}

// ArraysUnder maps each md array to the mount points and swaps that rest on it, through
// any stack: the usage of an array (md1 holds "/" when / is an LV on it).
func (s *Stack) ArraysUnder() (mounts map[string][]string, swaps map[string]bool) {
	mounts, swaps = map[string][]string{}, map[string]bool{}
	if s == nil {
		return mounts, swaps
	}
	for _, m := range s.Mounts {
		dev := s.Device(m)
		if dev == "" {
			continue
		}
		for _, a := range s.Trace(dev).Arrays {
			if !slices.Contains(mounts[a], m.Point) {
				mounts[a] = append(mounts[a], m.Point)
			}
		}
	}
	for _, sw := range s.Swaps {
		for _, a := range s.Trace(sw).Arrays {
			swaps[a] = true
		}
	}
	return mounts, swaps
}
