package discover

import (
	"bufio"
	"bytes"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/partition"
)

// usage is what uses block devices: mounts, swap.
type usage struct {
	mountsByDev  map[string][]string // "maj:min" -> mountpoints
	mountsByName map[string][]string // kernel name -> mountpoints (md arrays)
	swap         map[string]bool     // kernel name -> active swap
}

func readUsage(root *host.Root, problems *[]string) usage {
	u := usage{mountsByDev: map[string][]string{}, mountsByName: map[string][]string{}, swap: map[string]bool{}}
	if b, err := root.ReadFile("/proc/self/mountinfo"); err == nil {
		for dev, mps := range ParseMountinfo(b) {
			u.mountsByDev[dev] = mps
		}
	} else {
		*problems = append(*problems, "reading /proc/self/mountinfo: "+err.Error())
	}
	for dev, mps := range u.mountsByDev {
		if name := devName(root, dev); name != "" {
			u.mountsByName[name] = mps
		}
	}
	if b, err := root.ReadFile("/proc/swaps"); err == nil {
		for _, name := range ParseSwaps(b) {
			u.swap[name] = true
		}
	} else {
		*problems = append(*problems, "reading /proc/swaps: "+err.Error())
	}
	return u
}

// devName names the block device with number "maj:min" from /sys/dev/block.
func devName(root *host.Root, dev string) string {
	if !strings.HasPrefix(dev, "9:") && !strings.HasPrefix(dev, "259:") {
		// Only md arrays (major 9, or 259 for partitioned md) are looked up this way.
		return ""
	}
	t, err := root.ReadLink("/sys/dev/block/" + dev)
	if err != nil {
		return ""
	}
	return filepath.Base(t)
}

// ParseMountinfo maps "major:minor" to mount points from /proc/self/mountinfo.
func ParseMountinfo(b []byte) map[string][]string {
	out := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		out[f[2]] = append(out[f[2]], host.UnescapeMount(f[4]))
	}
	return out
}

// ParseSwaps returns the kernel names of the block devices in /proc/swaps.
func ParseSwaps(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[1] != "partition" {
			continue
		}
		out = append(out, filepath.Base(host.UnescapeMount(f[0])))
	}
	return out
}

func diskFrom(root *host.Root, id identify.Disk, u usage) Disk {
	d := Disk{
		Name: id.Name, Serial: id.Serial, Model: id.Model, WWN: id.WWN, SizeBytes: id.SizeBytes,
		LogicalSectorSize: id.LogicalSectorSize, PhysicalSectorSize: id.PhysicalSectorSize,
		Rotational: id.Rotational, ByID: id.ByID, Partitions: id.Partitions, Present: true,
		Holders: []string{}, Mounted: []string{}, Swap: []string{}, Members: []DiskMember{},
	}
	if d.ByID == nil {
		d.ByID = []string{}
	}
	if d.Partitions == nil {
		d.Partitions = []string{}
	}
	if len(id.ByPath) > 0 {
		d.ByPath = id.ByPath[0]
	}
	d.Vendor, d.Firmware, d.Transport, d.HCTL, d.Controller, d.SerialSource, d.Drill =
		id.Vendor, id.Firmware, id.Transport, id.HCTL, id.Controller, id.SerialSource, id.Drill
	devs := append([]string{""}, id.Partitions...)
	for _, p := range devs {
		sys := "/sys/block/" + id.Name
		name := id.Name
		if p != "" {
			sys += "/" + p
			name = p
		}
		if ents, err := root.ReadDir(sys + "/holders"); err == nil {
			for _, e := range ents {
				d.Holders = append(d.Holders, e.Name())
				if d.HeldBy == nil {
					d.HeldBy = map[string][]string{}
				}
				d.HeldBy[name] = append(d.HeldBy[name], e.Name())
			}
		}
		dev := id.DevNum
		if p != "" {
			dev, _ = root.ReadString(sys + "/dev")
		}
		if dev != "" {
			for _, mp := range u.mountsByDev[dev] {
				d.Mounted = append(d.Mounted, name+" on "+mp)
			}
		}
		if u.swap[name] {
			d.Swap = append(d.Swap, name)
		}
	}
	return d
}

// Uses says what holds d and each of its partitions, for partition.InUse, the one rule for
// "may this disk be written": its md members (as attached to it), mounts, swap and holders.
func (d *Disk) Uses() []partition.Use {
	// Every device a fact names counts, whether it is listed as a partition or not.
	names := append([]string{d.Name}, d.Partitions...)
	for _, m := range d.Mounted {
		if dev, _, ok := strings.Cut(m, " on "); ok {
			names = append(names, dev)
		}
	}
	names = append(names, d.Swap...)
	names = append(names, slices.Sorted(maps.Keys(d.HeldBy))...)
	seen := map[string]bool{}
	names = slices.DeleteFunc(names, func(n string) bool {
		dup := seen[n]
		seen[n] = true
		return dup
	})
	uses := make([]partition.Use, len(names))
	at := map[string]*partition.Use{}
	for i, n := range names {
		uses[i] = deviceUse(d, n)
		at[n] = &uses[i]
	}
	for _, m := range d.Members {
		if u := at[m.Device]; u != nil {
			u.Members = append(u.Members, partition.MemberUse{Array: m.Array, State: string(m.State)})
			continue
		}
		// A member stacked over the disk (dm-1 on vdb2) is the whole disk's.
		uses[0].Members = append(uses[0].Members, partition.MemberUse{Array: m.Array, Device: m.Device, State: string(m.State)})
	}
	return uses
}

// PartitionUse says what holds partition part of d, for partition.InUse: an array that
// lists it as a member whose device still exists, its mounts, swap and holders.
func (s *System) PartitionUse(d *Disk, part string) partition.Use {
	u := deviceUse(d, part)
	for _, a := range s.Arrays {
		for _, m := range a.Members {
			if m.Device != nil && *m.Device == part && !m.Gone {
				u.Members = append(u.Members, partition.MemberUse{Array: a.Name, State: string(m.State)})
			}
		}
	}
	return u
}

// deviceUse is what mounts, swap and holders say of device name on d.
func deviceUse(d *Disk, name string) partition.Use {
	u := partition.Use{Device: name, Swap: slices.Contains(d.Swap, name)}
	for _, m := range d.Mounted {
		if dev, mp, ok := strings.Cut(m, " on "); ok && dev == name {
			u.Mounts = append(u.Mounts, mp)
		}
	}
	held := d.HeldBy[name]
	if d.HeldBy == nil && name == d.Name {
		held = d.Holders
	}
	for _, h := range held {
		u.Holders = append(u.Holders, partition.Holder{Name: h})
	}
	return u
}
