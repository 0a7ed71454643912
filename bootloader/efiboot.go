package bootloader

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
)

// Firmware boot entries: one per disk, labelled EntryLabel(serial), pointing at that disk's
// ESP by PARTUUID and at the loader on it. The efi-boot-order step removes only the failed
// disk's entries (FailedEntries) and keeps the administrator's BootOrder, the new disk's entry
// taking the failed disk's place (ReplaceOrder).

// EntryLabelPrefix starts the label of every entry raidswap creates.
const EntryLabelPrefix = "raidswap "

// EntryLabel is the label of the boot entry for the disk with serial: EntryLabelPrefix and
// the serial's safe form, in which every byte outside [A-Za-z0-9._:-] is written %XX (upper
// case hex), so that a serial with a space, '/', '+' or '%' gives a label that firmware
// menus, efibootmgr and a pasted shell line all take, and no two serials share a label.
// Build, Derive and the executor make and match raidswap's entries by this one function.
func EntryLabel(serial string) string {
	var b strings.Builder
	b.WriteString(EntryLabelPrefix)
	for i := 0; i < len(serial); i++ {
		c := serial[i]
		if c < 0x80 && labelSafe[c] {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// labelSafe are the bytes a serial keeps in its label.
var labelSafe = func() (t [128]bool) {
	for _, c := range "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-" {
		t[c] = true
	}
	return t
}()

// ValidEntryLabel reports whether label is one EntryLabel makes: the prefix, then 1 to 192
// bytes of [A-Za-z0-9._:-] and %XX escapes.
func ValidEntryLabel(label string) bool { return entryLabelRE.MatchString(label) }

var entryLabelRE = regexp.MustCompile(`^raidswap (?:[A-Za-z0-9._:-]|%[0-9A-F]{2}){1,192}$`)

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

// LoaderOf is the ESP path (EFI/debian/grubx64.efi) of the loader an active boot entry
// boots from the partition with partuuid: BootCurrent's entry first, then BootOrder's, then
// any; "" when none does or its path is not a plain path on the ESP. It names the loader of
// a disk whose ESP is not mounted (a new ESP raidswap made when the only one was on the
// failed disk: /boot/efi's mount went with it).
func (v BootVars) LoaderOf(partuuid string) string {
	if partuuid == "" {
		return ""
	}
	var nums []string
	if v.Current != "" {
		nums = append(nums, v.Current)
	}
	nums = append(nums, v.Order...)
	for _, e := range v.Entries {
		nums = append(nums, e.Num)
	}
	for _, n := range nums {
		e := v.Entry(n)
		if e == nil || !e.Active || e.Loader == "" || e.PARTUUID != strings.ToLower(partuuid) {
			continue
		}
		p := strings.TrimPrefix(strings.ReplaceAll(e.Loader, `\`, "/"), "/")
		if ValidLoaderPath(LoaderPathEFI(p)) {
			return p
		}
	}
	return ""
}

// FailedEntries are the boot entries that were the failed disk's: those that boot from a
// partition whose PARTUUID is one of failedPARTUUIDs (its ESP, as the plan recorded it) and
// raidswap's own for failedSerial (labelled EntryLabel(failedSerial)). The entries numbered
// in keep (the survivor's and the new disk's) are never among them. Any other entry, also
// one for a partition no attached disk has (another system's, on a disk unplugged for
// now), is not raidswap's to delete.
func (v BootVars) FailedEntries(failedPARTUUIDs []string, failedSerial string, keep ...string) []BootEntry {
	var out []BootEntry
	for _, e := range v.Entries {
		if slices.Contains(keep, e.Num) {
			continue
		}
		byPart := e.PARTUUID != "" && slices.ContainsFunc(failedPARTUUIDs, func(p string) bool { return strings.EqualFold(p, e.PARTUUID) })
		byLabel := failedSerial != "" && e.Label == EntryLabel(failedSerial)
		if byPart || byLabel {
			out = append(out, e)
		}
	}
	return out
}

// ReplaceOrder is BootOrder for the replacement: the administrator's order as it is, without
// the removed entries (the failed disk's), numbers that have no entry and repeats, with the
// new disk's entry nw in the place of the failed disk's first entry. The survivor's entry
// surv keeps its place; when the order does not hold it, it goes just before the new disk's.
// With no failed disk's entry in the order, the new disk's entry stays where the order has
// it, or goes just after the survivor's, and both, when the order holds neither, at its end:
// raidswap never puts its entries ahead of an entry the administrator placed before the
// failed disk's. Applied to its own result it changes nothing (a resumed step).
func (v BootVars) ReplaceOrder(surv, nw string, removed []string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	// surv is "" when the survivor has no ESP (UEFIESPFromFailed): the new disk's entry alone.
	survIn, nwIn := surv == "" || slices.Contains(v.Order, surv), slices.Contains(v.Order, nw)
	anchor := slices.ContainsFunc(v.Order, func(n string) bool { return slices.Contains(removed, n) })
	for _, n := range v.Order {
		switch {
		case slices.Contains(removed, n):
			if !survIn {
				add(surv)
			}
			add(nw)
		case n == nw && anchor:
			// It goes to the failed disk's place.
		case n == surv:
			add(surv)
			if !anchor && !nwIn {
				add(nw)
			}
		case v.Entry(n) == nil:
		default:
			add(n)
		}
	}
	add(surv)
	add(nw)
	return out
}

// ListArgv reads the boot manager's variables.
func ListArgv() []string { return []string{host.Efibootmgr, "-v"} }

// CreateEntryArgv creates a boot entry for partition part of disk (a /dev path), labelled
// label (EntryLabel of the disk's serial), booting loader (\EFI\debian\grubx64.efi). It is
// --create-only: the entry is not put into BootOrder (efibootmgr --create would put it first,
// ahead of the administrator's first choice); the efi-boot-order step places it.
func CreateEntryArgv(disk string, part int, label, loader string) []string {
	return []string{host.Efibootmgr, "--create-only", "--disk", disk, "--part", fmt.Sprint(part),
		"--label", label, "--loader", loader}
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
	for _, m := range blockstack.ParseMounts(mounts) {
		if m.FSType != "efivarfs" || m.Point != "/sys/firmware/efi/efivars" {
			continue
		}
		if slices.Contains(m.Options, "ro") {
			return "efivarfs is mounted read-only at /sys/firmware/efi/efivars: run `mount -o remount,rw /sys/firmware/efi/efivars`, then resume"
		}
		return ""
	}
	return "efivarfs is not mounted: run `mount -t efivarfs efivarfs /sys/firmware/efi/efivars`, then resume"
}
