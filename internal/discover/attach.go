package discover

import (
	"sort"

	"github.com/raidswap/raidswap/mdadm"
)

// This file puts each array's members onto their disks, and names from the inventory the
// disks and arrays md no longer lists.

// addRememberedArrays adds, as missing, every array the inventory remembers that md lists
// nowhere: an array that lost its last member with a vanished disk, or that was stopped, is
// gone from /proc/mdstat and /sys/block, and only the inventory still knows it existed.
func (s *System) addRememberedArrays() {
	if s.Inventory == nil {
		return
	}
	listed := map[string]bool{}
	for _, a := range s.Arrays {
		listed[a.UUID] = true
		if a.UUID == "" {
			// Known only by name (sysfs unreadable): the name stands for it.
			listed["name:"+a.Name] = true
		}
	}
	byUUID := map[string]*Array{}
	var order []string
	for _, e := range s.Inventory.Disks {
		for _, h := range e.Members {
			if h.ArrayUUID == "" || listed[h.ArrayUUID] || listed["name:"+h.Array] {
				continue
			}
			a := byUUID[h.ArrayUUID]
			if a == nil {
				a = &Array{Name: h.Array, UUID: h.ArrayUUID, State: ArrayMissing, RaidDisks: mdadm.Unknown,
					ActiveDisks: 0, SizeKiB: mdadm.Unknown, Members: []Member{}}
				byUUID[h.ArrayUUID] = a
				order = append(order, h.ArrayUUID)
			}
			dup := false
			for _, m := range a.Members {
				dup = dup || *m.Slot == h.Slot
			}
			if !dup {
				a.Members = append(a.Members, Member{Slot: intp(h.Slot), State: MemberMissing})
			}
		}
	}
	sort.Slice(order, func(i, j int) bool { return mdadm.ArrayNameLess(byUUID[order[i]].Name, byUUID[order[j]].Name) })
	for _, u := range order {
		a := byUUID[u]
		sort.Slice(a.Members, func(i, j int) bool { return *a.Members[i].Slot < *a.Members[j].Slot })
		s.Arrays = append(s.Arrays, *a)
	}
}

// attachMembers records each array's members on their disks, resolves serials, adds disks
// that vanished (named from the inventory when the kernel has forgotten them), and gives
// each disk its verdict.
func (s *System) attachMembers() {
	for ai := range s.Arrays {
		a := &s.Arrays[ai]
		for mi := range a.Members {
			m := &a.Members[mi]
			if m.State == MemberMissing || m.Gone {
				s.remember(a, m)
			}
			if m.Disk == nil || m.Device == nil {
				continue
			}
			d := s.Disk(*m.Disk)
			if d == nil {
				d = s.addAbsent(Disk{Name: *m.Disk})
			}
			m.Serial = d.Serial
			d.Members = append(d.Members, DiskMember{Array: a.Name, Device: *m.Device, State: m.State})
		}
	}
	for i := range s.Disks {
		s.Disks[i].Verdict = diskVerdict(&s.Disks[i])
	}
	sort.SliceStable(s.Disks, func(i, j int) bool {
		return s.Disks[i].Present && !s.Disks[j].Present
	})
}

// remember names, from the inventory, the disk that last held a missing or gone member. A
// remembered disk that is not present is added as vanished; one that is present under some
// name is left alone (it was removed from the array, not lost).
func (s *System) remember(a *Array, m *Member) {
	if s.Inventory == nil || a.UUID == "" {
		return
	}
	slot, dev := -1, ""
	if m.Slot != nil {
		slot = *m.Slot
	}
	if m.Device != nil {
		dev = *m.Device
	}
	e, ok := s.Inventory.Holder(a.UUID, slot, dev)
	if !ok {
		return
	}
	m.LastSerial, m.LastDisk = e.Serial, e.Name
	if s.DiskBySerial(e.Serial) != nil {
		return
	}
	d := s.Disk(e.Name)
	if d != nil && d.Present {
		// The name was reused by another disk: the remembered one is still gone.
		d = nil
	}
	if d == nil {
		for i := range s.Disks {
			if !s.Disks[i].Present && s.Disks[i].Serial == e.Serial {
				d = &s.Disks[i]
			}
		}
	}
	if d == nil {
		d = s.addAbsent(Disk{Name: e.Name})
	}
	d.Serial, d.Model, d.WWN, d.SizeBytes, d.ByPath = e.Serial, e.Model, e.WWN, e.SizeBytes, e.ByPath
	d.Bay = e.Bay
	d.Vendor, d.Firmware, d.Transport, d.HCTL, d.Controller = e.Vendor, e.Firmware, e.Transport, e.HCTL, e.Controller
	if e.ByID != nil {
		d.ByID = e.ByID
	}
	d.LastSeen = e.LastSeen.UTC().Format("2006-01-02T15:04:05Z")
	if m.State == MemberMissing {
		for _, h := range e.Members {
			if h.ArrayUUID == a.UUID && h.Slot == slot {
				d.Members = append(d.Members, DiskMember{Array: a.Name, Device: h.Device, State: MemberMissing})
			}
		}
	}
}

func (s *System) addAbsent(d Disk) *Disk {
	d.Present = false
	d.ByID, d.Partitions, d.Holders, d.Mounted, d.Swap, d.Members = []string{}, []string{}, []string{}, []string{}, []string{}, []DiskMember{}
	s.Disks = append(s.Disks, d)
	return &s.Disks[len(s.Disks)-1]
}
