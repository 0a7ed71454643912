package simulate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/paths"
)

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
// lab devices, swapoff lab swaps, stop the arrays all of whose members are lab devices,
// dmsetup remove the rs-* tables over them, losetup -d every lab loop, remove the files
// raidswap made (removeLabDir: the marker last) and Dir. It never touches an array with a
// member outside the lab, nor a loop whose file is not the inode the marker records.
// Idempotent.
func (l *Lab) Close(ctx context.Context) (Cleanup, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, err := teardown(ctx, l.r, l.root, l.Dir, l.loops(), l.marker)
	// The lab is done with its images either way: a loop keeps its own reference.
	for s, f := range l.images {
		f.Close()
		delete(l.images, s)
	}
	return c, err
}

// labLoops splits the attached loops whose backing file is a lab image's name in dir into
// the lab's own (the inode behind the loop is the one the marker records for that serial)
// and the others: a loop over a file of that name raidswap did not make.
func labLoops(root *host.Root, dir string, m identify.LabMarker) (own, foreign []string) {
	for _, k := range loopsUnder(root, func(f string) bool { return filepath.Dir(f) == dir && isLabFile(filepath.Base(f)) }) {
		d := m.Disk(serialOf(backingFile(root, k)))
		if d != nil && loopOf(root, k, *d) {
			own = append(own, k)
		} else {
			foreign = append(foreign, k)
		}
	}
	return own, foreign
}

// serialOf is the serial in a lab image's path.
func serialOf(file string) string {
	s, _ := identify.DrillFileSerial(filepath.Base(file))
	return s
}

// CleanupLeftovers finds what looks like labs under base (a marker, an image file, a loop
// over an image there, even when its directory is gone) and tears down those raidswap
// provably made whose drill is no longer running, as Close does. A lab is raidswap's only
// when its marker is raidswap's and every image in it, and every loop over one, is the
// inode the marker recorded when raidswap created the file. Anything else (no marker, a
// marker raidswap did not write, an image or loop that is another file) is left exactly as it
// is and reported, one line each: a directory that only looks like a lab may hold someone's
// data.
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
	for _, pattern := range []string{identify.DrillMarker, identify.DrillFilePrefix + "*" + identify.DrillFileSuffix} {
		found, _ := filepath.Glob(filepath.Join(base, "*", pattern))
		for _, f := range found {
			if d := filepath.Dir(f); labs[d] == nil {
				labs[d] = []string{}
			}
		}
	}
	var all Cleanup
	var errs []error
	for _, d := range slices.Sorted(func(yield func(string) bool) {
		for d := range labs {
			if !yield(d) {
				return
			}
		}
	}) {
		m, err := readMarker(d)
		switch {
		case errors.Is(err, os.ErrNotExist):
			what := "its files"
			if len(labs[d]) > 0 {
				what = "/dev/" + strings.Join(labs[d], ", /dev/") + " over its files"
			}
			errs = append(errs, fmt.Errorf("leaving %s alone (%s): it has no drill marker, so nothing shows raidswap made it", d, what))
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("skipping lab %s: %w", d, err))
			continue
		case root.Exists("/proc/" + strconv.Itoa(m.PID)):
			// Its drill (pid) still runs: not a leftover.
			continue
		}
		if err := provenLab(root, d, m); err != nil {
			errs = append(errs, fmt.Errorf("leaving lab %s alone: %w", d, err))
			continue
		}
		own, _ := labLoops(root, d, m)
		c, err := teardown(ctx, r, root, d, own, m)
		all.add(c)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return all, errors.Join(errs...)
}

// provenLab checks that every image file in dir and every loop over a file of that name is
// the inode the marker recorded (identify.CheckDrillImage), so tearing the lab down removes
// only what raidswap made.
func provenLab(root *host.Root, dir string, m identify.LabMarker) error {
	if _, foreign := labLoops(root, dir, m); len(foreign) > 0 {
		k := foreign[0]
		dev, ino, err := identify.LoopBacking(root, k)
		if err != nil {
			return fmt.Errorf("/dev/%s is attached to %s, and its inode cannot be read: %w", k, backingFile(root, k), err)
		}
		return fmt.Errorf("/dev/%s is attached to %s (inode %d:%d), which is not an image the marker records", k, backingFile(root, k), dev, ino)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !isLabFile(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		d := m.Disk(serialOf(p))
		if d == nil {
			return fmt.Errorf("%s is not an image the marker records", p)
		}
		dev, ino, _, regular, err := identify.FileInode(p)
		if err != nil {
			return err
		}
		// A second link to an image raidswap made is still its image: only the inode counts.
		if err := identify.CheckDrillImage(*d, dev, ino, 1, regular); err != nil {
			return err
		}
	}
	return nil
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
	for _, m := range blockstack.ParseMounts(b) {
		if m.Point == "" {
			continue
		}
		out = append(out, mountEntry{dev: blockName(root, m.Source), dir: m.Point})
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
	for _, sw := range blockstack.ParseSwaps(b) {
		if k := blockName(root, sw); s.in[k] {
			out = append(out, sw)
		}
	}
	return out
}

// teardown removes one lab: dir and the loops attached to its files.
func teardown(ctx context.Context, r host.Runner, root *host.Root, dir string, loops []string, m identify.LabMarker) (Cleanup, error) {
	var c Cleanup
	var errs []error
	s := labSet(root, loops)
	for _, f := range slices.Sorted(mapKeys(s.foreign)) {
		errs = append(errs, fmt.Errorf("leaving /dev/%s alone: it has a member outside the drill (lab %s), so /dev/%s cannot be detached", f, dir, strings.Join(loops, ", /dev/")))
	}
	// Only mounts whose source is a lab device: a mount under dir of anything else stays
	// (its mount point then stays too, and is named).
	for _, mt := range mountsOf(root, s, nil) {
		if _, err := run(ctx, r, "unmounting "+mt.dir, host.Umount, mt.dir); err != nil {
			errs = append(errs, err)
			continue
		}
		c.Unmounted = append(c.Unmounted, mt.dir)
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
	files, err := removeLabDir(dir, m)
	c.Files = files
	if err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// What the drill's engine keeps in a lab (internal/drill's Confine points its journal, lock,
// plan key, audit log, inventory and table backups there): raidswap made them, so a
// teardown removes them with the lab.
const (
	LabJournal   = paths.JournalName
	LabAuditLog  = paths.AuditName
	LabPlanKey   = paths.KeyName
	LabLock      = paths.LockName
	LabInventory = paths.InventoryName
	LabBackups   = paths.BackupsName
	// labInventoryTemp is the prefix of the inventory's temporary file (inventory.SaveFile).
	labInventoryTemp = ".inventory-"
)

// removeLabDir removes what raidswap made in the lab: the disks' images (only the inodes
// the marker records), dm table files, the engine's files (LabJournal...), the empty mount
// points, then the marker and dir. Anything else is left and named, and then the marker
// stays too, so a later cleanup finds the lab again.
func removeLabDir(dir string, m identify.LabMarker) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	remove := func(p string) {
		if err := os.Remove(p); err != nil {
			errs = append(errs, fmt.Errorf("leaving %s: %w", p, err))
			return
		}
		removed = append(removed, p)
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		name := e.Name()
		switch {
		case name == identify.DrillMarker:
			// Last.
		case isLabFile(name):
			d := m.Disk(serialOf(p))
			dev, ino, _, regular, err := identify.FileInode(p)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("leaving %s: %w", p, err))
			case d == nil:
				errs = append(errs, fmt.Errorf("leaving %s: the marker records no such disk, so raidswap did not make it", p))
			case regular && dev == d.Dev && ino == d.Ino:
				remove(p)
			default:
				errs = append(errs, fmt.Errorf("leaving %s: it is not the image raidswap made (inode %d:%d, not %d:%d)", p, dev, ino, d.Dev, d.Ino))
			}
		case e.Type().IsRegular() && (name == identify.DrillMarker+".tmp" || name == LabAuditLog || name == LabPlanKey || name == LabLock ||
			name == LabInventory || strings.HasPrefix(name, labInventoryTemp) ||
			strings.HasPrefix(name, "rs-") && strings.HasSuffix(name, ".table")):
			remove(p)
		case e.IsDir() && (name == LabJournal || name == LabBackups):
			r, err := removeTree(p)
			removed = append(removed, r...)
			if err != nil {
				errs = append(errs, err)
			}
		case e.IsDir():
			// A mount point (boot, root): only when empty and no longer mounted.
			if err := os.Remove(p); err != nil {
				errs = append(errs, fmt.Errorf("leaving %s: %w", p, err))
			}
		default:
			errs = append(errs, fmt.Errorf("leaving %s: raidswap did not make it", p))
		}
	}
	if len(errs) > 0 {
		return removed, errors.Join(append(errs, fmt.Errorf("keeping %s and its marker: %d things in it are left", dir, len(errs)))...)
	}
	remove(filepath.Join(dir, identify.DrillMarker))
	if err := os.Remove(dir); err != nil {
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}

// removeTree removes the engine's directory p (the journal, the table backups): its regular
// files and directories, depth first, never following a link. A link, device or FIFO in it
// is nothing the engine writes: it is left and named, and so is p.
func removeTree(p string) ([]string, error) {
	ents, err := os.ReadDir(p)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range ents {
		q := filepath.Join(p, e.Name())
		switch {
		case e.IsDir():
			r, err := removeTree(q)
			removed = append(removed, r...)
			if err != nil {
				errs = append(errs, err)
			}
		case e.Type().IsRegular():
			if err := os.Remove(q); err != nil {
				errs = append(errs, fmt.Errorf("leaving %s: %w", q, err))
				continue
			}
			removed = append(removed, q)
		default:
			errs = append(errs, fmt.Errorf("leaving %s: raidswap did not make it (%s)", q, e.Type()))
		}
	}
	if len(errs) > 0 {
		return removed, errors.Join(errs...)
	}
	if err := os.Remove(p); err != nil {
		return removed, fmt.Errorf("leaving %s: %w", p, err)
	}
	return append(removed, p), nil
}
