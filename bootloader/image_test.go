package bootloader

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/testdisk"
)

// Small disk images written by the tests: a GPT or DOS label, GRUB 2's boot.img or GRUB
// 0.97's stage1 in sector 0, GRUB's core.img where boot.img points. The byte layouts follow
// GRUB's sources (boot.S, diskboot.S, stage1.S); only the bytes the parsers look at are set.

const ss = 512

type imgPart struct {
	typ        string // GPT type GUID, or "0xfd" for DOS
	start, end int64  // LBAs, inclusive
}

type imgSpec struct {
	label string // "gpt", "dos" or "" (no table)
	code  MBRCode
	parts []imgPart
	// core: write core.img's first sector at this LBA and point boot.img at it (0: none).
	core int64
	// sig is the DOS disk signature.
	sig uint32
	// noCore points boot.img at core but leaves the sector blank.
	noCore bool
}

func fakeBootImg(sector []byte, core int64) {
	copy(sector, []byte{0xeb, 0x63, 0x90})
	binary.LittleEndian.PutUint64(sector[0x5c:], uint64(core))
	copy(sector[0x180:], grubMessages)
}

func fakeStage1(sector []byte) {
	copy(sector, []byte{0xeb, 0x48, 0x90})
	sector[0x3e], sector[0x3f] = 3, 2
	copy(sector[0x17e:], "GRUB \x00Geom\x00Hard Disk\x00Read\x00 Error\x00")
}

func fakeCore(sector []byte) {
	copy(sector, []byte{0x52, 0x56, 0xbe})
	copy(sector[0x11b:], "loading\x00")
	sector[0x1fe], sector[0x1ff] = 0x20, 0x08
}

func guidBytes(t *testing.T, s string) []byte {
	t.Helper()
	h := strings.ReplaceAll(s, "-", "")
	b := make([]byte, 16)
	for i := 0; i < 16; i++ {
		var v byte
		for _, c := range h[2*i : 2*i+2] {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= byte(c - '0')
			default:
				v |= byte(c-'a') + 10
			}
		}
		b[i] = v
	}
	// The first three fields are little-endian on disk.
	b[0], b[1], b[2], b[3] = b[3], b[2], b[1], b[0]
	b[4], b[5] = b[5], b[4]
	b[6], b[7] = b[7], b[6]
	return b
}

// writeImage writes a 4 MiB image.
func writeImage(t *testing.T, file string, sp imgSpec) {
	t.Helper()
	img := make([]byte, 4<<20)
	s0 := img[:512]
	switch sp.code {
	case MBRGrub2:
		fakeBootImg(s0, sp.core)
	case MBRGrubLegacy:
		fakeStage1(s0)
	case MBROther:
		copy(s0, []byte{0xfa, 0x33, 0xc0, 0x8e, 0xd0})
	}
	if sp.core > 0 && !sp.noCore {
		fakeCore(img[sp.core*ss:])
	}
	switch sp.label {
	case "dos":
		binary.LittleEndian.PutUint32(s0[440:], sp.sig)
		for i, p := range sp.parts {
			e := s0[446+16*i:]
			var typ byte
			for _, c := range strings.TrimPrefix(p.typ, "0x") {
				typ <<= 4
				if c >= 'a' {
					typ |= byte(c-'a') + 10
				} else {
					typ |= byte(c - '0')
				}
			}
			e[4] = typ
			binary.LittleEndian.PutUint32(e[8:], uint32(p.start))
			binary.LittleEndian.PutUint32(e[12:], uint32(p.end-p.start+1))
		}
		s0[510], s0[511] = 0x55, 0xaa
	case "gpt":
		e := s0[446:]
		e[4] = 0xee
		binary.LittleEndian.PutUint32(e[8:], 1)
		binary.LittleEndian.PutUint32(e[12:], uint32(len(img)/ss-1))
		s0[510], s0[511] = 0x55, 0xaa
		h := img[ss : 2*ss]
		copy(h, "EFI PART")
		binary.LittleEndian.PutUint64(h[32:], uint64(len(img)/ss-1))
		binary.LittleEndian.PutUint64(h[72:], 2)
		binary.LittleEndian.PutUint32(h[80:], 128)
		binary.LittleEndian.PutUint32(h[84:], 128)
		for i, p := range sp.parts {
			ent := img[2*ss+128*i:]
			copy(ent, guidBytes(t, p.typ))
			copy(ent[16:], guidBytes(t, "01234567-89ab-cdef-0123-4567890abc0"+string(rune('0'+i))))
			binary.LittleEndian.PutUint64(ent[32:], uint64(p.start))
			binary.LittleEndian.PutUint64(ent[40:], uint64(p.end))
		}
		testdisk.SealGPT(img, ss)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, img, 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeTree writes files (path -> content; content "->target" makes a symlink) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(c, "->"); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
