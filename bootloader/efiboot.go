package bootloader

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
)

// Firmware boot entries: one per disk, labelled "raidswap <serial>", pointing at that
// disk's ESP by PARTUUID and at the loader on it. Entries that point at a partition no
// attached disk has (the dead disk's) are removed, and BootOrder starts with the survivor.

// EntryLabelPrefix starts the label of every entry raidswap creates.
const EntryLabelPrefix = "raidswap "

// EntryLabel is the label of the boot entry for the disk with serial.
func EntryLabel(serial string) string { return EntryLabelPrefix + serial }

// BootEntry is one Boot#### variable as `efibootmgr -v` shows it.
type BootEntry struct {
	Num    string // four hex digits, upper case: 0004
	Label  string
	Active bool
	// PARTUUID and Part are from an HD() device path node (lower case; for a DOS label the
	// PARTUUID is blkid's form, disk signature and partition number: 1234abcd-01).
	PARTUUID string
	Part     int
	// Loader is the file path node: \EFI\debian\grubx64.efi ("" when the entry has none).
	Loader string
	// Path is the device path as shown.
	Path string
}

// BootVars are the boot manager's variables.
type BootVars struct {
	Current string
	Order   []string
	Entries []BootEntry
}

// Entry returns the entry numbered num.
func (v BootVars) Entry(num string) *BootEntry {
	for i := range v.Entries {
		if v.Entries[i].Num == num {
			return &v.Entries[i]
		}
	}
	return nil
}

var (
	bootNumRE  = regexp.MustCompile(`^[0-9A-Fa-f]{4}$`)
	entryRE    = regexp.MustCompile(`^Boot([0-9A-Fa-f]{4})(\*?)\s+(.*)$`)
	hdRE       = regexp.MustCompile(`HD\((\d+),(GPT|MBR),([^,)]*),[^)]*\)`)
	fileNodeRE = regexp.MustCompile(`(?:/File\(([^)]*)\)|/(\\[^\s/]*))`)
	guidRE     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// ErrNoEFIVars is efibootmgr's "EFI variables are not supported on this system".
var ErrNoEFIVars = errors.New("EFI variables are not supported on this system")

// ParseBootVars parses `efibootmgr -v` (and plain `efibootmgr`) output: efibootmgr 16 and
// 17 (Debian 12) write the file node as File(\EFI\...), 18 as a bare \EFI\... and add
// indented "dp:" lines, which are skipped. The output is untrusted: a Boot line that does
// not parse, or a BootOrder entry that is not four hex digits, is refused.
func ParseBootVars(b []byte) (BootVars, error) {
	var v BootVars
	s := string(b)
	if strings.Contains(s, "EFI variables are not supported") {
		return v, ErrNoEFIVars
	}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		switch {
		case strings.HasPrefix(line, "BootCurrent:"):
			v.Current = strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(line, "BootCurrent:")))
			if !bootNumRE.MatchString(v.Current) {
				return BootVars{}, fmt.Errorf("efibootmgr: BootCurrent %q", v.Current)
			}
		case strings.HasPrefix(line, "BootOrder:"):
			for _, n := range strings.Split(strings.TrimSpace(strings.TrimPrefix(line, "BootOrder:")), ",") {
				n = strings.TrimSpace(n)
				if n == "" {
					continue
				}
				if !bootNumRE.MatchString(n) {
					return BootVars{}, fmt.Errorf("efibootmgr: BootOrder entry %q", n)
				}
				v.Order = append(v.Order, strings.ToUpper(n))
			}
		case strings.HasPrefix(line, "Boot") && len(line) > 8 && bootNumRE.MatchString(line[4:8]):
			m := entryRE.FindStringSubmatch(line)
			if m == nil {
				return BootVars{}, fmt.Errorf("efibootmgr: entry line %q", line)
			}
			e := BootEntry{Num: strings.ToUpper(m[1]), Active: m[2] == "*"}
			rest := m[3]
			// The label and the device path are separated by a tab; plain efibootmgr
			// shows no path.
			if i := strings.IndexByte(rest, '\t'); i >= 0 {
				e.Label, e.Path = strings.TrimSpace(rest[:i]), strings.TrimSpace(rest[i+1:])
			} else {
				e.Label = strings.TrimSpace(rest)
			}
			if hd := hdRE.FindStringSubmatch(e.Path); hd != nil {
				fmt.Sscan(hd[1], &e.Part)
				id := strings.ToLower(hd[3])
				if hd[2] == "MBR" {
					// HD(1,MBR,0x1234abcd,...) is PARTUUID 1234abcd-01.
					var sig uint32
					if _, err := fmt.Sscanf(id, "0x%x", &sig); err != nil {
						return BootVars{}, fmt.Errorf("efibootmgr: MBR signature %q", hd[3])
					}
					id = fmt.Sprintf("%08x-%02x", sig, e.Part)
				} else if !guidRE.MatchString(id) {
					return BootVars{}, fmt.Errorf("efibootmgr: partition GUID %q", hd[3])
				}
				e.PARTUUID = id
				if f := fileNodeRE.FindStringSubmatch(e.Path[strings.Index(e.Path, hd[0])+len(hd[0]):]); f != nil {
					e.Loader = f[1] + f[2]
					// efibootmgr 17 may run optional data ("..BO") into the line.
					if i := strings.Index(e.Loader, ".."); i > 0 && !strings.HasSuffix(strings.ToLower(e.Loader[:i]), ".efi") {
						e.Loader = e.Loader[:i]
					}
				}
			}
			v.Entries = append(v.Entries, e)
		}
	}
	return v, nil
}

// sameLoader compares firmware file paths as FAT does: without case.
func sameLoader(a, b string) bool {
	return strings.EqualFold(strings.TrimPrefix(a, `\`), strings.TrimPrefix(b, `\`))
}

// EntryFor is the entry that boots loader from the partition with partuuid, or nil.
func (v BootVars) EntryFor(partuuid, loader string) *BootEntry {
	for i := range v.Entries {
		e := &v.Entries[i]
		if e.PARTUUID != "" && e.PARTUUID == strings.ToLower(partuuid) && sameLoader(e.Loader, loader) {
			return e
		}
	}
	return nil
}

// Stale are the entries that point at a partition no attached disk has (attached holds
// every attached partition's PARTUUID, lower case) and are raidswap's or boot the same
// loader path: the dead disk's entry. Another system's entry for a disk that is unplugged
// for now is not raidswap's to delete, so an entry with another label and loader stays.
func (v BootVars) Stale(attached map[string]bool, loader string) []BootEntry {
	var out []BootEntry
	for _, e := range v.Entries {
		if e.PARTUUID == "" || attached[e.PARTUUID] {
			continue
		}
		if strings.HasPrefix(e.Label, EntryLabelPrefix) || sameLoader(e.Loader, loader) {
			out = append(out, e)
		}
	}
	return out
}

// NewOrder is BootOrder with first in front (in that order), then the rest of the current
// order without the removed entries and without numbers that have no entry.
func (v BootVars) NewOrder(first []string, removed []string) []string {
	out := slices.Clone(first)
	for _, n := range v.Order {
		if slices.Contains(out, n) || slices.Contains(removed, n) || v.Entry(n) == nil {
			continue
		}
		out = append(out, n)
	}
	return out
}

// ListArgv reads the boot manager's variables.
func ListArgv() []string { return []string{host.Efibootmgr, "-v"} }

// CreateEntryArgv creates a boot entry for partition part of disk (a /dev path), labelled
// with the disk's serial, booting loader (\EFI\debian\grubx64.efi).
func CreateEntryArgv(disk string, part int, serial, loader string) []string {
	return []string{host.Efibootmgr, "--create", "--disk", disk, "--part", fmt.Sprint(part),
		"--label", EntryLabel(serial), "--loader", loader}
}

// DeleteEntryArgv deletes Boot<num>.
func DeleteEntryArgv(num string) []string {
	return []string{host.Efibootmgr, "--bootnum", num, "--delete-bootnum"}
}

// BootOrderArgv sets BootOrder.
func BootOrderArgv(order []string) []string {
	return []string{host.Efibootmgr, "--bootorder", strings.Join(order, ",")}
}

// loaderPathRE is a loader path raidswap puts into a boot entry: \EFI\ then plain names.
var loaderPathRE = regexp.MustCompile(`^\\EFI(\\[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}){1,4}$`)

// ValidLoaderPath reports whether p is a firmware loader path raidswap writes into an entry.
func ValidLoaderPath(p string) bool {
	return loaderPathRE.MatchString(p) && strings.HasSuffix(strings.ToLower(p), ".efi")
}

// EFIVarsProblem says why boot entries cannot be written on the system under root, with
// the fix, or "" when efivarfs is mounted read-write: no /sys/firmware/efi (booted by
// BIOS), efivarfs not mounted, or mounted read-only. mounts is /proc/self/mounts.
func EFIVarsProblem(efiDirExists bool, mounts []byte) string {
	if !efiDirExists {
		return "the running system did not boot by UEFI (no /sys/firmware/efi): boot entries can only be written after a UEFI boot"
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[2] != "efivarfs" || f[1] != "/sys/firmware/efi/efivars" {
			continue
		}
		if slices.Contains(strings.Split(f[3], ","), "ro") {
			return "efivarfs is mounted read-only at /sys/firmware/efi/efivars: run `mount -o remount,rw /sys/firmware/efi/efivars`, then resume"
		}
		return ""
	}
	return "efivarfs is not mounted: run `mount -t efivarfs efivarfs /sys/firmware/efi/efivars`, then resume"
}
