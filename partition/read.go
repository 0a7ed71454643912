package partition

import (
	"errors"
	"fmt"
	"io"
)

// Read reads the partition table of a disk.
func Read(d Device) (Table, error) {
	t, err := ReadFrom(d, d.Geometry())
	if err != nil {
		return t, fmt.Errorf("%s: %w", d.Path(), err)
	}
	return t, nil
}

// ReadFrom reads a partition table from r, a disk of geometry g. It returns ErrNoTable when
// sector 0 holds neither an MBR nor a protective MBR and no GPT header follows it.
func ReadFrom(r io.ReaderAt, g Geometry) (Table, error) {
	if err := g.validate(); err != nil {
		return Table{}, err
	}
	l := g.LogicalSectorSize
	s0 := make([]byte, l)
	if _, err := r.ReadAt(s0, 0); err != nil {
		return Table{}, fmt.Errorf("reading sector 0: %w", err)
	}
	es, mbrErr := parseMBRSector(s0)
	protective, others := false, 0
	if mbrErr == nil {
		for _, e := range es {
			switch {
			case e.typ == mbrTypeProtective:
				protective = true
			case !e.empty():
				others++
			}
		}
	}
	switch {
	case protective:
		t, err := readGPT(r, g)
		if err != nil {
			return t, sectorSizeHint(r, g, err)
		}
		if others > 0 {
			t.Warnings = append(t.Warnings, fmt.Sprintf("hybrid MBR: %d MBR entries besides the protective one are not cloned", others))
		}
		return t, nil
	case mbrErr == nil && others > 0:
		if fs := wholeDiskFS(s0, es); fs != "" {
			return Table{}, &WholeDiskFSError{FS: fs}
		}
		if hasGPTSignature(r, int64(l)) {
			return Table{}, errors.New("sector 0 holds a DOS table but LBA 1 holds a GPT header: ambiguous, refusing to guess")
		}
		return readMBR(r, g, s0)
	case hasGPTSignature(r, int64(l)):
		t, err := readGPT(r, g)
		if err != nil {
			return t, err
		}
		t.Warnings = append(t.Warnings, "GPT without a protective MBR")
		return t, nil
	case mbrErr == nil:
		// A DOS label without partitions.
		return readMBR(r, g, s0)
	default:
		return Table{}, sectorSizeHint(r, g, ErrNoTable)
	}
}

// sectorSizeHint adds a hint when the GPT header sits where another logical sector size
// would put it: an image read with the wrong --from-sector-size, or a disk moved between a
// 512e and a 4Kn enclosure.
func sectorSizeHint(r io.ReaderAt, g Geometry, err error) error {
	for _, other := range []int{512, 4096} {
		if other == g.LogicalSectorSize {
			continue
		}
		if hasGPTSignature(r, int64(other)) {
			return fmt.Errorf("%w (a GPT header sits where %d-byte sectors would put it, but the disk has %d-byte sectors)", err, other, g.LogicalSectorSize)
		}
	}
	return err
}

// WholeDiskFSError is a disk whose sector 0 is the boot sector of a file system that spans
// the disk (a "superfloppy"), not a partition table; errors.Is(err, ErrNoTable) holds.
type WholeDiskFSError struct{ FS string }

func (e *WholeDiskFSError) Error() string {
	return fmt.Sprintf("%v: sector 0 is the boot sector of a %s file system on the whole disk", ErrNoTable, e.FS)
}

func (e *WholeDiskFSError) Unwrap() error { return ErrNoTable }

// wholeDiskFS names the file system whose boot sector s0 is, when s0 only looks like an MBR:
// it carries a boot sector's signature and an entry starting at LBA 0, which a partition
// table never has (the table itself is there). mkfs.fat --mbr writes such an entry.
func wholeDiskFS(s0 []byte, es [4]mbrEntry) string {
	at0 := false
	for _, e := range es {
		if !e.empty() && e.start == 0 {
			at0 = true
		}
	}
	if !at0 || (s0[0] != 0xeb && s0[0] != 0xe9) {
		return ""
	}
	switch {
	case string(s0[0x52:0x5a]) == "FAT32   ":
		return "FAT32"
	case string(s0[0x36:0x3a]) == "FAT1":
		return "FAT"
	case string(s0[3:11]) == "NTFS    ":
		return "NTFS"
	case string(s0[3:11]) == "EXFAT   ":
		return "exFAT"
	}
	return ""
}
