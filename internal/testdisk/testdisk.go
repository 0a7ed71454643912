// Package testdisk seals the hand-made disk images of tests into valid partition tables, so
// that they read through partition's reader (CRCs, backup header) like a real disk does.
package testdisk

import (
	"encoding/binary"
	"hash/crc32"
)

// SealGPT completes the GPT a test wrote into img (ss-byte sectors): the test sets "EFI PART"
// at LBA 1, the entry array's LBA, count and size, and the entries; SealGPT fills in the
// revision, header size, own and backup LBAs, the usable range, both CRCs, and writes the
// backup entry array and header at the end of the image.
func SealGPT(img []byte, ss int) {
	total := int64(len(img) / ss)
	h := img[ss : 2*ss]
	entriesLBA := int64(binary.LittleEndian.Uint64(h[72:]))
	count := int64(binary.LittleEndian.Uint32(h[80:]))
	size := int64(binary.LittleEndian.Uint32(h[84:]))
	arrBytes := count * size
	arrSectors := (arrBytes + int64(ss) - 1) / int64(ss)
	arr := img[entriesLBA*int64(ss) : entriesLBA*int64(ss)+arrBytes]

	binary.LittleEndian.PutUint32(h[8:], 0x00010000)
	binary.LittleEndian.PutUint32(h[12:], 92)
	binary.LittleEndian.PutUint64(h[40:], uint64(entriesLBA+arrSectors))
	binary.LittleEndian.PutUint64(h[48:], uint64(total-2-arrSectors))
	binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(arr))

	backupEntries := total - 1 - arrSectors
	copy(img[backupEntries*int64(ss):], arr)
	b := img[(total-1)*int64(ss) : total*int64(ss)]
	copy(b, h[:92])
	seal(h, 1, total-1, entriesLBA)
	seal(b, total-1, 1, backupEntries)
}

// seal sets a header's own, alternate and entry LBAs and its CRC.
func seal(h []byte, my, alt, entries int64) {
	binary.LittleEndian.PutUint64(h[24:], uint64(my))
	binary.LittleEndian.PutUint64(h[32:], uint64(alt))
	binary.LittleEndian.PutUint64(h[72:], uint64(entries))
	binary.LittleEndian.PutUint32(h[16:], 0)
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
}
