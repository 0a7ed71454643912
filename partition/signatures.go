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
}

func (s Signature) String() string { return fmt.Sprintf("%s at byte %d", s.What, s.Offset) }

// magic is a file system (or volume) signature: bytes at an offset from the start of a
// volume. The list covers what a disk that served elsewhere usually carries.
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
}

// FindSignatures looks for data on a disk that a new table would destroy or expose: a
// partition table (for either sector size), md superblocks at the 0.90/1.0/1.1/1.2 places of
// the whole disk, of every partition of an old table, and of every partition of the planned
// layout, and file system signatures at the start of each of those.
func FindSignatures(d Device, lay *Layout) ([]Signature, error) {
	g := d.Geometry()
	var out []Signature
	old, err := ReadFrom(d, g)
	switch {
	case err == nil:
		out = append(out, Signature{0, fmt.Sprintf("%s partition table with %d partitions", old.Scheme, len(old.Partitions))})
	case errors.Is(err, ErrNoTable):
		for _, l := range []int64{512, 4096} {
			if hasGPTSignature(d, l) {
				out = append(out, Signature{l, fmt.Sprintf("GPT header for %d-byte sectors", l)})
			}
		}
	default:
		out = append(out, Signature{0, fmt.Sprintf("damaged partition table (%v)", err)})
	}
	type volume struct {
		start, size int64
		what        string
	}
	vols := []volume{{0, g.Size, "the disk"}}
	for _, p := range old.Partitions {
		if p.IsData() {
			vols = append(vols, volume{p.Start, p.Size, fmt.Sprintf("old partition %d", p.Number)})
		}
	}
	if lay != nil {
		for _, p := range lay.Partitions {
			if p.IsData() {
				vols = append(vols, volume{p.Start, p.Size, fmt.Sprintf("new partition %d", p.Number)})
			}
		}
	}
	seen := map[int64]bool{}
	for _, v := range vols {
		if v.start+v.size > g.Size {
			continue
		}
		r := io.NewSectionReader(d, v.start, v.size)
		sbs, err := FindSuperblocks(r, v.size)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.Path(), err)
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
			out = append(out, Signature{at, fmt.Sprintf("md %s superblock of array %s (%s) on %s", sb.Metadata, name, sb.Role, v.what)})
		}
		for _, m := range magics {
			at := v.start + m.off
			if m.off+int64(len(m.val)) > v.size || seen[at] {
				continue
			}
			b := make([]byte, len(m.val))
			if _, err := d.ReadAt(b, at); err != nil {
				return nil, fmt.Errorf("%s: reading byte %d: %w", d.Path(), at, err)
			}
			if bytes.Equal(b, m.val) {
				seen[at] = true
				out = append(out, Signature{v.start, fmt.Sprintf("%s on %s", m.name, v.what)})
			}
		}
	}
	return out, nil
}
