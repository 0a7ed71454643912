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
	SyncAction string // idle, resync, recover, check, repair, reshape, frozen
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
		if !root.Exists(d + "/md") {
			continue
		}
		out = append(out, readSysArray(root, filepath.Base(d)))
	}
	sort.Slice(out, func(i, j int) bool { return mdLess(out[i].Name, out[j].Name) })
	return out, nil
}

// mdLess orders md0 < md1 < md10 < md127 < md_name.
func mdLess(a, b string) bool {
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
	v := r.str(name)
	if v == "" || v == "none" {
		return Unknown
	}
	// raid_disks reads "4 (3)" during a reshape: the first number is the current one.
	if i := strings.IndexByte(v, ' '); i > 0 {
		v = v[:i]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		*r.problems = append(*r.problems, fmt.Sprintf("%s/%s: not a number: %q", r.base, name, v))
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
	a.RaidDisks = int(r.num("raid_disks"))
	a.Degraded = int(r.num("degraded"))
	a.SyncAction = r.str("sync_action")
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
	m.Slot = int(r.num("slot"))
	if st := r.str("state"); st != "" {
		m.State = strings.Split(st, ",")
	}
	m.RecoveryStart = r.num("recovery_start")
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
