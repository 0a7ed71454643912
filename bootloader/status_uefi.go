package bootloader

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"unicode/utf16"

	"github.com/diskfs/go-diskfs/backend"
	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/fat12"
	"github.com/diskfs/go-diskfs/filesystem/fat16"
	"github.com/diskfs/go-diskfs/filesystem/fat32"

	"github.com/raidswap/raidswap/internal/host"
)

// Status's UEFI verdict: what `raidswap status` shows in the BOOT column of a UEFI system.
// Discovery never mounts and never runs a command, so unlike VerifyUEFI (the postcondition
// of the UEFI steps, which mounts each ESP and runs efibootmgr) it reads each ESP's FAT file
// system straight from the block device, read-only, and the boot entries from efivarfs.

func init() { UEFIVerifier = StatusUEFI }

// EFIGlobalVariable is the vendor GUID of the boot manager's variables (Boot####, BootOrder).
const EFIGlobalVariable = "8be4df61-93ca-11d2-aa0d-00e098032b8c"

// EFIVarsDir is where efivarfs shows the firmware's variables.
const EFIVarsDir = "/sys/firmware/efi/efivars"

// LoadOption is one Boot#### variable as efivarfs holds it, parsed.
type LoadOption struct {
	Active      bool // LOAD_OPTION_ACTIVE
	Description string
	// PARTUUID and Part are from the first hard-drive node (lower case; a DOS label's is
	// blkid's form, disk signature and partition number: 1234abcd-01); "" when none.
	PARTUUID string
	Part     int
	// Path is the file path node after it (\EFI\debian\grubx64.efi), "" when none.
	Path string
}

// ParseLoadOption parses an efivarfs Boot#### file: 4 bytes of variable attributes, then an
// EFI_LOAD_OPTION (UEFI 2.10 §3.1.3): u32 Attributes, u16 FilePathListLength, a
// NUL-terminated UTF-16LE Description, then the device path nodes (u8 Type, u8 SubType, u16
// Length). The bytes are untrusted: a length that runs past the end is refused.
func ParseLoadOption(b []byte) (LoadOption, error) {
	var o LoadOption
	if len(b) < 4+6 {
		return o, fmt.Errorf("%d bytes, too short for a load option", len(b))
	}
	b = b[4:]
	attr := binary.LittleEndian.Uint32(b)
	fpl := int(binary.LittleEndian.Uint16(b[4:]))
	b = b[6:]
	var desc []uint16
	i := 0
	for ; ; i += 2 {
		if i+2 > len(b) {
			return o, errors.New("the description is not terminated")
		}
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		desc = append(desc, c)
	}
	o.Active = attr&1 != 0
	o.Description = string(utf16.Decode(desc))
	b = b[i+2:]
	if fpl > len(b) {
		return o, fmt.Errorf("the device path list is %d bytes, only %d left", fpl, len(b))
	}
	dp := b[:fpl]
	hd := false
	for len(dp) > 0 {
		if len(dp) < 4 {
			return o, errors.New("a device path node header is cut off")
		}
		typ, sub, n := dp[0], dp[1], int(binary.LittleEndian.Uint16(dp[2:]))
		if n < 4 || n > len(dp) {
			return o, fmt.Errorf("device path node %d/%d has length %d, %d bytes left", typ, sub, n, len(dp))
		}
		body := dp[4:n]
		dp = dp[n:]
		switch {
		case typ == 0x7f && sub == 0xff:
			return o, nil
		case typ == 4 && sub == 1 && !hd:
			if len(body) != 38 {
				return o, fmt.Errorf("hard drive node of %d bytes, not 38", len(body))
			}
			hd = true
			o.Part = int(binary.LittleEndian.Uint32(body))
			sig := body[20:36]
			switch body[37] {
			case 2:
				o.PARTUUID = fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(sig), binary.LittleEndian.Uint16(sig[4:]),
					binary.LittleEndian.Uint16(sig[6:]), sig[8:10], sig[10:16])
			case 1:
				o.PARTUUID = fmt.Sprintf("%08x-%02x", binary.LittleEndian.Uint32(sig), o.Part)
			}
		case typ == 4 && sub == 4 && hd && o.Path == "":
			if len(body)%2 != 0 {
				return o, fmt.Errorf("file path node of odd length %d", len(body))
			}
			u := make([]uint16, 0, len(body)/2)
			for j := 0; j+1 < len(body); j += 2 {
				c := binary.LittleEndian.Uint16(body[j:])
				if c == 0 {
					break
				}
				u = append(u, c)
			}
			o.Path = string(utf16.Decode(u))
		}
	}
	return o, errors.New("the device path has no end node")
}

// ReadBootEntries reads the Boot#### variables from efivarfs under root. It fails when
// efivarfs cannot be read (absent, not mounted: an empty directory); a variable that does
// not parse is left out and named in bad.
func ReadBootEntries(root *host.Root) (v BootVars, bad []string, err error) {
	all, err := root.ReadDir(EFIVarsDir)
	if err != nil {
		return v, nil, fmt.Errorf("%s cannot be read: %w", EFIVarsDir, err)
	}
	if len(all) == 0 {
		return v, nil, fmt.Errorf("%s is empty (efivarfs not mounted)", EFIVarsDir)
	}
	for _, e := range all {
		n := e.Name()
		num, ok := strings.CutSuffix(n, "-"+EFIGlobalVariable)
		if !ok || len(num) != 8 || !strings.HasPrefix(num, "Boot") || !bootNumRE.MatchString(num[4:]) {
			continue
		}
		b, err := root.ReadFile(path.Join(EFIVarsDir, n))
		if err != nil {
			bad = append(bad, num+": "+err.Error())
			continue
		}
		o, err := ParseLoadOption(b)
		if err != nil {
			bad = append(bad, num+": "+err.Error())
			continue
		}
		v.Entries = append(v.Entries, BootEntry{Num: strings.ToUpper(num[4:]), Label: o.Description, Active: o.Active,
			PARTUUID: o.PARTUUID, Part: o.Part, Loader: o.Path})
	}
	sort.Slice(v.Entries, func(i, j int) bool { return v.Entries[i].Num < v.Entries[j].Num })
	return v, bad, nil
}

// FATKind says which FAT a boot sector describes (12, 16 or 32), after checking that the
// layout fits in size bytes. As Linux's vfat does, a 16-bit FAT size of zero means FAT32
// (mkfs.fat -F 32 makes small FAT32 file systems too); otherwise the cluster count tells
// FAT12 from FAT16, as the FAT specification says.
func FATKind(bs []byte, size int64) (int, error) {
	if len(bs) < 512 || bs[510] != 0x55 || bs[511] != 0xaa {
		return 0, errors.New("no FAT boot sector (signature 55aa missing)")
	}
	le16 := func(o int) int64 { return int64(binary.LittleEndian.Uint16(bs[o:])) }
	le32 := func(o int) int64 { return int64(binary.LittleEndian.Uint32(bs[o:])) }
	bps, spc, res, nfat, rootEnt := le16(11), int64(bs[13]), le16(14), int64(bs[16]), le16(17)
	tot, fatsz := le16(19), le16(22)
	is32 := fatsz == 0
	if tot == 0 {
		tot = le32(32)
	}
	if fatsz == 0 {
		fatsz = le32(36)
	}
	switch {
	case bps != 512 && bps != 1024 && bps != 2048 && bps != 4096:
		return 0, fmt.Errorf("FAT boot sector: %d bytes per sector", bps)
	case spc == 0 || spc&(spc-1) != 0:
		return 0, fmt.Errorf("FAT boot sector: %d sectors per cluster", spc)
	case res == 0 || nfat == 0 || fatsz == 0 || tot == 0:
		return 0, errors.New("FAT boot sector: zero reserved sectors, FATs, FAT size or total sectors")
	case tot*bps > size:
		return 0, fmt.Errorf("FAT boot sector: %d sectors of %d bytes, but the device has %d bytes", tot, bps, size)
	}
	rootSec := (rootEnt*32 + bps - 1) / bps
	meta := res + nfat*fatsz + rootSec
	if meta >= tot {
		return 0, errors.New("FAT boot sector: the FATs fill the whole file system")
	}
	switch c := (tot - meta) / spc; {
	case is32:
		return 32, nil
	case c < 4085:
		return 12, nil
	}
	return 16, nil
}

// maxFATBytes bounds the file allocation table status reads: an ESP's is a few MiB at most.
const maxFATBytes = 64 << 20

// FATChains checks that every cluster chain of a file allocation table ends: go-diskfs
// follows a chain until its end-of-chain mark, and a damaged table whose chain loops back
// would never end. kind is 12, 16 or 32.
func FATChains(fat []byte, kind int) error {
	var n int
	var eoc uint32
	switch kind {
	case 12:
		n, eoc = len(fat)*2/3, 0xff8
	case 16:
		n, eoc = len(fat)/2, 0xfff8
	case 32:
		n, eoc = len(fat)/4, 0x0ffffff8
	default:
		return fmt.Errorf("FAT%d is not a FAT", kind)
	}
	next := func(c int) uint32 {
		switch kind {
		case 12:
			v := uint32(binary.LittleEndian.Uint16(fat[c*3/2:]))
			if c%2 == 1 {
				return v >> 4
			}
			return v & 0xfff
		case 16:
			return uint32(binary.LittleEndian.Uint16(fat[2*c:]))
		}
		return binary.LittleEndian.Uint32(fat[4*c:]) & 0x0fffffff
	}
	if kind == 12 && len(fat)%3 == 1 && n > 0 {
		n-- // the last entry's second byte is missing
	}
	// state: 0 not seen, 1 on the chain being followed, 2 known to end.
	state := make([]uint8, n)
	for start := 2; start < n; start++ {
		c := start
		for c >= 2 && c < n && state[c] == 0 {
			state[c] = 1
			v := next(c)
			if v >= eoc || v < 2 || int(v) >= n {
				break
			}
			if state[v] == 1 {
				return fmt.Errorf("the FAT's cluster chain through cluster %d loops back", v)
			}
			c = int(v)
		}
		for c := start; c >= 2 && c < n && state[c] == 1; {
			state[c] = 2
			v := next(c)
			if v < 2 || int(v) >= n {
				break
			}
			c = int(v)
		}
	}
	return nil
}

// espFiles is what status needs of one ESP.
// readESPFiles opens dev (under root) read-only and reads its FAT file system: the files of
// the loader's directory and of EFI/BOOT, each with its SHA-256 (what JudgeUEFI compares).
func readESPFiles(root *host.Root, dev, loader string) (out ESPView) {
	out.Dev = dev
	defer func() {
		if r := recover(); r != nil {
			out = ESPView{Dev: dev, Err: fmt.Errorf("its FAT file system is damaged (%v)", r)}
		}
	}()
	f, err := openESPDevice(root, dev)
	if err != nil {
		out.Err = err
		return out
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		out.Err = err
		return out
	}
	return readESPImage(f, size, dev, loader)
}

// openESPDevice opens the device holding an ESP for status to read: a block device with
// O_DIRECT (host.DirectFile), because a mounted ESP writes its files beneath the device's
// page cache and a cached read can show clusters it has since rewritten (status once called
// two identical ESPs different that way); an image file (a capture, a test) as it is.
func openESPDevice(root *host.Root, dev string) (backend.File, error) {
	if fi, err := os.Stat(root.Path(dev)); err == nil && fi.Mode()&os.ModeDevice != 0 {
		f, err := root.OpenDirectFile(dev)
		if err != nil {
			return nil, fmt.Errorf("opening it past the page cache (O_DIRECT): %w", err)
		}
		return f, nil
	}
	return os.Open(root.Path(dev))
}

// readESPImage is readESPFiles on an open device of size bytes: every byte of it is
// untrusted (FuzzReadESPImage feeds it damaged file systems).
func readESPImage(f backend.File, size int64, dev, loader string) (out ESPView) {
	out.Dev = dev
	bs := make([]byte, 512)
	if _, err := f.ReadAt(bs, 0); err != nil {
		out.Err = fmt.Errorf("reading its boot sector: %w", err)
		return out
	}
	kind, err := FATKind(bs, size)
	if err != nil {
		out.Err = err
		return out
	}
	// The FAT itself, checked before go-diskfs follows its chains.
	res := int64(binary.LittleEndian.Uint16(bs[14:])) * int64(binary.LittleEndian.Uint16(bs[11:]))
	fatBytes := int64(binary.LittleEndian.Uint16(bs[22:]))
	if fatBytes == 0 {
		fatBytes = int64(binary.LittleEndian.Uint32(bs[36:]))
	}
	fatBytes *= int64(binary.LittleEndian.Uint16(bs[11:]))
	if fatBytes > maxFATBytes {
		out.Err = fmt.Errorf("its FAT is %d bytes, more than an ESP's", fatBytes)
		return out
	}
	fat := make([]byte, fatBytes)
	if _, err := f.ReadAt(fat, res); err != nil {
		out.Err = fmt.Errorf("reading its FAT: %w", err)
		return out
	}
	if err := FATChains(fat, kind); err != nil {
		out.Err = err
		return out
	}
	b := file.New(f, true)
	var fs *fat12.FileSystem
	switch kind {
	case 32:
		var f32 *fat32.FileSystem
		if f32, err = fat32.Read(b, size, 0, 0); err == nil {
			fs = f32.FileSystem
		}
	case 16:
		var f16 *fat16.FileSystem
		if f16, err = fat16.Read(b, size, 0, 0); err == nil {
			fs = f16.FileSystem
		}
	default:
		fs, err = fat12.Read(b, size, 0, 0)
	}
	if err != nil {
		out.Err = fmt.Errorf("FAT%d ESP not readable by raidswap's status: %w", kind, err)
		return out
	}
	// The files booting depends on: the loader's directory and EFI/BOOT (go-diskfs matches
	// directory names without case, as FAT does).
	total := int64(0)
	for _, dir := range loaderDirs(loader) {
		es, err := fs.ReadDir(dir)
		if err != nil {
			continue // no such directory: its files are missing
		}
		for _, e := range es {
			if e.IsDir() {
				continue
			}
			if len(out.Files) >= maxESPViewFiles {
				out.Err = fmt.Errorf("more than %d files in %s", maxESPViewFiles, strings.Join(loaderDirs(loader), " and "))
				return out
			}
			p := dir + "/" + e.Name()
			data, err := fs.ReadFile(p)
			if err != nil {
				out.Err = fmt.Errorf("reading %s: %w", p, err)
				return out
			}
			if total += int64(len(data)); total > maxESPViewBytes {
				out.Err = fmt.Errorf("the files in %s hold more than %d bytes", strings.Join(loaderDirs(loader), " and "), maxESPViewBytes)
				return out
			}
			out.Files = append(out.Files, File{Path: p, Size: int64(len(data)), SHA256: sha256.Sum256(data)})
		}
	}
	return out
}

// An ESP's boot files are a few MiB; these bound what status reads of an untrusted one.
const (
	maxESPViewFiles = 512
	maxESPViewBytes = 256 << 20
)

// espDev is the block device holding a disk's ESP file system: the partition, or the md
// array it is a member of (RAID1 metadata 1.0 keeps the file system at the start).
func espDev(p *Partition) string {
	if p.MDArray != "" {
		return "/dev/" + p.MDArray
	}
	return "/dev/" + p.Name
}

// StatusUEFI judges whether disk d of the UEFI system f boots alone, for status: its ESP
// holds the loader (f.EFILoader) and the removable fallback path, the loader is identical
// to the survivor's (to every other ESP's when no survivor is named), and a firmware boot
// entry boots the loader from the ESP's PARTUUID. With the boot entries unreadable the disk
// is ok by the fallback path only, and the reason says so. An ESP that is a member of an md
// RAID1 is judged by the array's file system (the firmware reads the member partition,
// which holds the same bytes) and only while the member is in sync in the array: a member
// that is rebuilding, faulty or a spare does not hold the whole ESP.
func StatusUEFI(root *host.Root, f Facts, d Disk) Readiness {
	in := UEFIJudgeIn{Loader: f.EFILoader}
	var others []*Disk
	for i := range f.Disks {
		o := &f.Disks[i]
		if o.Name != d.Name && o.ESP != nil {
			others = append(others, o)
			in.OthersHaveESP = true
		}
	}
	var entries BootVars
	var entriesErr error
	if d.ESP != nil {
		// Read only for a disk that has an ESP to judge (a disk without one needs none).
		entries, _, entriesErr = ReadBootEntries(root)
		if in.Loader == "" && entriesErr == nil {
			// No ESP is mounted to show the loader: the one this disk's own boot entry boots.
			in.Loader = entries.LoaderOf(d.ESP.PARTUUID)
		}
	}
	if d.ESP == nil || in.Loader == "" {
		in.HasESP = d.ESP != nil
		r, _ := JudgeUEFI(in)
		return r
	}
	in.HasESP, in.PARTUUID = true, d.ESP.PARTUUID
	in.Member, in.MDArray, in.MDState = d.ESP.Name, d.ESP.MDArray, d.ESP.MDState
	in.Self = readESPFiles(root, espDev(d.ESP), in.Loader)
	var surv *Disk
	for _, o := range others {
		if o.Survivor {
			surv = o
		}
	}
	switch {
	case d.Survivor:
	case surv != nil:
		in.SurvivorNamed = true
		in.Refs = append(in.Refs, readESPFiles(root, espDev(surv.ESP), in.Loader))
	default:
		for _, o := range others {
			if espDev(o.ESP) != espDev(d.ESP) {
				in.Refs = append(in.Refs, readESPFiles(root, espDev(o.ESP), in.Loader))
			}
		}
	}
	if entriesErr != nil {
		in.EntriesWhy = entriesErr.Error()
	} else {
		in.Entries = &entries
	}
	r, _ := JudgeUEFI(in)
	return r
}

func orUnknownPARTUUID(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
