// Package bootloader decides what a replacement does about boot code, builds the commands
// that put it on a disk so each disk of a mirror boots alone, and verifies each disk's boot
// code. Detect (detect.go) reads the facts (facts.go) from the disks' first sectors and the
// running system through the Root; the parsers (disklabel.go) are pure functions of bytes.
// Decide is the one decision table (decide.go; the same table is in docs/runbook.md section
// 8). The first row that matches decides:
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
//
// The BIOS commands are grub_bios.go (GRUB 2) and grub_legacy.go (GRUB 0.97: commands for
// the operator, never run); VerifyBIOS (verify_bios.go) checks a disk's boot.img and core.img.
// For UEFI, the ESP's file system and firmware boot entries are esp.go and efiboot.go. The
// decision reads nothing and runs nothing: the plan holds it, and the executor runs the argv
// through host.Runner after checking the disk's serial. The UEFI work the executor does
// in-process lives here too: mounting an ESP at a private directory (mount.go), the verified
// copy and the fallback path (esp.go), and the check that each disk boots alone by UEFI
// (verify_uefi.go); it runs commands only through the host.Runner and reads files only under
// the private mount directories.
package bootloader
