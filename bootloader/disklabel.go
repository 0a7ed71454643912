package bootloader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/raidswap/raidswap/partition"
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

// ReadTable reads a disk's partition table with partition's reader (CRCs, the backup GPT,
// logical partitions: the one reader of partition tables in raidswap). size is the disk's
// size in bytes, ss its logical sector size.
func ReadTable(read ReadFunc, size int64, ss int) (partition.Table, error) {
	if ss <= 0 {
		ss = 512
	}
	return partition.ReadFrom(readFuncAt(read), partition.Geometry{Size: size, LogicalSectorSize: ss, PhysicalSectorSize: ss})
}

// readFuncAt is a ReadFunc as an io.ReaderAt.
type readFuncAt ReadFunc

func (r readFuncAt) ReadAt(b []byte, off int64) (int, error) {
	got, err := r(off, len(b))
	if err != nil {
		return 0, err
	}
	if n := copy(b, got); n < len(b) {
		return n, io.ErrUnexpectedEOF
	}
	return len(b), nil
}

// partType is a partition's type as bootloader compares it: the GPT type GUID in lower case,
// or the MBR type byte as "0xfd".
func partType(p partition.Partition) string {
	if p.Kind == partition.KindGPT {
		return strings.ToLower(p.TypeGUID)
	}
	return fmt.Sprintf("0x%02x", p.Type)
}
