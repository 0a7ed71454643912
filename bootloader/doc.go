// Package bootloader builds the commands that put boot code on a disk, so each disk of a
// mirror boots alone. For now that is BIOS GRUB 2 (grub_bios.go); UEFI ESPs and the proof
// that each disk boots alone come later. It builds argv only: the executor runs them through
// host.Runner, after checking the disk's serial.
package bootloader
