package partition

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// md superblock reading. raidswap needs three numbers from a member's superblock to size
// the partition that replaces it: where the data starts, how much of it the array uses, and
// where the superblock sits. Reading them from the partition itself (rather than from
// `mdadm --examine`) lets the size rule run against image files and captures.

const (
	mdMagic         = 0xa92b4efc
	md1SBBytes      = 4096 // what the kernel reads; the used part is 256 + 2*max_dev
	md090SBBytes    = 4096
	md090Reserved   = 64 << 10
	md1MaxDev       = (4096 - 256) / 2
	mdRoleSpare     = 0xffff
	mdRoleFaulty    = 0xfffe
	mdRoleJournal   = 0xfffd
	md090DescOffset = 992 * 4
)

// Superblock is what raidswap reads from an md member's superblock.
type Superblock struct {
	// Metadata is "0.90", "1.0", "1.1" or "1.2".
	Metadata string `json:"metadata"`
	// Offset is the superblock's byte offset from the start of the member device.
	Offset    int64  `json:"super_offset_bytes"`
	ArrayUUID string `json:"array_uuid"`
	// Name is the array name ("host:0"); 0.90 superblocks have none.
	Name      string `json:"name,omitempty"`
	Level     int32  `json:"level"`
	RaidDisks int    `json:"raid_disks"`
	// DataOffset is where the member's data starts, in bytes from the device start.
	DataOffset int64 `json:"data_offset_bytes"`
	// DataSize is the room for data on this member, in bytes.
	DataSize int64 `json:"data_size_bytes"`
	// ComponentSize is how much of each member the array uses, in bytes.
	ComponentSize int64 `json:"component_size_bytes"`
	// Role is "active N", "spare", "faulty" or "journal".
	Role   string `json:"role"`
	Events uint64 `json:"events"`
	// DeviceSize is the size of the member device the superblock was read from.
	DeviceSize int64 `json:"device_size_bytes"`
}

// Need is the smallest device, in bytes, on which a member of this array fits with the same
// metadata layout. For 1.1/1.2 that is the data offset plus the component size. For 1.0 the
// bitmap, bad-block log and superblock sit after the data, so the member's own tail is kept
// and only unused data space (in whole 4 KiB, the unit the superblock position rounds to) is
// given up. For 0.90 the superblock sits in the last 64 KiB-aligned 64 KiB.
func (s Superblock) Need() int64 {
	switch s.Metadata {
	case "1.1", "1.2":
		return s.DataOffset + s.ComponentSize
	case "1.0":
		slack := s.DataSize - s.ComponentSize
		if slack < 0 {
			slack = 0
		}
		return s.DeviceSize - alignDown(slack, 4096)
	case "0.90":
		return alignUp(s.ComponentSize, md090Reserved) + md090Reserved
	}
	return s.DeviceSize
}

// md1Offset is where a 1.x superblock of the given minor version sits on a device of size
// bytes, as the kernel computes it.
func md1Offset(minor int, size int64) int64 {
	switch minor {
	case 0:
		sectors := size / 512
		return ((sectors - 16) &^ 7) * 512
	case 1:
		return 0
	default:
		return 4096
	}
}

// md090Offset is where a 0.90 superblock sits on a device of size bytes.
func md090Offset(size int64) int64 {
	return alignDown(size, md090Reserved) - md090Reserved
}

// mdSuperblockOffsets lists every place an md superblock can sit on a device of size bytes,
// for wiping.
func mdSuperblockOffsets(size int64) []int64 {
	var out []int64
	for _, off := range []int64{md090Offset(size), md1Offset(0, size), md1Offset(1, size), md1Offset(2, size)} {
		if off >= 0 && off+4096 <= size {
			out = append(out, off)
		}
	}
	return out
}

// FindSuperblocks returns every valid md superblock on a device of size bytes read through r
// (for a partition, an io.SectionReader over it). Most members have exactly one; a member
// re-created with other metadata can carry a stale one too.
func FindSuperblocks(r io.ReaderAt, size int64) ([]Superblock, error) {
	var out []Superblock
	buf := make([]byte, 4096)
	read := func(off int64) (bool, error) {
		if off < 0 || off+4096 > size {
			return false, nil
		}
		if _, err := r.ReadAt(buf, off); err != nil {
			return false, fmt.Errorf("reading md superblock at byte %d: %w", off, err)
		}
		return binary.LittleEndian.Uint32(buf) == mdMagic, nil
	}
	for _, minor := range []int{0, 1, 2} {
		off := md1Offset(minor, size)
		ok, err := read(off)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if sb, err := parseMD1(buf, minor, off, size); err == nil {
			out = append(out, sb)
		}
	}
	off := md090Offset(size)
	ok, err := read(off)
	if err != nil {
		return nil, err
	}
	if ok {
		if sb, err := parseMD090(buf, off, size); err == nil {
			out = append(out, sb)
		}
	}
	return out, nil
}

// parseMD1 decodes a version-1 superblock found at off on a device of size bytes.
func parseMD1(b []byte, minor int, off, size int64) (Superblock, error) {
	le32 := func(o int) uint32 { return binary.LittleEndian.Uint32(b[o:]) }
	le64 := func(o int) uint64 { return binary.LittleEndian.Uint64(b[o:]) }
	if le32(0) != mdMagic || le32(4) != 1 {
		return Superblock{}, fmt.Errorf("no md 1.x magic")
	}
	maxDev := int(le32(220))
	if maxDev > md1MaxDev {
		return Superblock{}, fmt.Errorf("md superblock max_dev %d out of range", maxDev)
	}
	n := 256 + 2*maxDev
	var sum uint64
	for i := 0; i+4 <= n; i += 4 {
		if i == 216 {
			continue // sb_csum
		}
		sum += uint64(le32(i))
	}
	if n%4 == 2 {
		sum += uint64(binary.LittleEndian.Uint16(b[n-2:]))
	}
	csum := uint32(sum&0xffffffff) + uint32(sum>>32)
	if csum != le32(216) {
		return Superblock{}, fmt.Errorf("md superblock checksum %#x, stored %#x", csum, le32(216))
	}
	if int64(le64(144))*512 != off {
		return Superblock{}, fmt.Errorf("md superblock at byte %d says it is at sector %d", off, le64(144))
	}
	sb := Superblock{
		Metadata:      fmt.Sprintf("1.%d", minor),
		Offset:        off,
		ArrayUUID:     md1UUID(b[16:32]),
		Name:          strings.TrimRight(string(b[32:64]), "\x00"),
		Level:         int32(le32(72)),
		RaidDisks:     int(le32(92)),
		ComponentSize: int64(le64(80)) * 512,
		DataOffset:    int64(le64(128)) * 512,
		DataSize:      int64(le64(136)) * 512,
		Events:        le64(200),
		DeviceSize:    size,
	}
	if sb.DataOffset < 0 || sb.DataSize < 0 || sb.ComponentSize < 0 || sb.DataOffset+sb.DataSize > size {
		return Superblock{}, fmt.Errorf("md superblock data area %d+%d exceeds the device's %d bytes", sb.DataOffset, sb.DataSize, size)
	}
	dev := int(le32(160))
	sb.Role = "spare"
	if dev < maxDev {
		switch role := binary.LittleEndian.Uint16(b[256+2*dev:]); role {
		case mdRoleSpare:
			sb.Role = "spare"
		case mdRoleFaulty:
			sb.Role = "faulty"
		case mdRoleJournal:
			sb.Role = "journal"
		default:
			sb.Role = fmt.Sprintf("active %d", role)
		}
	}
	return sb, nil
}

// md1UUID formats a 1.x array UUID the way mdadm prints it.
func md1UUID(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + ":" + h[8:16] + ":" + h[16:24] + ":" + h[24:32]
}

// parseMD090 decodes a 0.90 superblock (host-endian; raidswap runs on little-endian hosts).
func parseMD090(b []byte, off, size int64) (Superblock, error) {
	w := func(i int) uint32 { return binary.LittleEndian.Uint32(b[i*4:]) }
	if w(0) != mdMagic || w(1) != 0 || w(2) != 90 {
		return Superblock{}, fmt.Errorf("no md 0.90 magic")
	}
	var sum uint64
	for i := 0; i < md090SBBytes/4; i++ {
		if i == 38 {
			continue // sb_csum
		}
		sum += uint64(w(i))
	}
	csum := uint32(sum&0xffffffff) + uint32(sum>>32)
	if csum != w(38) {
		return Superblock{}, fmt.Errorf("md 0.90 superblock checksum %#x, stored %#x", csum, w(38))
	}
	sb := Superblock{
		Metadata:      "0.90",
		Offset:        off,
		ArrayUUID:     fmt.Sprintf("%08x:%08x:%08x:%08x", w(5), w(13), w(14), w(15)),
		Level:         int32(w(7)),
		RaidDisks:     int(w(10)),
		ComponentSize: int64(w(8)) * 1024,
		DataOffset:    0,
		DataSize:      off,
		Events:        uint64(w(40))<<32 | uint64(w(39)), // events_lo, events_hi on little-endian
		DeviceSize:    size,
	}
	if sb.ComponentSize > off {
		return Superblock{}, fmt.Errorf("md 0.90 component size %d exceeds the data area of %d bytes", sb.ComponentSize, off)
	}
	state := w(992 + 4)
	raidDisk := w(992 + 3)
	switch {
	case state&1 != 0:
		sb.Role = "faulty"
	case state&6 != 0:
		sb.Role = fmt.Sprintf("active %d", raidDisk)
	default:
		sb.Role = "spare"
	}
	return sb, nil
}

// MemberNeed is what one md member on the source disk requires of its partition on the
// target.
type MemberNeed struct {
	// Partition is the source partition number holding the member.
	Partition  int        `json:"partition"`
	Superblock Superblock `json:"superblock"`
	// Need is the smallest partition, in bytes, that can hold this member (Superblock.Need).
	Need int64 `json:"need_bytes"`
}

// ReadMemberNeeds reads the md superblock of every data partition of t on r. A partition
// without a superblock has no entry; one with several (a stale one next to the live one)
// takes the largest need, so the stale one cannot make the partition too small.
func ReadMemberNeeds(r io.ReaderAt, t Table) ([]MemberNeed, error) {
	var out []MemberNeed
	for _, p := range t.Partitions {
		if !p.IsData() {
			continue
		}
		sbs, err := FindSuperblocks(io.NewSectionReader(r, p.Start, p.Size), p.Size)
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", p.Number, err)
		}
		if len(sbs) == 0 {
			continue
		}
		best := sbs[0]
		for _, sb := range sbs[1:] {
			if sb.Need() > best.Need() {
				best = sb
			}
		}
		out = append(out, MemberNeed{Partition: p.Number, Superblock: best, Need: best.Need()})
	}
	return out, nil
}
