package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
)

// lookup finds a disk by serial or kernel name and refuses partitions and md devices.
func (b *builder) lookup(what, s string) (*discover.Disk, error) {
	name := strings.TrimPrefix(s, "/dev/")
	if hs := b.sys.SerialHolders(s); len(hs) > 1 {
		return nil, &InputError{Serial: s, Reason: "names more than one disk: " + b.sys.IdentityProblem(hs[0])}
	}
	if d := b.sys.DiskBySerial(s); d != nil {
		return d, nil
	}
	for i := range b.sys.Disks {
		if b.sys.Disks[i].Serial == s && s != "" {
			return &b.sys.Disks[i], nil
		}
	}
	if a := b.sys.Array(name); a != nil || strings.HasPrefix(name, "md") {
		return nil, &InputError{Device: "/dev/" + name, Reason: fmt.Sprintf("is an md array, not a disk: give the %s disk's serial", what)}
	}
	for _, d := range b.sys.Disks {
		for _, p := range d.Partitions {
			if p == name {
				return nil, &InputError{Device: "/dev/" + name, Serial: d.Serial,
					Reason: fmt.Sprintf("is a partition of %s, not a disk: give the whole disk (%s) or its serial", d.Label(), d.Name)}
			}
		}
	}
	if d := b.sys.Disk(name); d != nil {
		return d, nil
	}
	return nil, nil
}

func (b *builder) resolveFailed() error {
	d, err := b.lookup("failed", b.req.Failed)
	if err != nil {
		return err
	}
	if d == nil {
		return &InputError{Device: b.req.Failed, Reason: "no disk with this serial or name is attached or remembered (run `raidswap status` to list disks)"}
	}
	b.failed = d
	if why := b.sys.IdentityProblem(d); why != "" {
		return &InputError{Device: d.Name, Serial: d.Serial, Reason: "refusing to plan on a disk that cannot be identified: " + why}
	}
	if b.req.Mode == ReAdd && !d.Present {
		return &InputError{Device: d.Name, Serial: d.Serial, Reason: "is not attached: re-add needs the disk back in its bay"}
	}
	if b.req.Mode == ReplaceWorking && !d.Present {
		return &InputError{Device: d.Name, Serial: d.Serial, Reason: "is not attached: --replace copies from a working disk; use a plain replacement"}
	}
	return nil
}

// resolveArrays finds every array the failed disk is in, its member there, and the survivor.
func (b *builder) resolveArrays() error {
	f := b.failed
	for ai := range b.sys.Arrays {
		a := &b.sys.Arrays[ai]
		r := arrayRole{a: a}
		in := false
		for _, m := range a.Members {
			if b.onFailed(m) {
				in = true
				if m.Device != nil {
					r.failedDev, r.failedState, r.failedGone = *m.Device, m.State, m.Gone
				} else if r.failedState == "" {
					r.failedState = m.State
				}
			}
		}
		if !in && b.req.Mode == ReAdd {
			in = b.rememberedIn(a)
		}
		if !in {
			continue
		}
		b.arrays = append(b.arrays, r)
	}
	if len(b.arrays) == 0 {
		return &InputError{Device: f.Name, Serial: f.Serial, Reason: "is in no md array"}
	}
	if err := b.refuseExternal(); err != nil {
		return err
	}
	if err := b.judgeRedundancy(); err != nil {
		return err
	}
	// The survivor: the disk holding an in_sync member of every array of the failed disk.
	count := map[string]int{}
	for _, r := range b.arrays {
		seen := map[string]bool{}
		for _, m := range r.a.Members {
			if m.State == discover.MemberInSync && m.Disk != nil && !b.onFailed(m) && !seen[*m.Disk] {
				seen[*m.Disk] = true
				count[*m.Disk]++
			}
		}
		if len(seen) == 0 {
			return &UnsafeError{Reason: fmt.Sprintf("%s (uuid %s) has no in_sync member outside %s: there is no good copy to rebuild from; restore from backup",
				r.a.Name, r.a.UUID, f.Label())}
		}
	}
	var names []string
	for n, c := range count {
		if c == len(b.arrays) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return &UnsafeError{Reason: fmt.Sprintf("no single disk holds an in_sync member of every array %s is in: raidswap clones the partition table of such a disk", f.Label())}
	}
	b.survivor = b.sys.Disk(names[0])
	if b.survivor == nil || !b.survivor.Present {
		return &UnsafeError{Reason: fmt.Sprintf("the survivor %s is not attached", names[0])}
	}
	if b.survivor.Serial == "" {
		return &UnsafeError{Reason: fmt.Sprintf("the survivor %s has no serial: raidswap binds plans to serials", b.survivor.Name)}
	}
	if why := b.sys.IdentityProblem(b.survivor); why != "" {
		return &UnsafeError{Reason: "the survivor cannot be identified: " + why}
	}
	for i := range b.arrays {
		r := &b.arrays[i]
		for _, m := range r.a.Members {
			if m.Disk != nil && *m.Disk == b.survivor.Name && m.State == discover.MemberInSync && m.Device != nil {
				r.survivorDev = *m.Device
				if *m.Device == b.survivor.Name && m.Partition == "" {
					// A whole-disk member: md0 built over /dev/vdb itself.
					r.whole = true
					continue
				}
				r.part = PartitionNumber(b.survivor.Name, *m.Device)
				if r.part == 0 && m.Partition != "" {
					// A member stacked on a partition (a drill's dm table over loop0p3):
					// the layout is the partition's.
					r.part = PartitionNumber(b.survivor.Name, m.Partition)
				}
			}
		}
		if r.part == 0 && !r.whole {
			return &InputError{Device: b.survivor.Name, Serial: b.survivor.Serial,
				Reason: fmt.Sprintf("its %s member %s is not a partition of it; raidswap clones partitioned disks", r.a.Name, r.survivorDev)}
		}
	}
	if err := b.checkWholeDisk(); err != nil {
		return err
	}
	sort.SliceStable(b.arrays, func(i, j int) bool {
		if b.arrays[i].a.SizeKiB != b.arrays[j].a.SizeKiB {
			return b.arrays[i].a.SizeKiB < b.arrays[j].a.SizeKiB
		}
		return b.arrays[i].a.Name < b.arrays[j].a.Name
	})
	return nil
}

// onFailed reports whether member m is on the failed disk.
func (b *builder) onFailed(m discover.Member) bool {
	f := b.failed
	switch {
	case f.Serial != "" && (m.Serial == f.Serial || ((m.State == discover.MemberMissing || m.Gone) && m.LastSerial == f.Serial)):
		// A member whose device has gone is the failed disk's when the inventory remembers
		// its serial there, even if the disk came back under another name (re-add).
		return true
	case m.Disk != nil && *m.Disk == f.Name:
		// A name matches only while it means the same disk: for a vanished disk, a member
		// whose device has gone; for an attached one, a member on it.
		return f.Present || m.Gone || m.Serial == ""
	}
	return false
}

// rememberedIn reports whether the inventory remembers the failed disk in array a.
func (b *builder) rememberedIn(a *discover.Array) bool {
	if b.sys.Inventory == nil || b.failed.Serial == "" {
		return false
	}
	e, ok := b.sys.Inventory.Disks[b.failed.Serial]
	if !ok {
		return false
	}
	for _, s := range e.Members {
		if s.ArrayUUID == a.UUID {
			return true
		}
	}
	return false
}

func (b *builder) resolveNew() error {
	if b.req.New == "" || b.req.Mode == ReAdd {
		return nil
	}
	d, err := b.lookup("new", b.req.New)
	if err != nil {
		return err
	}
	if d == nil {
		if b.sys.Disk(strings.TrimPrefix(b.req.New, "/dev/")) == nil && strings.HasPrefix(b.req.New, "/dev/") {
			return &InputError{Device: b.req.New, Reason: "no such disk is attached; name a disk that is not attached yet by its serial"}
		}
		return nil // a serial of a disk not attached yet: wait for it
	}
	if !d.Present {
		return nil
	}
	if why := b.sys.IdentityProblem(d); why != "" {
		return &InputError{Device: d.Name, Serial: d.Serial, Reason: "refusing to write to a disk that cannot be identified: " + why}
	}
	disks := Disks{Failed: ref(b.failed), Survivor: ref(b.survivor),
		New: NewDisk{Wipe: b.req.Wipe, AcceptSMART: b.req.AcceptNewDiskSMART}}
	disks.New.MinSizeBytes, disks.New.MinSizeFrom = b.minNewSize()
	if err := CheckNewDisk(d, disks); err != nil {
		return err
	}
	b.newDisk = d
	return nil
}
