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
// The commands are BIOS GRUB 2 for now (grub_bios.go); UEFI ESPs and the proof that each disk
// boots alone come with their own issue. The package reads nothing and runs nothing: the
// plan holds its decision, and the executor runs the argv through host.Runner after checking
// the disk's serial.
package bootloader
