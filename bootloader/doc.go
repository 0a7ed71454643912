// Package bootloader decides what a replacement does about boot code and builds the commands
// that put it on a disk, so each disk of a mirror boots alone. Decide is the one decision
// table (decide.go):
//
//	firmware  /boot or / on an array of the replacement  ->  decision
//	BIOS      yes                                         ->  GRUB 2 BIOS boot code on every disk
//	BIOS      no                                          ->  no boot code
//	UEFI      yes                                         ->  by hand (docs/runbook.md section 8)
//	UEFI      no                                          ->  no boot code
//
// The commands are BIOS GRUB 2 (grub_bios.go) and, for UEFI, the ESP's file system and
// firmware boot entries (esp.go, efiboot.go). The decision reads nothing and runs nothing: the
// plan holds it, and the executor runs the argv through host.Runner after checking the disk's
// serial. The UEFI work the executor does in-process lives here too: mounting an ESP at a
// private directory (mount.go), the verified copy and the fallback path (esp.go), and the
// check that each disk boots alone by UEFI (verify_uefi.go); it runs commands only through
// the host.Runner and reads files only under the private mount directories.
package bootloader
