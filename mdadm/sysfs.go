package mdadm

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
)

// Unknown marks a sysfs number that could not be read.
const Unknown = -1

// SysArray is one array as /sys/block/mdX/md shows it. Every attribute is read on its own
// through host.Root, so one unreadable file marks one field unknown (and adds a Problem)
// instead of losing the array. (procfs' sysfs.Mdraids reads the same files, but fails the
// whole call on the first unreadable one, skips slot, sync_speed and the member's block link,
// and reads outside host.Root, which `snapshot` needs to see every read.)
type SysArray struct {
	Name       string
	Level      string
	ArrayState string
	Metadata   string // "1.2", "1.0", "0.90", "external:..."
	UUID       string
	RaidDisks  int
	Degraded   int
	// Layout is md/layout (raid10's near/far/offset copies, raid5's algorithm); Unknown when
	// it could not be read.
	Layout     int
	SyncAction string // idle, resync, recover, check, repair, reshape, frozen
	// ResyncNeeded is true when md/resync_start is a sector number rather than "none": md
	// has not yet checked that the members agree from sector ResyncFrom on (an unclean
	// shutdown, an interrupted resync, a new array). During a resync it is the resync's
	// checkpoint. Both stay zero when the file reads "none" or cannot be read.
	ResyncNeeded bool
	ResyncFrom   int64
	// SyncDone and SyncTotal are sectors from sync_completed; both Unknown when idle.
	SyncDone, SyncTotal int64
	SyncSpeedKiB        int64  // sync_speed, KiB/s
	ComponentKiB        int64  // component_size
	Bitmap              string // bitmap/location: "none", "+8", "file"
	Members             []SysMember
	Problems            []string
}

// SysMember is one dev-* entry of an array.
type SysMember struct {
	Device string   // kernel name of the member: sda1, vdb2, dm-3
	Slot   int      // Unknown when "none"
	State  []string // in_sync, faulty, spare, write_mostly, blocked, want_replacement, replacement, ...
	// Disk is the whole disk holding the member (sda for sda1, the device itself for a
	// whole-disk member); "" when it cannot be told.
	Disk string
	// Gone is true when the member's block device no longer exists (the disk vanished).
	Gone bool
	// RecoveryStart is the sector recovery has reached on this member, or Unknown ("none").
	RecoveryStart int64
	// DataOffset is md/dev-*/offset: the sectors (512 bytes) on the device before the
	// member's data starts, md's data offset; Unknown when it could not be read.
	DataOffset int64
}

// DevState is a member's dev-*/state read flag by flag. The words are the kernel's
// (drivers/md/md.c state_show; Documentation/admin-guide/md.rst spells write_mostly
// "writemostly", and both are accepted).
type DevState struct {
	Faulty, InSync, Journal, WriteMostly, Blocked, Spare            bool
	WriteError, WantReplacement, Replacement, ExternalBBL, FailFast bool
	// Unknown holds, verbatim, every word that is none of the above (an empty word too):
	// a newer kernel's flag or garbage, which the caller must not take for healthy.
	Unknown []string
}

// ParseDevState parses the words of dev-*/state.
func ParseDevState(words []string) DevState {
	var d DevState
	for _, w := range words {
		switch strings.TrimSpace(w) {
		case "faulty":
			d.Faulty = true
		case "in_sync":
			d.InSync = true
		case "journal":
			d.Journal = true
		case "write_mostly", "writemostly":
			d.WriteMostly = true
		case "blocked":
			d.Blocked = true
		case "spare":
			d.Spare = true
		case "write_error":
			d.WriteError = true
		case "want_replacement":
			d.WantReplacement = true
		case "replacement":
			d.Replacement = true
		case "external_bbl":
			d.ExternalBBL = true
		case "failfast":
			d.FailFast = true
		default:
			d.Unknown = append(d.Unknown, w)
		}
	}
	return d
}

// Has reports whether the member's state includes word.
func (m SysMember) Has(word string) bool {
	for _, s := range m.State {
		if s == word {
			return true
		}
	}
	return false
}

// ReadSysArrays reads every /sys/block/md*/md directory under root.
func ReadSysArrays(root *host.Root) ([]SysArray, error) {
	dirs, err := root.Glob("/sys/block/md*")
	if err != nil {
		return nil, fmt.Errorf("listing md arrays in /sys/block: %w", err)
	}
	var out []SysArray
	for _, d := range dirs {
		name := filepath.Base(d)
		if !root.Exists(d + "/md") {
			// md creates the disk a moment before its md directory (assembly) and removes
			// the directory first (stop): an array caught in between is still reported,
			// with nothing known, so that it is judged rather than skipped.
			out = append(out, SysArray{Name: name, RaidDisks: Unknown, Degraded: Unknown, Layout: Unknown, SyncDone: Unknown,
				SyncTotal: Unknown, SyncSpeedKiB: Unknown, ComponentKiB: Unknown,
				Problems: []string{fmt.Sprintf("/sys/block/%s: has no md directory (being assembled or stopped)", name)}})
			continue
		}
		out = append(out, readSysArray(root, name))
	}
	sort.Slice(out, func(i, j int) bool { return ArrayNameLess(out[i].Name, out[j].Name) })
	return out, nil
}

// ArrayNameLess orders md0 < md1 < md10 < md127 < md_name.
func ArrayNameLess(a, b string) bool {
	na, ea := strconv.Atoi(strings.TrimPrefix(a, "md"))
	nb, eb := strconv.Atoi(strings.TrimPrefix(b, "md"))
	if ea == nil && eb == nil {
		return na < nb
	}
	if (ea == nil) != (eb == nil) {
		return ea == nil
	}
	return a < b
}

type attrReader struct {
	root     *host.Root
	base     string
	problems *[]string
}

func (r attrReader) str(name string) string {
	v, err := r.root.ReadString(r.base + "/" + name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			*r.problems = append(*r.problems, fmt.Sprintf("%s/%s: %v", r.base, name, err))
		}
		return ""
	}
	return v
}

func (r attrReader) num(name string) int64 {
	n, _ := r.parseNum(name, r.str(name))
	return n
}

// parseNum parses v, read from name; ok is false (n Unknown) for "", "none" or garbage, and
// garbage is reported.
func (r attrReader) parseNum(name, v string) (n int64, ok bool) {
	if v == "" || v == "none" {
		return Unknown, false
	}
	// raid_disks reads "4 (3)" during a reshape: the first number is the current one.
	if i := strings.IndexByte(v, ' '); i > 0 {
		v = v[:i]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		*r.problems = append(*r.problems, fmt.Sprintf("%s/%s: not a number: %q", r.base, name, v))
		return Unknown, false
	}
	return n, true
}

// count is num for a value that cannot be negative (raid_disks, degraded, slot): a negative
// or absurdly large one is garbage, reported and read as Unknown rather than trusted.
func (r attrReader) count(name string) int64 {
	n, ok := r.parseNum(name, r.str(name))
	if !ok {
		return Unknown
	}
	if n < 0 || n > 1<<20 {
		*r.problems = append(*r.problems, fmt.Sprintf("%s/%s: not a plausible count: %d", r.base, name, n))
		return Unknown
	}
	return n
}

// count64 is num for a sector count: a negative one is garbage, reported and read as Unknown.
func (r attrReader) count64(name string) int64 {
	n, ok := r.parseNum(name, r.str(name))
	if !ok {
		return Unknown
	}
	if n < 0 {
		*r.problems = append(*r.problems, fmt.Sprintf("%s/%s: not a plausible sector count: %d", r.base, name, n))
		return Unknown
	}
	return n
}

func readSysArray(root *host.Root, name string) SysArray {
	a := SysArray{Name: name, SyncDone: Unknown, SyncTotal: Unknown}
	r := attrReader{root: root, base: "/sys/block/" + name + "/md", problems: &a.Problems}
	a.Level = r.str("level")
	a.ArrayState = r.str("array_state")
	a.Metadata = r.str("metadata_version")
	a.UUID = r.str("uuid")
	a.RaidDisks = int(r.count("raid_disks"))
	a.Degraded = int(r.count("degraded"))
	a.Layout = int(r.count("layout"))
	a.SyncAction = r.str("sync_action")
	if v := r.str("resync_start"); v != "" && v != "none" {
		if n, ok := r.parseNum("resync_start", v); ok && n >= 0 {
			a.ResyncNeeded, a.ResyncFrom = true, n
		}
	}
	if sc := r.str("sync_completed"); sc != "" && sc != "none" && sc != "delayed" {
		var done, total int64
		if _, err := fmt.Sscanf(sc, "%d / %d", &done, &total); err == nil {
			a.SyncDone, a.SyncTotal = done, total
		} else {
			a.Problems = append(a.Problems, fmt.Sprintf("%s/sync_completed: unexpected %q", r.base, sc))
		}
	}
	a.SyncSpeedKiB = r.num("sync_speed")
	a.ComponentKiB = r.num("component_size")
	a.Bitmap = r.str("bitmap/location")

	devs, err := root.Glob(r.base + "/dev-*")
	if err != nil {
		a.Problems = append(a.Problems, fmt.Sprintf("listing members of %s: %v", name, err))
	}
	for _, d := range devs {
		a.Members = append(a.Members, readSysMember(root, d, &a.Problems))
	}
	sort.SliceStable(a.Members, func(i, j int) bool {
		si, sj := a.Members[i].Slot, a.Members[j].Slot
		if si == Unknown {
			si = 1 << 30
		}
		if sj == Unknown {
			sj = 1 << 30
		}
		if si != sj {
			return si < sj
		}
		return a.Members[i].Device < a.Members[j].Device
	})
	return a
}

func readSysMember(root *host.Root, dir string, problems *[]string) SysMember {
	m := SysMember{Device: strings.TrimPrefix(filepath.Base(dir), "dev-")}
	r := attrReader{root: root, base: dir, problems: problems}
	m.Slot = int(r.count("slot"))
	if st := r.str("state"); st != "" {
		m.State = strings.Split(st, ",")
	}
	m.RecoveryStart = r.num("recovery_start")
	m.DataOffset = r.count64("offset")
	m.Disk, m.Gone = resolveMemberDisk(root, dir+"/block", m.Device)
	return m
}

// resolveMemberDisk follows dev-X/block to the member's block device and names the disk that
// holds it. A dangling link means the device has gone; the disk's name is then read from the
// link's own path (.../block/sdf/sdf1 -> sdf).
func resolveMemberDisk(root *host.Root, link, dev string) (disk string, gone bool) {
	target, err := root.ResolveLink(link)
	if err != nil {
		// No link at all: the member's block device was released.
		return diskFromName(root, dev), !root.Exists("/sys/class/block/" + dev)
	}
	if root.Exists(target) {
		if root.Exists(target + "/partition") {
			return filepath.Base(filepath.Dir(target)), false
		}
		return filepath.Base(target), false
	}
	parts := strings.Split(target, "/")
	for i := len(parts) - 2; i >= 0; i-- {
		if parts[i] == "block" {
			if i+2 < len(parts) {
				return parts[i+1], true
			}
			return parts[i+1], true
		}
	}
	return dev, true
}

// diskFromName names the disk of a member from sysfs when its link is missing.
func diskFromName(root *host.Root, dev string) string {
	t, err := root.ResolveLink("/sys/class/block/" + dev)
	if err == nil && root.Exists(t+"/partition") {
		return filepath.Base(filepath.Dir(t))
	}
	if err == nil {
		return filepath.Base(t)
	}
	return ""
}
