package partition

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"time"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"
)

// region is a byte range of the disk, with what it is for the reports.
type region struct {
	Off  int64  `json:"offset_bytes"`
	Len  int64  `json:"length_bytes"`
	What string `json:"what"`
}

// extent is a region with the bytes to write there.
type extent struct {
	region
	data []byte
}

// encode renders a validated layout into the sectors that make up its table, in the order
// they are written: for GPT the backup entries and header, then the primary entries and
// header, then the protective MBR; for DOS the EBRs, then the MBR. The table becomes visible
// to a reader only with the last sector written.
//
// go-diskfs renders the GPT and the four MBR entries. It is handed a fresh table with every
// identifier and the target's geometry set (a table from its Read keeps the source's
// geometry), and writes into memory; the result is then parsed back with this package's own
// reader and compared with the layout before anything reaches the disk.
func encode(lay Layout) ([]extent, error) {
	var exts []extent
	var err error
	switch lay.Scheme {
	case GPT:
		exts, err = encodeGPT(lay)
	case MBR:
		exts, err = encodeMBR(lay)
	default:
		err = fmt.Errorf("unknown scheme %q", lay.Scheme)
	}
	if err != nil {
		return nil, err
	}
	img := newMemDisk(lay.Geometry.Size)
	for _, e := range exts {
		if _, err := img.WriteAt(e.data, e.Off); err != nil {
			return nil, err
		}
	}
	got, err := ReadFrom(img, lay.Geometry)
	if err != nil {
		return nil, fmt.Errorf("the rendered table does not read back: %w", err)
	}
	if probs := compareTables(lay.Table, got); len(probs) > 0 {
		return nil, fmt.Errorf("the rendered table differs from the layout: %s", probs[0])
	}
	return exts, nil
}

func encodeGPT(lay Layout) ([]extent, error) {
	l := int64(lay.Geometry.LogicalSectorSize)
	t := &gpt.Table{
		LogicalSectorSize:  lay.Geometry.LogicalSectorSize,
		PhysicalSectorSize: lay.Geometry.PhysicalSectorSize,
		GUID:               lay.DiskGUID,
		// go-diskfs's protective MBR wraps its 32-bit size on disks over 2 TiB; ours clamps.
		ProtectiveMBR: false,
	}
	for _, p := range lay.Partitions {
		t.Partitions = append(t.Partitions, &gpt.Partition{
			Index:      p.Number,
			Start:      uint64(p.Start / l),
			End:        uint64(p.End()/l - 1),
			Type:       gpt.Type(p.TypeGUID),
			Name:       p.Name,
			GUID:       p.GUID,
			Attributes: p.Attributes,
		})
	}
	img := newMemDisk(lay.Geometry.Size)
	if err := t.Write(img, lay.Geometry.Size); err != nil {
		return nil, fmt.Errorf("rendering GPT: %w", err)
	}
	if len(img.writes) != 4 {
		return nil, fmt.Errorf("rendering GPT: go-diskfs wrote %d regions, expected 4", len(img.writes))
	}
	names := []string{"backup GPT entries", "backup GPT header", "primary GPT entries", "primary GPT header"}
	exts := make([]extent, 0, 5)
	for i, w := range img.writes {
		w.What = names[i]
		exts = append(exts, w)
	}
	return append(exts, protectiveMBR(lay.Geometry)), nil
}

// protectiveMBR is sector 0 of a GPT disk: one 0xEE entry from LBA 1 to the end of the disk,
// its size clamped to 0xFFFFFFFF when the disk has more sectors than 32 bits count.
func protectiveMBR(g Geometry) extent {
	b := make([]byte, g.LogicalSectorSize)
	last := g.Sectors() - 1
	size := min(last, mbrMaxLBA)
	e := b[mbrEntriesOffset:]
	copy(e[1:4], []byte{0x00, 0x02, 0x00})
	e[4] = mbrTypeProtective
	copy(e[5:8], chs(last))
	binary.LittleEndian.PutUint32(e[8:12], 1)
	binary.LittleEndian.PutUint32(e[12:16], uint32(size))
	b[mbrSignatureOff], b[mbrSignatureOff+1] = 0x55, 0xaa
	return extent{region{0, int64(len(b)), "protective MBR"}, b}
}

func encodeMBR(lay Layout) ([]extent, error) {
	g := lay.Geometry
	l := int64(g.LogicalSectorSize)
	t := &mbr.Table{LogicalSectorSize: g.LogicalSectorSize, PhysicalSectorSize: g.PhysicalSectorSize}
	t.Partitions = make([]*mbr.Partition, 4)
	for i := range t.Partitions {
		t.Partitions[i] = &mbr.Partition{Index: i + 1}
	}
	var exts []extent
	var ext Partition
	for _, p := range lay.Partitions {
		switch p.Kind {
		case KindPrimary, KindExtended:
			s, e := chs(p.Start/l), chs(p.End()/l-1)
			t.Partitions[p.Number-1] = &mbr.Partition{
				Index: p.Number, Bootable: p.Bootable, Type: mbr.Type(p.Type),
				Start: uint32(p.Start / l), Size: uint32(p.Size / l),
				StartHead: s[0], StartSector: s[1], StartCylinder: s[2],
				EndHead: e[0], EndSector: e[1], EndCylinder: e[2],
			}
			if p.Kind == KindExtended {
				ext = p
			}
		}
	}
	logicals := lay.Logicals()
	sort.Slice(logicals, func(i, j int) bool { return logicals[i].Number < logicals[j].Number })
	for i, p := range logicals {
		b := make([]byte, l)
		encodeMBREntry(b[mbrEntriesOffset:], p.Bootable, p.Type, uint32((p.Start-p.EBR)/l), uint32(p.Size/l), p.Start/l, p.End()/l-1)
		if i+1 < len(logicals) {
			n := logicals[i+1]
			encodeMBREntry(b[mbrEntriesOffset+mbrEntrySize:], false, mbrTypeExtCHS, uint32((n.EBR-ext.Start)/l), uint32((n.End()-n.EBR)/l), n.EBR/l, n.End()/l-1)
		}
		b[mbrSignatureOff], b[mbrSignatureOff+1] = 0x55, 0xaa
		exts = append(exts, extent{region{p.EBR, l, fmt.Sprintf("EBR of partition %d", p.Number)}, b})
	}
	if ext.Size > 0 && len(logicals) == 0 {
		// An empty extended partition: a zeroed first EBR ends the chain.
		exts = append(exts, extent{region{ext.Start, l, fmt.Sprintf("empty EBR of partition %d", ext.Number)}, make([]byte, l)})
	}
	img := newMemDisk(g.Size)
	if err := t.Write(img, g.Size); err != nil {
		return nil, fmt.Errorf("rendering MBR: %w", err)
	}
	s0 := make([]byte, l)
	if _, err := img.ReadAt(s0, 0); err != nil {
		return nil, err
	}
	binary.LittleEndian.PutUint32(s0[mbrDiskSigOffset:], lay.DiskSignature)
	return append(exts, extent{region{0, l, "MBR"}, s0}), nil
}

// memDisk is an in-memory, sparse disk that records the writes made to it: go-diskfs renders
// into it, and the recorded writes are what raidswap puts on the real disk.
type memDisk struct {
	size   int64
	writes []extent
	pos    int64
}

var _ interface {
	fs.File
	io.ReaderAt
	io.WriterAt
	io.Seeker
} = (*memDisk)(nil)

func newMemDisk(size int64) *memDisk { return &memDisk{size: size} }

func (m *memDisk) WriteAt(b []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(b)) > m.size {
		return 0, fmt.Errorf("write of %d bytes at %d is beyond the %d-byte disk", len(b), off, m.size)
	}
	m.writes = append(m.writes, extent{region{off, int64(len(b)), ""}, append([]byte(nil), b...)})
	return len(b), nil
}

func (m *memDisk) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 || off >= m.size {
		return 0, io.EOF
	}
	n := len(b)
	if rest := m.size - off; int64(n) > rest {
		n = int(rest)
	}
	clear(b[:n])
	for _, w := range m.writes {
		lo, hi := max(off, w.Off), min(off+int64(n), w.Off+w.Len)
		if lo < hi {
			copy(b[lo-off:hi-off], w.data[lo-w.Off:hi-w.Off])
		}
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memDisk) Read(b []byte) (int, error) {
	n, err := m.ReadAt(b, m.pos)
	m.pos += int64(n)
	return n, err
}

func (m *memDisk) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += m.pos
	case io.SeekEnd:
		off += m.size
	}
	if off < 0 {
		return 0, errors.New("negative seek")
	}
	m.pos = off
	return off, nil
}

func (m *memDisk) Stat() (fs.FileInfo, error) { return sizedInfo{"memdisk", m.size}, nil }
func (m *memDisk) Close() error               { return nil }

// sizedInfo is the little fs.FileInfo go-diskfs asks of a file.
type sizedInfo struct {
	name string
	size int64
}

func (s sizedInfo) Name() string       { return s.name }
func (s sizedInfo) Size() int64        { return s.size }
func (s sizedInfo) Mode() fs.FileMode  { return 0o600 }
func (s sizedInfo) ModTime() time.Time { return time.Time{} }
func (s sizedInfo) IsDir() bool        { return false }
func (s sizedInfo) Sys() any           { return nil }

// deviceFile adapts a Device to the file interface go-diskfs reads through, for the
// independent read-back in Verify.
type deviceFile struct {
	d   Device
	pos int64
}

func (f *deviceFile) ReadAt(b []byte, off int64) (int, error) { return f.d.ReadAt(b, off) }
func (f *deviceFile) Read(b []byte) (int, error) {
	n, err := f.d.ReadAt(b, f.pos)
	f.pos += int64(n)
	return n, err
}
func (f *deviceFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += f.pos
	case io.SeekEnd:
		off += f.d.Geometry().Size
	}
	f.pos = off
	return off, nil
}
func (f *deviceFile) Stat() (fs.FileInfo, error) {
	return sizedInfo{f.d.Path(), f.d.Geometry().Size}, nil
}
func (f *deviceFile) Close() error { return nil }
