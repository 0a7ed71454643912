package discover

import (
	"maps"
	"slices"
	"strings"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/partition"
)

// usage is what uses block devices: mounts, swap, and what each array holds through any
// stack (blockstack: LVM, LUKS, md partitions, bind mounts).
type usage struct {
	mountsByDev  map[string][]string // "maj:min" -> mountpoints
	mountsByName map[string][]string // md array -> mountpoints resting on it
	swap         map[string]bool     // kernel name -> active swap (an array: swap rests on it)
	stack        *blockstack.Stack
}

func readUsage(root *host.Root, problems *[]string) usage {
	st, probs := blockstack.Read(root)
	for _, p := range probs {
		if strings.HasPrefix(p, "reading /sys/block:") {
			// Discovery says what it cannot read of /sys/block where it reads the arrays.
			continue
		}
		*problems = append(*problems, p)
	}
	u := usage{mountsByDev: map[string][]string{}, swap: map[string]bool{}, stack: st}
	for _, m := range st.Mounts {
		u.mountsByDev[m.Dev] = append(u.mountsByDev[m.Dev], m.Point)
	}
	u.mountsByName, u.swap = st.ArraysUnder()
	for _, name := range st.Swaps {
		u.swap[name] = true
	}
	return u
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
