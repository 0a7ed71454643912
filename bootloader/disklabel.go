package bootloader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Pure parsing of what a disk's first sectors say about booting: the MBR's boot code, the
// partition table's boot partitions and where GRUB's core image sits. Every function here is
// a function of bytes; detect.go and verify_bios.go do the reading.

// GPT partition type GUIDs (lower case, as the kernel and blkid print them) and the MBR
// type byte of an ESP.
const (
	TypeBIOSBoot = "21686148-6449-6e6f-744e-656564454649"
	TypeESP      = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
	TypeMBRESP   = "0xef"
	typeMBRGPT   = 0xee
)

// Signatures from GRUB's sources (grub-core/boot/i386/pc/boot.S, diskboot.S; GRUB 0.97
// stage1/stage1.S), checked against Debian's /usr/lib/grub/i386-pc/*.img:
//   - boot.img starts with "jmp after_BPB" = EB 63 90 and carries the strings
//     "GRUB \0Geom\0Hard Disk\0Read\0 Error"; the LBA of core.img's first sector is the
//     uint64 at 0x5c (GRUB_BOOT_MACHINE_KERNEL_SECTOR).
//   - GRUB 0.97's stage1 starts with EB 48 90, has its compat version 3.2 at 0x3e and the
//     same "GRUB " message strings.
//   - core.img's first sector is diskboot.img: the string "loading", and its last blocklist
//     entry's segment (0x1fe) is 0x0820 (GRUB_BOOT_MACHINE_KERNEL_SEG + 0x20).
var (
	grubMessages = []byte("GRUB \x00Geom\x00Hard Disk\x00Read\x00 Error")
	diskbootMsg  = []byte("loading\x00")
)

// grubKernelSectorOffset is where boot.img keeps core.img's first LBA.
const grubKernelSectorOffset = 0x5c

// ParseMBRCode says what the boot code area (bytes 0–439) of sector 0 holds.
func ParseMBRCode(sector0 []byte) MBRCode {
	if len(sector0) < 512 {
		return MBRUnknown
	}
	code := sector0[:440]
	switch {
	case allZero(code):
		return MBRNone
	case code[0] == 0xeb && code[1] == 0x63 && code[2] == 0x90 && bytes.Contains(code, grubMessages):
		return MBRGrub2
	case code[0] == 0xeb && code[1] == 0x48 && code[2] == 0x90 && code[0x3e] == 3 && code[0x3f] == 2 &&
		bytes.Contains(code, []byte("GRUB ")):
		return MBRGrubLegacy
	}
	return MBROther
}

// GrubCoreSector is the LBA of core.img's first sector that a GRUB 2 boot.img in sector0
// jumps to.
func GrubCoreSector(sector0 []byte) (int64, bool) {
	if ParseMBRCode(sector0) != MBRGrub2 {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(sector0[grubKernelSectorOffset:])), true
}

// IsGrubCore reports whether a sector is the first sector of GRUB 2's core.img
// (diskboot.img, with its blocklist filled in by grub-install).
func IsGrubCore(sector []byte) bool {
	if len(sector) < 512 {
		return false
	}
	return bytes.Contains(sector[:0x1f4], diskbootMsg) && sector[0x1fe] == 0x20 && sector[0x1ff] == 0x08
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// LabelPart is one partition of a parsed partition table.
type LabelPart struct {
	Number   int
	Type     string // GPT type GUID, or MBR type byte as "0xfd"
	PARTUUID string
	Start    int64 // first LBA
	Sectors  int64
}

// Label is a parsed partition table.
type Label struct {
	Kind  string // "gpt" or "dos"
	Parts []LabelPart
	// FirstStart is the lowest first LBA of any partition (DOS: the post-MBR gap ends there).
	FirstStart int64
	// GPT: where the entries are, so a caller can read them (EntriesLBA, NumEntries,
	// EntrySize), and the backup header's LBA.
	EntriesLBA int64
	NumEntries int
	EntrySize  int
	BackupLBA  int64
}

// ErrNoLabel means sector 0 holds no partition table (no 0x55AA signature).
var ErrNoLabel = errors.New("no partition table (no 0x55AA signature in sector 0)")

// ParseMBR parses sector 0. For a protective MBR it returns Kind "gpt" with no partitions:
// the caller reads the GPT header (ParseGPTHeader) and its entries (ParseGPTEntries).
func ParseMBR(sector0 []byte) (Label, error) {
	if len(sector0) < 512 {
		return Label{}, fmt.Errorf("sector 0 is %d bytes", len(sector0))
	}
	if sector0[510] != 0x55 || sector0[511] != 0xaa {
		return Label{}, ErrNoLabel
	}
	sig := binary.LittleEndian.Uint32(sector0[440:])
	l := Label{Kind: "dos"}
	for i := 0; i < 4; i++ {
		e := sector0[446+16*i : 446+16*(i+1)]
		typ := e[4]
		start := int64(binary.LittleEndian.Uint32(e[8:]))
		n := int64(binary.LittleEndian.Uint32(e[12:]))
		if typ == 0 || n == 0 {
			continue
		}
		if typ == typeMBRGPT {
			return Label{Kind: "gpt"}, nil
		}
		l.Parts = append(l.Parts, LabelPart{Number: i + 1, Type: fmt.Sprintf("0x%02x", typ),
			PARTUUID: fmt.Sprintf("%08x-%02d", sig, i+1), Start: start, Sectors: n})
		if l.FirstStart == 0 || start < l.FirstStart {
			l.FirstStart = start
		}
	}
	return l, nil
}

// ParseGPTHeader parses the primary GPT header (LBA 1).
func ParseGPTHeader(hdr []byte, l *Label) error {
	if len(hdr) < 92 || string(hdr[:8]) != "EFI PART" {
		return errors.New("protective MBR but no GPT header (no \"EFI PART\" at LBA 1)")
	}
	l.BackupLBA = int64(binary.LittleEndian.Uint64(hdr[32:]))
	l.EntriesLBA = int64(binary.LittleEndian.Uint64(hdr[72:]))
	l.NumEntries = int(binary.LittleEndian.Uint32(hdr[80:]))
	l.EntrySize = int(binary.LittleEndian.Uint32(hdr[84:]))
	if l.EntriesLBA < 2 || l.NumEntries <= 0 || l.NumEntries > 1024 || l.EntrySize < 128 || l.EntrySize > 4096 {
		return fmt.Errorf("GPT header names %d entries of %d bytes at LBA %d: not a sane table", l.NumEntries, l.EntrySize, l.EntriesLBA)
	}
	return nil
}

// ParseGPTEntries parses the partition entries that ParseGPTHeader located.
func ParseGPTEntries(b []byte, l *Label) error {
	if len(b) < l.NumEntries*l.EntrySize {
		return fmt.Errorf("GPT entries: %d bytes, want %d", len(b), l.NumEntries*l.EntrySize)
	}
	for i := 0; i < l.NumEntries; i++ {
		e := b[i*l.EntrySize : (i+1)*l.EntrySize]
		if allZero(e[:16]) {
			continue
		}
		first := int64(binary.LittleEndian.Uint64(e[32:]))
		last := int64(binary.LittleEndian.Uint64(e[40:]))
		p := LabelPart{Number: i + 1, Type: guid(e[:16]), PARTUUID: guid(e[16:32]), Start: first, Sectors: last - first + 1}
		l.Parts = append(l.Parts, p)
		if l.FirstStart == 0 || first < l.FirstStart {
			l.FirstStart = first
		}
	}
	return nil
}

// guid formats a GPT GUID (the first three fields little-endian) in lower case.
func guid(b []byte) string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint16(b[4:]),
		binary.LittleEndian.Uint16(b[6:]), b[8:10], b[10:16])
}
