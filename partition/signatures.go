package partition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Signature is existing data found on a target disk.
type Signature struct {
	Offset int64  `json:"offset_bytes"`
	What   string `json:"what"`
	// Volume is where it was found: "the disk", "old partition 2", "new partition 3".
	Volume string `json:"volume"`
	// FoundBy is "libblkid" (through wipefs or blkid) or "raidswap" (its own readers).
	FoundBy string `json:"found_by"`
	// MD is the superblock, for an md superblock raidswap read itself.
	MD *Superblock `json:"md_superblock,omitempty"`
	// Table is the scheme of a partition table raidswap read itself.
	Table Scheme `json:"table,omitempty"`
}

func (s Signature) String() string {
	return fmt.Sprintf("%s on %s at byte %d", s.What, s.Volume, s.Offset)
}

// magic is a file system (or volume) signature: bytes at an offset from the start of a
// volume. libblkid is the authority for "holds data" (see HoldsData); this list only lets
// raidswap name what it finds where libblkid needs a device to probe, and catch what
// libblkid's type-only probes skip.
type magic struct {
	name string
	off  int64
	val  []byte
}

var magics = []magic{
	{"ext2/3/4 file system", 0x438, []byte{0x53, 0xef}},
	{"XFS file system", 0, []byte("XFSB")},
	{"btrfs file system", 0x10040, []byte("_BHRfS_M")},
	{"swap space", 4086, []byte("SWAPSPACE2")},
	{"swap space", 4086, []byte("SWAP-SPACE")},
	{"LUKS header", 0, []byte("LUKS\xba\xbe")},
	{"LVM2 physical volume", 512, []byte("LABELONE")},
	{"FAT file system", 0x36, []byte("FAT1")},
	{"FAT32 file system", 0x52, []byte("FAT32   ")},
	{"NTFS file system", 3, []byte("NTFS    ")},
	{"ISO 9660 file system", 0x8001, []byte("CD001")},
	{"squashfs file system", 0, []byte("hsqs")},
	{"bcache superblock", 0x1018, []byte{0xc6, 0x85, 0x73, 0xf6, 0x4e, 0x1a, 0x45, 0xca, 0x82, 0x65, 0xf5, 0x7f, 0x48, 0xba, 0x6d, 0x81}},
	// libblkid 2.38 reports a BSD disklabel only when asked for the partition list, which
	// neither wipefs nor blkid -p does: without this a whole-disk BSD label reads as empty.
	{"BSD disk label", 512, []byte{0x57, 0x45, 0x56, 0x82}},
	{"BSD disk label", 64, []byte{0x57, 0x45, 0x56, 0x82}},
	{"BSD disk label", 128, []byte{0x57, 0x45, 0x56, 0x82}},
}

// volume is a byte range of a disk that can hold a file system or md member.
type volume struct {
	start, size int64
	what        string
}

// volumes lists the whole disk, every data partition of old (the table on the disk, if it
// read), every partition the kernel has for the disk, and every data partition of the
// planned layout, each range once.
func volumes(g Geometry, old *Table, kernel []KernelPartition, lay *Layout) []volume {
	vols := []volume{{0, g.Size, "the disk"}}
	seen := map[[2]int64]bool{{0, g.Size}: true}
	add := func(start, size int64, what string) {
		k := [2]int64{start, size}
		if seen[k] || size <= 0 || start < 0 || start+size > g.Size {
			return
		}
		seen[k] = true
		vols = append(vols, volume{start, size, what})
	}
	if old != nil {
		for _, p := range old.Partitions {
			if p.IsData() {
				add(p.Start, p.Size, fmt.Sprintf("old partition %d", p.Number))
			}
		}
	}
	for _, k := range kernel {
		add(k.Start, k.Size, fmt.Sprintf("the kernel's partition %s", k.Name))
	}
	if lay != nil {
		for _, p := range lay.Partitions {
			if p.IsData() {
				add(p.Start, p.Size, fmt.Sprintf("new partition %d", p.Number))
			}
		}
	}
	return vols
}

// FindSignatures is raidswap's own reading of what a new table would destroy or expose: a
// partition table (for either sector size), md superblocks at the 0.90/1.0/1.1/1.2 places of
// the whole disk, of every partition of an old table, and of every partition of the planned
// layout, and file system signatures at the start of each of those. It describes; whether a
// disk holds data is HoldsData's call, which adds libblkid's findings to these.
func FindSignatures(d Device, lay *Layout) ([]Signature, error) {
	out, _, err := findSignatures(d, nil, lay)
	return out, err
}

// findSignatures is FindSignatures over the volumes it also returns, with the kernel's
// partitions of the disk among them.
func findSignatures(d Device, kernel []KernelPartition, lay *Layout) ([]Signature, []volume, error) {
	g := d.Geometry()
	var out []Signature
	var oldTable *Table
	old, err := ReadFrom(d, g)
	switch {
	case err == nil:
		oldTable = &old
		out = append(out, Signature{Offset: 0, What: fmt.Sprintf("%s partition table with %d partitions", old.Scheme, len(old.Partitions)), Volume: "the disk", FoundBy: "raidswap", Table: old.Scheme})
	case errors.Is(err, ErrNoTable):
		for _, l := range []int64{512, 4096} {
			if hasGPTSignature(d, l) {
				out = append(out, Signature{Offset: l, What: fmt.Sprintf("GPT header for %d-byte sectors", l), Volume: "the disk", FoundBy: "raidswap"})
			}
		}
	default:
		out = append(out, Signature{Offset: 0, What: fmt.Sprintf("damaged partition table (%v)", err), Volume: "the disk", FoundBy: "raidswap"})
	}
	vols := volumes(g, oldTable, kernel, lay)
	seen := map[int64]bool{}
	for _, v := range vols {
		r := io.NewSectionReader(d, v.start, v.size)
		sbs, err := FindSuperblocks(r, v.size)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", d.Path(), err)
		}
		for _, sb := range sbs {
			at := v.start + sb.Offset
			if seen[at] {
				continue
			}
			seen[at] = true
			name := sb.Name
			if name == "" {
				name = sb.ArrayUUID
			}
			sb := sb
			out = append(out, Signature{Offset: at, What: fmt.Sprintf("md %s superblock of array %s (%s)", sb.Metadata, name, sb.Role), Volume: v.what, FoundBy: "raidswap", MD: &sb})
		}
		for _, m := range magics {
			at := v.start + m.off
			if m.off+int64(len(m.val)) > v.size || seen[at] {
				continue
			}
			b := make([]byte, len(m.val))
			if _, err := d.ReadAt(b, at); err != nil {
				return nil, nil, fmt.Errorf("%s: reading byte %d: %w", d.Path(), at, err)
			}
			if bytes.Equal(b, m.val) {
				seen[at] = true
				out = append(out, Signature{Offset: at, What: m.name, Volume: v.what, FoundBy: "raidswap"})
			}
		}
	}
	return out, vols, nil
}
