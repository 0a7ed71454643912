package bootloader

import "github.com/raidswap/raidswap/internal/host"

// GrubBIOSInstall installs GRUB 2's BIOS boot code on disk: boot.img into the MBR's code area
// (bytes 0–439; the partition table is kept) and core.img into the BIOS boot partition (GPT)
// or the gap after the MBR. The files go to /boot/grub, on the mirrored /boot. Measured in the
// VM: running it twice with the same GRUB leaves the disk's first 2 MiB byte-identical.
func GrubBIOSInstall(disk string) []string {
	return []string{host.GrubInstall, "--target=i386-pc", disk}
}
