package bootloader

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
)

// UEFIError refuses a UEFI setup raidswap cannot carry over, naming the disk and serial.
type UEFIError struct {
	Disk   string
	Serial string
	Reason string
}

func (e *UEFIError) Error() string {
	if e.Disk == "" {
		return "UEFI: " + e.Reason
	}
	return fmt.Sprintf("UEFI: %s (%s): %s", e.Disk, orUnknown(e.Serial), e.Reason)
}

func orUnknown(s string) string {
	if s == "" {
		return "serial unknown"
	}
	return s
}

// UEFISurvivor is the survivor of f with its ESP, checked for what the UEFI steps need:
// an ESP on the survivor (an ESP on the failed disk only is refused: the new disk, whose
// partitions are cloned from the survivor, would get none either), a FAT file system of
// a known type, and a loader path for the boot entries.
func (f Facts) UEFISurvivor() (*Disk, error) {
	var surv *Disk
	failedHadESP := ""
	for i := range f.Disks {
		d := &f.Disks[i]
		switch {
		case d.Survivor:
			surv = d
		case !d.New && d.ESP != nil:
			failedHadESP = d.Name + " (" + orUnknown(d.Serial) + ")"
		}
	}
	if surv == nil {
		return nil, &UEFIError{Reason: "the boot facts name no survivor"}
	}
	if surv.ESP == nil {
		r := "it has no EFI System Partition, so neither it nor the new disk (cloned from it) can boot by UEFI alone"
		if failedHadESP != "" {
			r = "it has no EFI System Partition; only " + failedHadESP + " had one: the ESP was on one disk only. Create an ESP on the survivor by hand (docs/runbook.md section 8) before replacing"
		}
		return nil, &UEFIError{Disk: surv.Name, Serial: surv.Serial, Reason: r}
	}
	e := surv.ESP
	switch {
	case e.MDArray != "":
		// The file system is the array's (md copies it to the new member); its loader
		// is read from the array mounted at /boot/efi.
		if e.Number <= 0 {
			return nil, &UEFIError{Disk: surv.Name, Serial: surv.Serial, Reason: fmt.Sprintf("its ESP %s (a member of %s) has no partition number", e.Name, e.MDArray)}
		}
	case e.FSType != "vfat":
		what := e.FSType
		if what == "" {
			what = "no file system"
		}
		return nil, &UEFIError{Disk: surv.Name, Serial: surv.Serial, Reason: fmt.Sprintf("its ESP %s holds %s, not FAT: the firmware cannot read it, and raidswap does not copy it", e.Name, what)}
	case e.FATBits() == 0:
		return nil, &UEFIError{Disk: surv.Name, Serial: surv.Serial, Reason: fmt.Sprintf("its ESP %s is FAT of an unknown type %q: raidswap makes the new ESP of the survivor's type and will not guess", e.Name, e.FSVersion)}
	case e.Number <= 0:
		return nil, &UEFIError{Disk: surv.Name, Serial: surv.Serial, Reason: fmt.Sprintf("its ESP %s has no partition number", e.Name)}
	}
	if f.EFILoader == "" || !ValidLoaderPath(LoaderPathEFI(f.EFILoader)) {
		where := e.Name
		if e.MDArray != "" {
			where = e.MDArray + " (its ESP " + e.Name + " is a member)"
		}
		return nil, &UEFIError{Disk: surv.Name, Serial: surv.Serial, Reason: fmt.Sprintf("no loader found on its ESP %s (%q): the boot entries would name nothing; mount the ESP at /boot/efi and plan again", where, f.EFILoader)}
	}
	return surv, nil
}

// FATBits is the ESP's FAT type: 12, 16 or 32 (0 when unknown).
func (p Partition) FATBits() int { return ESPFS{Version: p.FSVersion}.FATBits() }

// RescueCommands are the efibootmgr commands that give each disk its boot entry, for an
// operator whose running system booted by BIOS (UEFIFromRescue): to run after the next UEFI
// boot. newDisk is the new disk's kernel name ("" when not known yet: the command then says
// /dev/<new disk>).
func RescueCommands(f Facts, newDisk, newSerial string) []string {
	surv, err := f.UEFISurvivor()
	if err != nil {
		return nil
	}
	loader := LoaderPathEFI(f.EFILoader)
	dev := "/dev/" + newDisk
	if newDisk == "" {
		dev = "/dev/<new disk " + orUnknown(newSerial) + ">"
	}
	q := func(argv []string) string {
		out := make([]string, len(argv))
		for i, a := range argv {
			if strings.ContainsAny(a, ` \<>`) {
				a = "'" + a + "'"
			}
			out[i] = a
		}
		return strings.Join(out, " ")
	}
	return []string{
		q(CreateEntryArgv("/dev/"+surv.Name, surv.ESP.Number, EntryLabel(surv.Serial), loader)),
		q(CreateEntryArgv(dev, surv.ESP.Number, EntryLabel(newSerial), loader)),
		"efibootmgr -v   # then: efibootmgr --bootorder with the new disk's entry where the failed disk's was, and the survivor's beside it",
	}
}

var bootloaderIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)

// ValidBootloaderID says id can name GRUB's directory under EFI/ (grub-install
// --bootloader-id): a lower-case word, as os-release IDs are.
func ValidBootloaderID(id string) bool { return bootloaderIDRE.MatchString(id) }

// ESPDirToken stands in an esp-grub-install command for the private directory the new ESP
// is mounted at when the step runs (bootloader.ESPMountDir of its serial and partition).
const ESPDirToken = "{esp-dir}"

// GrubInstallEFIArgv installs GRUB for x86-64 UEFI into the ESP mounted at espDir, in
// EFI/<id>/, without touching the firmware's variables (raidswap writes the boot entry
// itself); with shim, Secure Boot's shim and the signed GRUB (Debian's
// --uefi-secure-boot), else GRUB alone. GRUB's modules go to /boot/grub, where the running
// system's are.
func GrubInstallEFIArgv(espDir, id string, shim bool) []string {
	sb := "--no-uefi-secure-boot"
	if shim {
		sb = "--uefi-secure-boot"
	}
	return []string{host.GrubInstall, "--target=x86_64-efi", "--efi-directory=" + espDir, "--bootloader-id=" + id, "--no-nvram", sb}
}

// GrubInstallEFILoader is the loader GrubInstallEFIArgv leaves for the boot entry.
func GrubInstallEFILoader(id string, shim bool, names host.EFIFiles) string {
	if shim {
		return "EFI/" + id + "/" + names.Shim
	}
	return "EFI/" + id + "/" + names.Grub
}
