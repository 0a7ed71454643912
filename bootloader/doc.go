// Package bootloader decides what a replacement does about boot code, builds the commands
// that put it on a disk so each disk of a mirror boots alone, and verifies each disk's boot
// code. Detect (detect.go) reads the facts (facts.go) from the disks' first sectors and the
// running system through the Root; the parsers (disklabel.go) are pure functions of bytes.
// Decide is the one decision table (decide.go; the same table is in docs/runbook.md section
// 8). The first row that matches decides:
//
//	 #  facts                                                    decision
//	 1  /boot is a plain partition, not an array                 BootNotMirrored (note: the mirror does not cover /boot)
//	 2  no array of the replacement holds /boot or /             NoBootCode
//	 3  loader GRUB 0.97                                         GrubLegacyByHand (print grub shell commands, confirm)
//	 4  loader unknown                                           UnknownLoader (refuse to guess)
//	 5  UEFI, an ESP that is an md member                        UEFIESPOnMD
//	 6  UEFI, an ESP on the survivor                             UEFIESPEveryDisk
//	 7  UEFI, no ESP on the survivor                             UEFIByHand
//	 8  BIOS, survivor has an ESP and no BIOS boot partition     UEFIFromRescue (disks set up for UEFI)
//	    (GPT), or the loader is systemd-boot
//	 9  BIOS, no loader found                                    NoBootCode (note: nothing to reinstall)
//	10  BIOS, GRUB 2, grub-install missing                       GrubInstallMissing (refuse)
//	11  BIOS, GRUB 2                                             GrubBIOSEveryDisk
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
