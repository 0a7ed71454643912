package bootloader

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
)

// GrubBIOSInstall installs GRUB 2's BIOS boot code on disk: boot.img into the MBR's code area
// (bytes 0–439; the partition table is kept) and core.img into the BIOS boot partition (GPT)
// or the gap after the MBR. The modules and grub.cfg stay in bootDir/grub, on the mirrored
// /boot; bootDir "" is the default /boot. modules are preloaded into core.img, so it finds
// /boot on a degraded array by itself. Measured in the VM: running it twice with the same
// GRUB leaves the disk's first 2 MiB byte-identical.
func GrubBIOSInstall(disk, bootDir string, modules []string) []string {
	argv := []string{host.GrubInstall, "--target=i386-pc"}
	if bootDir != "" {
		argv = append(argv, "--boot-directory="+bootDir)
	}
	if len(modules) > 0 {
		argv = append(argv, "--modules="+strings.Join(modules, " "))
	}
	return append(argv, disk)
}

// PrivateBootDir is where a replacement mounts /boot's array when it is not mounted, for
// grub-install's --boot-directory.
func PrivateBootDir(array string) string { return "/run/raidswap/boot-" + array }

// grubModuleRE is a GRUB module name; CheckGrubModules refuses anything else.
var grubModuleRE = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// knownModules are the modules GrubBIOSModules chooses from.
var knownModules = map[string]bool{"part_gpt": true, "part_msdos": true, "mdraid1x": true, "mdraid09": true,
	"ext2": true, "xfs": true, "btrfs": true, "fat": true}

// CheckGrubModules refuses a module list that GrubBIOSModules would not have chosen (a plan
// file is untrusted input).
func CheckGrubModules(mods []string) error {
	for _, m := range mods {
		if !grubModuleRE.MatchString(m) || !knownModules[m] {
			return fmt.Errorf("GRUB module %q is not one raidswap chooses", m)
		}
	}
	return nil
}

// GrubBIOSModules are the modules core.img needs to read /boot on this layout: the partition
// table's (part_gpt, part_msdos), md's for the metadata (mdraid1x for 1.x, mdraid09 for
// 0.90) and the file system's (ext2 reads ext2/3/4). What is not known is left to
// grub-install's own probe, and said.
func GrubBIOSModules(label, metadata, fstype string) (mods []string, unknown []string) {
	switch label {
	case "gpt":
		mods = append(mods, "part_gpt")
	case "dos":
		mods = append(mods, "part_msdos")
	default:
		unknown = append(unknown, "the partition table")
	}
	switch {
	case strings.HasPrefix(metadata, "1."):
		mods = append(mods, "mdraid1x")
	case metadata == "0.90" || metadata == "0.9":
		mods = append(mods, "mdraid09")
	default:
		unknown = append(unknown, "the md metadata")
	}
	switch fstype {
	case "ext2", "ext3", "ext4":
		mods = append(mods, "ext2")
	case "xfs", "btrfs":
		mods = append(mods, fstype)
	case "vfat":
		mods = append(mods, "fat")
	default:
		unknown = append(unknown, "the file system")
	}
	return mods, unknown
}
