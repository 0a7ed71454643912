package partition

import (
	"fmt"
	"sort"
)

// WriteReport says what Write did to the disk.
type WriteReport struct {
	// Wiped are the regions zeroed before writing: old tables and md superblocks, and the
	// metadata areas at both ends of every new partition.
	Wiped []region `json:"wiped"`
	// Written are the table sectors, in write order.
	Written []region `json:"written"`
}

// Write puts a layout on a disk. The layout must have been planned for this disk's geometry
// (a saved plan whose disk changed is refused). It validates the layout, renders it and
// checks the rendering, zeroes stale signatures in the regions being reused, writes the
// table with the sector that makes it visible last, and syncs. It does not check whether the
// disk is in use or holds data: CheckTarget and FindSignatures do, and the caller must call
// them first. It does not tell the kernel: see UpdateKernel.
func Write(d Device, lay Layout) (WriteReport, error) {
	var rep WriteReport
	if g := d.Geometry(); g != lay.Geometry {
		return rep, refuse(RefuseUnsupported, "the layout was planned for %s but the disk now has %s", lay.Geometry, g)
	}
	if err := Validate(lay); err != nil {
		return rep, fmt.Errorf("layout for %s is invalid: %w", d.Path(), err)
	}
	exts, err := encode(lay)
	if err != nil {
		return rep, fmt.Errorf("layout for %s: %w", d.Path(), err)
	}
	// Order: wipe, then every table sector but the one that makes the table visible (the
	// protective MBR or the MBR), sync, then that sector, sync. A crash before the first sync
	// completes leaves no visible table; after it, the wipe and the rest are durable.
	rep.Wiped = staleRegions(d, lay)
	for _, r := range rep.Wiped {
		if err := zeroRange(d, r.Off, r.Len); err != nil {
			return rep, fmt.Errorf("wiping %s on %s: %w", r.What, d.Path(), err)
		}
	}
	for i, e := range exts {
		if i == len(exts)-1 {
			if err := d.Sync(); err != nil {
				return rep, fmt.Errorf("syncing %s: %w", d.Path(), err)
			}
		}
		if n, err := d.WriteAt(e.data, e.Off); err != nil || n != len(e.data) {
			return rep, fmt.Errorf("writing %s at byte %d of %s: wrote %d of %d bytes: %w", e.What, e.Off, d.Path(), n, len(e.data), err)
		}
		rep.Written = append(rep.Written, e.region)
	}
	if err := d.Sync(); err != nil {
		return rep, fmt.Errorf("syncing %s: %w", d.Path(), err)
	}
	return rep, nil
}

func zeroRange(d Device, off, n int64) error {
	if z, ok := d.(interface{ ZeroRange(off, n int64) error }); ok {
		return z.ZeroRange(off, n)
	}
	return writeZeros(d, off, n)
}

// Wipe sizes: what is zeroed at each end of a disk and of each new partition.
const (
	wipeDiskHead = 24 << 10 // MBR and primary GPT for 512-byte (34 sectors) and 4Kn (6 sectors) disks
	wipeDiskTail = 20 << 10 // backup GPT: 33 sectors of 512 or 5 of 4096 bytes
	wipePartEnds = 1 << 20  // md 1.1/1.2 superblocks and bitmaps, file system and LVM/LUKS headers, ZFS labels; md 0.90/1.0 at the end
)

// staleRegions lists what Write zeroes before writing a layout: the table areas at both ends
// of the disk for 512- and 4096-byte sectors, the backup GPT an old primary header points
// to, md superblocks of the whole disk, and the first and last MiB of every new partition,
// so neither md, blkid nor udev finds an old member, file system or table where the new
// partitions are.
func staleRegions(d Device, lay Layout) []region {
	size := lay.Geometry.Size
	var rs []region
	add := func(off, n int64, what string) {
		if off < 0 {
			n += off
			off = 0
		}
		if off+n > size {
			n = size - off
		}
		if n > 0 {
			rs = append(rs, region{off, n, what})
		}
	}
	add(0, wipeDiskHead, "old MBR and primary GPT")
	add(size-wipeDiskTail, wipeDiskTail, "old backup GPT")
	for _, l := range []int64{512, 4096} {
		b := make([]byte, l)
		if _, err := d.ReadAt(b, l); err != nil {
			continue
		}
		h, err := parseGPTHeader(b, 1, size/l, int(l))
		if err != nil {
			continue
		}
		arr := h.arraySectors(int(l))
		add(h.altLBA*l, l, "old backup GPT header")
		add((h.altLBA-arr)*l, arr*l, "old backup GPT entries")
	}
	for _, off := range mdSuperblockOffsets(size) {
		add(off, 4096, "md superblock location of the whole disk")
	}
	for _, p := range lay.Partitions {
		if !p.IsData() {
			continue
		}
		n := min(p.Size, wipePartEnds)
		add(p.Start, n, fmt.Sprintf("start of partition %d", p.Number))
		add(p.End()-n, n, fmt.Sprintf("end of partition %d", p.Number))
	}
	return mergeRegions(rs)
}

// ClearedEnds reports whether the write zeroed the first and last MiB (the whole, when
// smaller) of every data partition of lay: where md keeps its superblocks of every version
// (1.1 at a member's start, 1.2 4 KiB in, 1.0 8 KiB before its end, 0.90 in its last 128
// KiB), so no old superblock is left on a new partition for mdadm to find.
func (r WriteReport) ClearedEnds(lay Layout) bool {
	covered := func(off, n int64) bool {
		for _, w := range r.Wiped {
			if w.Off <= off && off+n <= w.Off+w.Len {
				return true
			}
		}
		return false
	}
	for _, p := range lay.Partitions {
		if !p.IsData() {
			continue
		}
		n := min(p.Size, wipePartEnds)
		if !covered(p.Start, n) || !covered(p.End()-n, n) {
			return false
		}
	}
	return true
}

// mergeRegions sorts regions and joins overlapping or touching ones.
func mergeRegions(rs []region) []region {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Off < rs[j].Off })
	var out []region
	for _, r := range rs {
		if n := len(out); n > 0 && r.Off <= out[n-1].Off+out[n-1].Len {
			last := &out[n-1]
			if end := r.Off + r.Len; end > last.Off+last.Len {
				last.Len = end - last.Off
			}
			if r.What != last.What {
				last.What += ", " + r.What
			}
			continue
		}
		out = append(out, r)
	}
	return out
}
