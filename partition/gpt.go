package partition

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"strings"
	"unicode/utf16"
)

const (
	gptSignature      = "EFI PART"
	gptRevision       = 0x00010000
	gptHeaderSize     = 92
	gptEntrySize      = 128
	gptEntryCount     = 128 // what raidswap writes (go-diskfs's fixed array size)
	gptMaxArrayBytes  = 4 << 20
	gptNameUnits      = 36
	mbrTypeProtective = 0xee
)

// gptHeader is a parsed GPT header.
type gptHeader struct {
	myLBA, altLBA           int64
	firstUsable, lastUsable int64
	entriesLBA              int64
	entryCount, entrySize   int
	entriesCRC              uint32
	diskGUID                string
}

func (h gptHeader) arraySectors(l int) int64 {
	return (int64(h.entryCount)*int64(h.entrySize) + int64(l) - 1) / int64(l)
}

// parseGPTHeader checks and decodes the header sector b, found at lba on a disk of total
// logical sectors.
func parseGPTHeader(b []byte, lba, total int64, l int) (gptHeader, error) {
	var h gptHeader
	if len(b) < gptHeaderSize || string(b[0:8]) != gptSignature {
		return h, errors.New("no GPT signature")
	}
	if rev := binary.LittleEndian.Uint32(b[8:12]); rev != gptRevision {
		return h, fmt.Errorf("GPT revision %#x is not 1.0", rev)
	}
	hs := int(binary.LittleEndian.Uint32(b[12:16]))
	if hs < gptHeaderSize || hs > len(b) {
		return h, fmt.Errorf("GPT header size %d is out of range", hs)
	}
	want := binary.LittleEndian.Uint32(b[16:20])
	c := make([]byte, hs)
	copy(c, b[:hs])
	copy(c[16:20], []byte{0, 0, 0, 0})
	if got := crc32.ChecksumIEEE(c); got != want {
		return h, fmt.Errorf("GPT header CRC is %#08x, header says %#08x", got, want)
	}
	u64 := func(off int) (int64, error) {
		v := binary.LittleEndian.Uint64(b[off : off+8])
		if v >= uint64(total) {
			return 0, fmt.Errorf("GPT header field at byte %d (%d) is beyond the disk's %d sectors", off, v, total)
		}
		return int64(v), nil
	}
	var err error
	if h.myLBA, err = u64(24); err != nil {
		return h, err
	}
	if h.myLBA != lba {
		return h, fmt.Errorf("GPT header at LBA %d says it is at LBA %d", lba, h.myLBA)
	}
	if h.altLBA, err = u64(32); err != nil {
		return h, err
	}
	if h.firstUsable, err = u64(40); err != nil {
		return h, err
	}
	if h.lastUsable, err = u64(48); err != nil {
		return h, err
	}
	if h.firstUsable > h.lastUsable+1 {
		return h, fmt.Errorf("GPT usable range %d–%d is empty", h.firstUsable, h.lastUsable)
	}
	h.diskGUID = guidString(b[56:72])
	if h.entriesLBA, err = u64(72); err != nil {
		return h, err
	}
	h.entryCount = int(binary.LittleEndian.Uint32(b[80:84]))
	h.entrySize = int(binary.LittleEndian.Uint32(b[84:88]))
	h.entriesCRC = binary.LittleEndian.Uint32(b[88:92])
	if h.entrySize < gptEntrySize || h.entrySize%gptEntrySize != 0 || h.entrySize&(h.entrySize-1) != 0 {
		return h, fmt.Errorf("GPT entry size %d is not a power of two ≥ 128", h.entrySize)
	}
	if h.entryCount < 1 || int64(h.entryCount)*int64(h.entrySize) > gptMaxArrayBytes {
		return h, fmt.Errorf("GPT entry array of %d × %d bytes is out of range", h.entryCount, h.entrySize)
	}
	if h.entriesLBA+h.arraySectors(l) > total {
		return h, fmt.Errorf("GPT entry array at LBA %d runs past the end of the disk", h.entriesLBA)
	}
	// The array must not sit inside the area it describes.
	if h.entriesLBA+h.arraySectors(l) > h.firstUsable && h.entriesLBA <= h.lastUsable {
		return h, fmt.Errorf("GPT entry array at LBA %d overlaps the usable area %d–%d", h.entriesLBA, h.firstUsable, h.lastUsable)
	}
	return h, nil
}

// readGPTSide reads the header at lba and its entry array.
func readGPTSide(r io.ReaderAt, lba, total int64, l int) (gptHeader, []byte, error) {
	b := make([]byte, l)
	if _, err := r.ReadAt(b, lba*int64(l)); err != nil {
		return gptHeader{}, nil, fmt.Errorf("reading GPT header at LBA %d: %w", lba, err)
	}
	h, err := parseGPTHeader(b, lba, total, l)
	if err != nil {
		return h, nil, err
	}
	arr := make([]byte, h.entryCount*h.entrySize)
	if _, err := r.ReadAt(arr, h.entriesLBA*int64(l)); err != nil {
		return h, nil, fmt.Errorf("reading GPT entries at LBA %d: %w", h.entriesLBA, err)
	}
	if got := crc32.ChecksumIEEE(arr); got != h.entriesCRC {
		return h, nil, fmt.Errorf("GPT entry array CRC is %#08x, header says %#08x", got, h.entriesCRC)
	}
	return h, arr, nil
}

// parseGPTEntries decodes the entry array into partitions and checks them against the
// header's usable range.
func parseGPTEntries(h gptHeader, arr []byte, l int) ([]Partition, []string, error) {
	var parts []Partition
	var warnings []string
	ll := int64(l)
	for i := 0; i < h.entryCount; i++ {
		e := arr[i*h.entrySize : i*h.entrySize+gptEntrySize]
		if isZero(e[0:16]) {
			continue
		}
		first := binary.LittleEndian.Uint64(e[32:40])
		last := binary.LittleEndian.Uint64(e[40:48])
		if first > last || first < uint64(h.firstUsable) || last > uint64(h.lastUsable) {
			return nil, nil, fmt.Errorf("GPT partition %d (LBA %d–%d) lies outside the usable area %d–%d", i+1, first, last, h.firstUsable, h.lastUsable)
		}
		parts = append(parts, Partition{
			Number:     i + 1,
			Kind:       KindGPT,
			Start:      int64(first) * ll,
			Size:       (int64(last) - int64(first) + 1) * ll,
			TypeGUID:   guidString(e[0:16]),
			GUID:       guidString(e[16:32]),
			Attributes: binary.LittleEndian.Uint64(e[48:56]),
			Name:       gptName(e[56:128]),
		})
	}
	if err := checkOverlaps(parts); err != nil {
		return nil, nil, err
	}
	seen := map[string]int{}
	for _, p := range parts {
		if n, ok := seen[p.GUID]; ok {
			warnings = append(warnings, fmt.Sprintf("partitions %d and %d share the GUID %s", n, p.Number, p.GUID))
		}
		seen[p.GUID] = p.Number
	}
	return parts, warnings, nil
}

// readGPT reads a GPT, falling back to the backup header when the primary is damaged.
func readGPT(r io.ReaderAt, g Geometry) (Table, error) {
	l := g.LogicalSectorSize
	total := g.Sectors()
	t := Table{Scheme: GPT, Geometry: g}
	hp, arrP, errP := readGPTSide(r, 1, total, l)
	backupLBA := total - 1
	if errP == nil && hp.altLBA > 1 {
		backupLBA = hp.altLBA
	}
	hb, arrB, errB := readGPTSide(r, backupLBA, total, l)
	if errB != nil && backupLBA != total-1 {
		hb, arrB, errB = readGPTSide(r, total-1, total, l)
	}
	var h gptHeader
	var arr []byte
	pl := &GPTPlacement{HeaderLBA: 1, BackupHeaderLBA: backupLBA}
	switch {
	case errP == nil:
		pl.EntriesLBA, pl.EntryBytes = hp.entriesLBA, hp.entryCount*hp.entrySize
		pl.BackupEntriesLBA = pl.BackupHeaderLBA - hp.arraySectors(l)
		h, arr = hp, arrP
		if errB != nil {
			t.Warnings = append(t.Warnings, fmt.Sprintf("backup GPT is unreadable: %v", errB))
		} else if hb.diskGUID != hp.diskGUID || hb.entriesCRC != hp.entriesCRC || hb.firstUsable != hp.firstUsable || hb.lastUsable != hp.lastUsable {
			t.Warnings = append(t.Warnings, "primary and backup GPT differ; using the primary")
		}
		if hp.altLBA != total-1 {
			t.Warnings = append(t.Warnings, fmt.Sprintf("backup GPT header is at LBA %d, not at the end of the disk (LBA %d)", hp.altLBA, total-1))
		}
	case errB == nil:
		// The primary's own entries are where a primary would keep them, after its header.
		pl.EntriesLBA, pl.EntryBytes = 2, hb.entryCount*hb.entrySize
		h, arr = hb, arrB
		t.Warnings = append(t.Warnings, fmt.Sprintf("primary GPT is damaged (%v); read the backup at LBA %d", errP, hb.myLBA))
	default:
		return t, fmt.Errorf("reading GPT: primary: %w; backup: %v", errP, errB)
	}
	parts, warn, err := parseGPTEntries(h, arr, l)
	if err != nil {
		return t, fmt.Errorf("reading GPT: %w", err)
	}
	t.Warnings = append(t.Warnings, warn...)
	if errB == nil {
		pl.BackupHeaderLBA, pl.BackupEntriesLBA = hb.myLBA, hb.entriesLBA
	}
	t.Placement = pl
	t.DiskGUID = h.diskGUID
	t.FirstUsableLBA, t.LastUsableLBA = h.firstUsable, h.lastUsable
	t.EntryCount = h.entryCount
	t.Partitions = parts
	return t, nil
}

// checkOverlaps fails when two data partitions share a byte.
func checkOverlaps(parts []Partition) error {
	s := make([]Partition, 0, len(parts))
	for _, p := range parts {
		if p.IsData() {
			s = append(s, p)
		}
	}
	sort.Slice(s, func(i, j int) bool { return s[i].Start < s[j].Start })
	for i := 1; i < len(s); i++ {
		if s[i].Start < s[i-1].End() {
			return fmt.Errorf("partitions %d and %d overlap", s[i-1].Number, s[i].Number)
		}
	}
	return nil
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// guidString decodes a GPT GUID (first three fields little-endian) to its upper-case text form.
func guidString(b []byte) string {
	var o [16]byte
	o[0], o[1], o[2], o[3] = b[3], b[2], b[1], b[0]
	o[4], o[5] = b[5], b[4]
	o[6], o[7] = b[7], b[6]
	copy(o[8:], b[8:16])
	s := strings.ToUpper(hex.EncodeToString(o[:]))
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// guidBytes encodes a GUID's text form in GPT byte order.
func guidBytes(s string) ([]byte, error) {
	h := strings.ReplaceAll(s, "-", "")
	if len(h) != 32 || len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, fmt.Errorf("malformed GUID %q", s)
	}
	o, err := hex.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("malformed GUID %q: %w", s, err)
	}
	b := make([]byte, 16)
	b[0], b[1], b[2], b[3] = o[3], o[2], o[1], o[0]
	b[4], b[5] = o[5], o[4]
	b[6], b[7] = o[7], o[6]
	copy(b[8:], o[8:16])
	return b, nil
}

// gptName decodes a UTF-16LE partition name up to its first NUL.
func gptName(b []byte) string {
	u := make([]uint16, 0, gptNameUnits)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// gptNameFits reports whether name encodes into the 36 UTF-16 units of an entry.
func gptNameFits(name string) bool {
	return len(utf16.Encode([]rune(name))) <= gptNameUnits
}

// hasGPTSignature reports whether the sector at lba starts with a GPT header signature.
func hasGPTSignature(r io.ReaderAt, off int64) bool {
	b := make([]byte, 8)
	if _, err := r.ReadAt(b, off); err != nil {
		return false
	}
	return bytes.Equal(b, []byte(gptSignature))
}
