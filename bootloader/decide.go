package bootloader

import (
	"fmt"
	"strings"
)

// Kind is what a replacement does about boot code.
type Kind int

// Decisions.
const (
	// NoBootCode: no array of the replacement holds /boot or /, or no boot loader was found
	// on them; nothing to install (the plan says why).
	NoBootCode Kind = iota
	// GrubBIOSEveryDisk: reinstall GRUB 2's BIOS boot code on the survivor and install it on
	// the new disk, so each boots alone.
	GrubBIOSEveryDisk
	// UEFIByHand: UEFI with /boot on the arrays but no ESP on the survivor: the ESP lives
	// elsewhere; the runbook (section 8) says what to check.
	UEFIByHand
	// GrubInstallMissing: GRUB 2 boots the disks but grub-install is not installed: refuse,
	// and say which package brings it.
	GrubInstallMissing
)

// Decision is what to do, and why, for the plan's reason text.
type Decision struct {
	Kind Kind
	Why  string
}

// Decide is the boot decision table; the same table is in doc.go and docs/runbook.md
// section 8. f.Disks are the disks that stay (the survivor first; the new disk is blank
// when the plan is built). The first row that matches decides:
//
//	 #  facts                                                    decision
//	 1  /boot is (or rests on) a plain partition, not an array   BootNotMirrored (note: the mirror does not cover /boot)
//	 2  /boot rests on a stack raidswap cannot follow (a dm      BootStackRefused (refuse the plan)
//	    target neither LVM nor dm-crypt, an LV across arrays)
//	 3  no array of the replacement holds /boot or /             NoBootCode
//	 4  /boot inside dm-crypt, GRUB_ENABLE_CRYPTODISK not y      BootStackRefused (refuse the plan)
//	 5  /boot on LVM, dm-crypt or an md partition, not mounted   BootStackRefused (refuse: mount it, plan again)
//	 6  loader GRUB 0.97                                         GrubLegacyByHand (print grub shell commands, confirm)
//	 7  loader unknown                                           UnknownLoader (refuse to guess)
//	 8  UEFI, an ESP that is an md member                        UEFIESPOnMD
//	 9  UEFI, an ESP on the survivor                             UEFIESPEveryDisk
//	10  UEFI, no ESP on the survivor, the failed disk's ESP      UEFIESPFromFailed (note: the survivor cannot boot alone)
//	    known with its size and FAT type (FailedESP)
//	11  UEFI, no ESP on the survivor                             UEFIByHand (say which fact is missing)
//	12  BIOS, survivor has an ESP and no BIOS boot partition     UEFIFromRescue (disks set up for UEFI)
//	    (GPT), or the loader is systemd-boot
//	13  BIOS, no loader found                                    NoBootCode (note: nothing to reinstall)
//	14  BIOS, GRUB 2, grub-install missing                       GrubInstallMissing (refuse)
//	15  BIOS, GRUB 2                                             GrubBIOSEveryDisk
//
// /boot "on an array" is traced through LVM, LUKS and dm-crypt (in any order), partitions of
// an array (md0p1) and bind mounts (internal/blockstack): a /boot inside an LV on md1 is on
// md1, and GRUB goes on every disk of md1 as for /boot directly on it.
func Decide(f Facts) (Decision, error) {
	var surv Disk
	if len(f.Disks) > 0 {
		surv = f.Disks[0]
	}
	espOnMD := ""
	for _, d := range f.Disks {
		if d.ESP != nil && d.ESP.MDArray != "" {
			espOnMD = d.ESP.MDArray
		}
	}
	uefiDisks := surv.ESP != nil && surv.BIOSBoot == nil && surv.Label == "gpt"
	via := ""
	if f.Boot.Via != "" {
		via = " (" + f.Boot.Via + ")"
	}
	switch {
	case f.Boot.Partition != "" && f.Boot.Via != "":
		return Decision{Kind: BootNotMirrored, Why: fmt.Sprintf("/boot rests on the plain partition %s of one disk%s: the mirror does not cover it, and no other disk can boot when that one fails; move /boot onto an md RAID1 (metadata 1.0) across both disks (docs/runbook.md section 8)", f.Boot.Partition, via)}, nil
	case f.Boot.Partition != "":
		return Decision{Kind: BootNotMirrored, Why: fmt.Sprintf("/boot is the plain partition %s of one disk: the mirror does not cover it, and no other disk can boot when that one fails; move /boot onto an md RAID1 (metadata 1.0) across both disks (docs/runbook.md section 8)", f.Boot.Partition)}, nil
	case f.Boot.Unsupported != "":
		return Decision{Kind: BootStackRefused, Why: fmt.Sprintf("/boot%s: %s, so raidswap cannot set GRUB up to boot it from each disk; install the boot loader on every disk by hand (docs/runbook.md section 8)", via, f.Boot.Unsupported)}, nil
	case f.Boot.Array == "":
		return Decision{Kind: NoBootCode, Why: "no array of the replacement holds /boot or /: no boot code to install"}, nil
	case f.Boot.Crypt != "" && !f.Boot.CryptoDisk:
		return Decision{Kind: BootStackRefused, Why: fmt.Sprintf("/boot lies inside the encrypted %s%s and GRUB is not set to unlock it (no GRUB_ENABLE_CRYPTODISK=y in /etc/default/grub): GRUB on the new disk could not read /boot; this system boots some other way, which raidswap cannot carry over (docs/runbook.md section 8)", f.Boot.Crypt, via)}, nil
	case f.Boot.Device != "" && f.Boot.Mountpoint == "":
		return Decision{Kind: BootStackRefused, Why: fmt.Sprintf("/boot is not mounted and lies on %s%s, not directly on %s: mount it (mount /boot) and build the plan again, so grub-install writes into the /boot it boots from", f.Boot.Device, via, f.Boot.Array)}, nil
	case f.Loader == LoaderGrubLegacy:
		return Decision{Kind: GrubLegacyByHand, Why: "GRUB 0.97 (legacy) boots these disks (" + f.LoaderFrom + "): raidswap runs nothing and prints the grub shell commands for each disk"}, nil
	case f.Loader == LoaderUnknown:
		return Decision{Kind: UnknownLoader, Why: "the boot loader is not one raidswap knows (" + f.LoaderFrom + "): it installs nothing rather than guess; reinstall it on every disk by hand"}, nil
	case f.Firmware == FirmwareUEFI && espOnMD != "":
		return Decision{Kind: UEFIESPOnMD, Why: "the ESP is the md array " + espOnMD + ": the re-add copies it; the fallback path and a boot entry per disk still need checking"}, nil
	case f.Firmware == FirmwareUEFI && surv.ESP != nil:
		return Decision{Kind: UEFIESPEveryDisk, Why: "UEFI with an ESP on each disk (" + surv.ESP.Name + " on the survivor): the new disk gets its own ESP, a copy of the survivor's, and a boot entry"}, nil
	case f.Firmware == FirmwareUEFI && f.FailedESP != nil && FailedESPMissing(f.FailedESP) == "":
		e := f.FailedESP
		name := e.Name
		if name == "" {
			name = "partition number unknown"
		}
		return Decision{Kind: UEFIESPFromFailed, Why: fmt.Sprintf("UEFI, and the only ESP was on the failed disk %s (%s, %d MiB, FAT%d, %s): the new disk needs an ESP made like it; the survivor %s has no ESP and cannot boot alone by UEFI",
			diskLabel(Disk{Name: f.FailedName, Serial: f.FailedSerial}), name, (e.SizeBytes+(1<<20)-1)>>20, e.FATBits(), orWhy(f.FailedESPFrom), diskLabel(surv))}, nil
	case f.Firmware == FirmwareUEFI:
		why := fmt.Sprintf("UEFI, but the survivor %s has no ESP: the ESP this system boots from is not on the mirror (was it on the failed disk only?), and raidswap has none to copy", diskLabel(surv))
		switch {
		case f.FailedESP != nil:
			why += fmt.Sprintf("; the failed disk %s had one (%s), but raidswap cannot remake it: %s",
				diskLabel(Disk{Name: f.FailedName, Serial: f.FailedSerial}), orWhy(f.FailedESPFrom), FailedESPMissing(f.FailedESP))
		case f.FailedSerial != "":
			why += fmt.Sprintf("; neither discovery nor the inventory knows an ESP of the failed disk %s", diskLabel(Disk{Name: f.FailedName, Serial: f.FailedSerial}))
		}
		return Decision{Kind: UEFIByHand, Why: why + "; follow docs/runbook.md section 8 (UEFI)"}, nil
	case uefiDisks || f.Loader == LoaderSystemdBoot:
		return Decision{Kind: UEFIFromRescue, Why: "the disks are set up for UEFI (an ESP, no BIOS boot partition, or systemd-boot) but this system booted by BIOS: the ESPs are synced; the firmware boot entries cannot be written from here"}, nil
	case f.Loader == LoaderNone || f.Loader == "":
		return Decision{Kind: NoBootCode, Why: "no boot loader found for " + f.Boot.Array + " (" + orWhy(f.LoaderFrom) + "): raidswap installs none; if these disks should boot, install one by hand on every disk"}, nil
	case f.Loader == LoaderGrub2 && !f.GrubInstall:
		if f.GrubInstallProgram != "" && f.GrubInstallPackage != "" {
			pkg := f.GrubInstallPackage
			if pkg == "grub2-common" {
				pkg += " and grub-pc-bin"
			}
			return Decision{Kind: GrubInstallMissing, Why: "GRUB 2 boots these disks (" + f.LoaderFrom + ") but " + f.GrubInstallProgram + " is not installed: install " + pkg + " and build the plan again"}, nil
		}
		return Decision{Kind: GrubInstallMissing, Why: "GRUB 2 boots these disks (" + f.LoaderFrom + ") but grub-install is not installed: install grub2-common and grub-pc-bin (Debian, Ubuntu) or grub2-tools (RHEL family) and build the plan again"}, nil
	case f.Loader == LoaderGrub2:
		if f.Boot.Via != "" {
			return Decision{Kind: GrubBIOSEveryDisk, Why: fmt.Sprintf("%s holds /boot (%s) and GRUB 2 boots the disks by BIOS", f.Boot.Array, f.Boot.Via)}, nil
		}
		return Decision{Kind: GrubBIOSEveryDisk, Why: fmt.Sprintf("%s holds /boot (%s) and GRUB 2 boots the disks by BIOS", f.Boot.Array, strings.TrimSpace(f.Boot.From+" "+f.Boot.Mountpoint))}, nil
	}
	return Decision{}, fmt.Errorf("unreachable: boot facts (firmware %q, loader %q, boot %+v) fit no row of the decision table", f.Firmware, f.Loader, f.Boot)
}

func orWhy(s string) string {
	if s == "" {
		return "nothing to judge it from"
	}
	return s
}

// String names a decision for plans and logs.
func (k Kind) String() string {
	switch k {
	case NoBootCode:
		return "no-boot-code"
	case GrubBIOSEveryDisk:
		return "grub-bios-every-disk"
	case UEFIByHand:
		return "uefi-by-hand"
	case GrubInstallMissing:
		return "grub-install-missing"
	case BootNotMirrored:
		return "boot-not-mirrored"
	case UEFIESPEveryDisk:
		return "uefi-esp-every-disk"
	case UEFIESPOnMD:
		return "uefi-esp-on-md"
	case UEFIFromRescue:
		return "uefi-from-rescue"
	case GrubLegacyByHand:
		return "grub-legacy-by-hand"
	case UnknownLoader:
		return "unknown-loader"
	case BootStackRefused:
		return "boot-stack-refused"
	case UEFIESPFromFailed:
		return "uefi-esp-from-failed"
	}
	return fmt.Sprintf("kind-%d", int(k))
}

// diskLabel names a disk as raidswap names disks to a person: "sdb (WD-X9)".
func diskLabel(d Disk) string {
	if d.Serial == "" {
		return d.Name + " (serial unknown)"
	}
	return d.Name + " (" + d.Serial + ")"
}

// FailedESPMissing says which fact the failed disk's ESP e lacks for UEFIESPFromFailed to
// remake it on the new disk ("" when none): its size, a FAT type of 12, 16 or 32, a file
// system that is FAT at all, a partition of its own (not an md member).
func FailedESPMissing(e *Partition) string {
	var miss []string
	switch {
	case e.MDArray != "":
		return fmt.Sprintf("its ESP %s is a member of %s, which raidswap does not remake", e.Name, e.MDArray)
	case e.FSType != "" && e.FSType != "vfat":
		return fmt.Sprintf("its ESP %s holds %s, not FAT", e.Name, e.FSType)
	}
	if e.SizeBytes <= 0 {
		miss = append(miss, "its size")
	}
	if e.FATBits() == 0 {
		miss = append(miss, "its FAT type (12, 16 or 32)")
	}
	if len(miss) == 0 {
		return ""
	}
	return "not known: " + strings.Join(miss, " and ") + " of its ESP " + e.Name
}
