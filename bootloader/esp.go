package bootloader

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
)

// The UEFI path keeps one EFI System Partition per disk: the new disk's ESP gets a file
// system like the survivor's, a verified copy of the survivor's tree, and each ESP the
// removable-media fallback path, so the firmware finds a loader on either disk even
// without a boot entry.

// ESPTypeGUID is the GPT partition type of an EFI System Partition; on a DOS label it is 0xef.
const (
	ESPTypeGUID = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
	ESPTypeMBR  = "0xef"
)

// ESPMountBase is where raidswap mounts ESPs, each at a private directory of its own: the
// survivor's read-only for the copy, the new one read-write. Nothing else reads or writes
// ESP files.
const ESPMountBase = "/run/raidswap/esp"

// ShimSignedImage is the Debian family's signed shim (package shim-signed), which
// grub-install --uefi-secure-boot copies onto an ESP.
const ShimSignedImage = "/usr/lib/shim/shimx64.efi.signed"

// FallbackPath is the removable-media path the firmware boots when no boot entry names a
// loader (UEFI spec 3.5.1.1, x86-64).
const FallbackPath = "EFI/BOOT/BOOTX64.EFI"

// tmpPrefix names what a copy writes before it is complete; a rename puts it in place, so
// a full ESP or an interruption leaves the old tree or the whole new one, never half of it.
const tmpPrefix = ".raidswap-tmp"

var serialSafeRE = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// ESPMountDir is the private mount directory for partition part of the disk with serial.
func ESPMountDir(serial, part string) string {
	s := serialSafeRE.ReplaceAllString(serial, "_")
	if s == "" {
		s = "noserial"
	}
	return ESPMountBase + "/" + s + "-" + serialSafeRE.ReplaceAllString(part, "_")
}

// ESPFS is what blkid says of an ESP's file system and partition.
type ESPFS struct {
	Type     string // vfat
	Version  string // FAT12, FAT16, FAT32
	Label    string
	UUID     string // the volume id, as blkid shows it: ABCD-1234
	PARTUUID string
	PartType string // GPT type GUID or 0xef
	PartNum  int
	// SizeSectors is the partition's size in 512-byte sectors.
	SizeSectors int64
}

// FATBits is 12, 16 or 32 from Version, 0 when it is none of them.
func (e ESPFS) FATBits() int {
	switch strings.ToUpper(e.Version) {
	case "FAT12":
		return 12
	case "FAT16":
		return 16
	case "FAT32":
		return 32
	}
	return 0
}

// ProbeESPArgv is the low-level probe of one partition: it reads the device's superblock
// and partition entry itself, so it needs no udev and no cache.
func ProbeESPArgv(dev string) []string {
	return []string{host.Blkid, "-p", "-o", "export", dev}
}

// ErrNoFS is returned by ProbeESP for a partition that holds no file system blkid knows.
var ErrNoFS = errors.New("no file system")

// ProbeESP runs blkid on dev and parses its answer. Exit 2 (nothing found) is ErrNoFS.
func ProbeESP(ctx context.Context, r host.Runner, dev string) (ESPFS, error) {
	res, err := r.Run(ctx, ProbeESPArgv(dev)...)
	if err != nil {
		var ee *host.ExitError
		if errors.As(err, &ee) && ee.Result.ExitCode == 2 {
			return ESPFS{}, fmt.Errorf("%s: %w", dev, ErrNoFS)
		}
		return ESPFS{}, err
	}
	return ParseBlkidExport(res.Stdout)
}

// ParseBlkidExport parses `blkid -p -o export` output (KEY=value lines; untrusted: a line
// that is not KEY=value is refused).
func ParseBlkidExport(b []byte) (ESPFS, error) {
	var e ESPFS
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			return ESPFS{}, fmt.Errorf("blkid: line %q is not KEY=value", line)
		}
		switch k {
		case "TYPE":
			e.Type = v
		case "VERSION":
			e.Version = v
		case "LABEL":
			e.Label = v
		case "UUID":
			e.UUID = v
		case "PART_ENTRY_UUID":
			e.PARTUUID = strings.ToLower(v)
		case "PART_ENTRY_TYPE":
			e.PartType = strings.ToLower(v)
		case "PART_ENTRY_NUMBER":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 || n > 128 {
				return ESPFS{}, fmt.Errorf("blkid: partition number %q", v)
			}
			e.PartNum = n
		case "PART_ENTRY_SIZE":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return ESPFS{}, fmt.Errorf("blkid: partition size %q", v)
			}
			e.SizeSectors = n
		}
	}
	return e, nil
}

// fatLabelRE is what raidswap passes to mkfs.vfat -n: at most 11 characters that need no
// code page. A label outside it is left off (the file system gets none) rather than mangled.
var fatLabelRE = regexp.MustCompile(`^[A-Z0-9 _-]{1,11}$`)

// volumeIDRE is a FAT volume id as blkid shows it.
var volumeIDRE = regexp.MustCompile(`^[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}$`)

// ValidFATLabel reports whether label can be given to mkfs.vfat as it is.
func ValidFATLabel(label string) bool { return fatLabelRE.MatchString(label) }

// ValidVolumeID reports whether id is a FAT volume id (ABCD-1234).
func ValidVolumeID(id string) bool { return volumeIDRE.MatchString(id) }

// MkfsESP is the command that makes the new disk's ESP file system: the survivor's FAT
// type, label and volume id. The same volume id keeps an fstab line `UUID=ABCD-1234
// /boot/efi` mounting an ESP whichever disk is left; with both present either one, which
// raidswap keeps identical, serves. fatBits must be 12, 16 or 32; an empty label or
// volume id is left to mkfs.
func MkfsESP(dev string, fatBits int, label, volumeID string) ([]string, error) {
	if fatBits != 12 && fatBits != 16 && fatBits != 32 {
		return nil, fmt.Errorf("FAT type %d is not 12, 16 or 32", fatBits)
	}
	argv := []string{host.MkfsVfat, "-F", strconv.Itoa(fatBits)}
	if label != "" {
		if !ValidFATLabel(label) {
			return nil, fmt.Errorf("ESP label %q is not a plain FAT label (A-Z 0-9 space _ -, at most 11)", label)
		}
		argv = append(argv, "-n", label)
	}
	if volumeID != "" {
		if !ValidVolumeID(volumeID) {
			return nil, fmt.Errorf("volume id %q is not of the form ABCD-1234", volumeID)
		}
		argv = append(argv, "-i", strings.ToUpper(strings.ReplaceAll(volumeID, "-", "")))
	}
	return append(argv, dev), nil
}
