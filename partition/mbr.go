package partition

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	mbrEntriesOffset  = 446
	mbrEntrySize      = 16
	mbrSignatureOff   = 510
	mbrDiskSigOffset  = 440
	mbrMaxLogicals    = 256
	mbrMaxLBA         = 0xFFFFFFFF
	mbrTypeExtCHS     = 0x05
	mbrTypeExtLBA     = 0x0f
	mbrTypeExtLinux   = 0x85
	mbrFirstLogicalNo = 5
)

// mbrEntry is one 16-byte entry of an MBR or EBR, with LBAs as stored.
type mbrEntry struct {
	status byte
	typ    byte
	start  uint32
	size   uint32
}

func (e mbrEntry) empty() bool { return e.typ == 0 || e.size == 0 }

func isExtendedType(t byte) bool {
	return t == mbrTypeExtCHS || t == mbrTypeExtLBA || t == mbrTypeExtLinux
}

// parseMBRSector decodes the four entries of an MBR or EBR sector. It fails when the sector
// lacks the 0x55AA signature or an entry has a status byte other than 0x00/0x80 (a
// file system boot sector, not a partition table).
func parseMBRSector(b []byte) ([4]mbrEntry, error) {
	var es [4]mbrEntry
	if len(b) < 512 || b[mbrSignatureOff] != 0x55 || b[mbrSignatureOff+1] != 0xaa {
		return es, errors.New("no 0x55AA signature")
	}
	for i := range es {
		e := b[mbrEntriesOffset+i*mbrEntrySize:]
		es[i] = mbrEntry{
			status: e[0],
			typ:    e[4],
			start:  binary.LittleEndian.Uint32(e[8:12]),
			size:   binary.LittleEndian.Uint32(e[12:16]),
		}
		if e[0] != 0 && e[0] != 0x80 {
			return es, fmt.Errorf("entry %d has status byte %#02x", i+1, e[0])
		}
	}
	return es, nil
}

// readMBR reads a DOS table, following the EBR chain of an extended partition.
func readMBR(r io.ReaderAt, g Geometry, sector0 []byte) (Table, error) {
	t := Table{Scheme: MBR, Geometry: g}
	es, err := parseMBRSector(sector0)
	if err != nil {
		return t, fmt.Errorf("reading MBR: %w", err)
	}
	t.DiskSignature = binary.LittleEndian.Uint32(sector0[mbrDiskSigOffset:])
	l := int64(g.LogicalSectorSize)
	total := g.Sectors()
	var ext *Partition
	for i, e := range es {
		if e.empty() {
			continue
		}
		p := Partition{
			Number: i + 1, Kind: KindPrimary, Type: e.typ, Bootable: e.status == 0x80,
			Start: int64(e.start) * l, Size: int64(e.size) * l,
		}
		if e.start == 0 || int64(e.start)+int64(e.size) > total {
			return t, fmt.Errorf("reading MBR: partition %d (LBA %d, %d sectors) does not fit the disk's %d sectors", i+1, e.start, e.size, total)
		}
		if isExtendedType(e.typ) {
			if ext != nil {
				return t, fmt.Errorf("reading MBR: partitions %d and %d are both extended", ext.Number, i+1)
			}
			p.Kind = KindExtended
			ext = &p
		}
		t.Partitions = append(t.Partitions, p)
	}
	if ext != nil {
		logicals, err := readEBRChain(r, *ext, l)
		if err != nil {
			return t, fmt.Errorf("reading MBR: %w", err)
		}
		t.Partitions = append(t.Partitions, logicals...)
	}
	if err := checkOverlaps(t.Partitions); err != nil {
		return t, fmt.Errorf("reading MBR: %w", err)
	}
	if ext != nil {
		for _, p := range t.Partitions {
			if p.Kind == KindPrimary && p.Start < ext.End() && ext.Start < p.End() {
				return t, fmt.Errorf("reading MBR: primary partition %d overlaps extended partition %d", p.Number, ext.Number)
			}
		}
	}
	t.sortPartitions()
	return t, nil
}

// readEBRChain walks the logical partitions of ext the way the kernel does: each EBR's data
// entries become the next partition numbers, its first extended entry links to the next EBR
// relative to the start of ext.
func readEBRChain(r io.ReaderAt, ext Partition, l int64) ([]Partition, error) {
	var out []Partition
	extLBA := ext.Start / l
	extEnd := ext.End() / l
	seen := map[int64]bool{}
	cur := extLBA
	b := make([]byte, l)
	for n := 0; ; n++ {
		if n >= mbrMaxLogicals {
			return nil, fmt.Errorf("EBR chain is longer than %d links", mbrMaxLogicals)
		}
		if cur < extLBA || cur >= extEnd {
			return nil, fmt.Errorf("EBR at LBA %d lies outside extended partition %d (LBA %d–%d)", cur, ext.Number, extLBA, extEnd-1)
		}
		if seen[cur] {
			return nil, fmt.Errorf("EBR chain loops back to LBA %d", cur)
		}
		seen[cur] = true
		if _, err := r.ReadAt(b, cur*l); err != nil {
			return nil, fmt.Errorf("reading EBR at LBA %d: %w", cur, err)
		}
		es, err := parseMBRSector(b)
		if err != nil {
			if n == 0 && isZero(b) {
				// An extended partition with no logical partitions yet.
				return out, nil
			}
			return nil, fmt.Errorf("EBR at LBA %d: %w", cur, err)
		}
		next := int64(-1)
		for _, e := range es {
			if e.empty() {
				continue
			}
			if isExtendedType(e.typ) {
				if next < 0 {
					next = extLBA + int64(e.start)
				}
				continue
			}
			start := cur + int64(e.start)
			if e.start == 0 || start+int64(e.size) > extEnd {
				return nil, fmt.Errorf("logical partition in EBR at LBA %d (LBA %d, %d sectors) lies outside extended partition %d", cur, start, e.size, ext.Number)
			}
			out = append(out, Partition{
				Number: mbrFirstLogicalNo + len(out), Kind: KindLogical, Type: e.typ, Bootable: e.status == 0x80,
				Start: start * l, Size: int64(e.size) * l, EBR: cur * l,
			})
		}
		if next < 0 {
			return out, nil
		}
		cur = next
	}
}

// encodeMBREntry writes one entry with CHS fields computed the way fdisk does for LBA disks.
func encodeMBREntry(b []byte, bootable bool, typ byte, startLBA, sizeLBA uint32, absStart, absEnd int64) {
	if bootable {
		b[0] = 0x80
	} else {
		b[0] = 0
	}
	copy(b[1:4], chs(absStart))
	b[4] = typ
	copy(b[5:8], chs(absEnd))
	binary.LittleEndian.PutUint32(b[8:12], startLBA)
	binary.LittleEndian.PutUint32(b[12:16], sizeLBA)
}

// chs is the CHS triple of an LBA in the 255-head, 63-sector translation, saturated at
// cylinder 1023 as fdisk and sfdisk write it.
func chs(lba int64) []byte {
	const heads, sectors = 255, 63
	c := lba / (heads * sectors)
	if c > 1023 {
		return []byte{254, 255, 255}
	}
	h := (lba / sectors) % heads
	s := lba%sectors + 1
	return []byte{byte(h), byte(s) | byte((c>>2)&0xc0), byte(c)}
}
