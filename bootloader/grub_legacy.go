package bootloader

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// GRUB 0.97 (legacy) is never run by raidswap: it names disks by BIOS order (hd0, hd1), and
// installing with the wrong name writes one disk twice and the other not at all. The
// commands are printed for the operator, per disk, with the name from /boot/grub/device.map
// or the BIOS's EDD (Disk.BIOSDrive), never a guess.

var biosDriveRE = regexp.MustCompile(`^hd[0-9]{1,2}$`)

// ErrNoBIOSDrive means neither device.map nor EDD names the disk's BIOS drive.
var ErrNoBIOSDrive = errors.New("neither /boot/grub/device.map nor /sys/firmware/edd names its BIOS drive (hdN), so raidswap prints no command rather than a guess: add a line \"(hdN) /dev/disk/by-id/...\" to /boot/grub/device.map for it and run the step again")

// GrubLegacyCommands are the grub shell commands that install GRUB 0.97's boot code on d:
// root (hdN,M) names the partition holding /boot (M counts from 0), setup (hdN) writes stage1
// to the disk's MBR.
func GrubLegacyCommands(d Disk) ([]string, error) {
	if !biosDriveRE.MatchString(d.BIOSDrive) {
		return nil, ErrNoBIOSDrive
	}
	if d.BootMember == "" {
		return nil, fmt.Errorf("it holds no member of /boot's array")
	}
	n := 0
	for i := len(d.BootMember) - 1; i >= 0 && d.BootMember[i] >= '0' && d.BootMember[i] <= '9'; i-- {
		n, _ = strconv.Atoi(d.BootMember[i:])
	}
	if n <= 0 || !strings.HasPrefix(d.BootMember, d.Name) {
		return nil, fmt.Errorf("its /boot member %s is not a numbered partition of %s", d.BootMember, d.Name)
	}
	return []string{fmt.Sprintf("root (%s,%d)", d.BIOSDrive, n-1), fmt.Sprintf("setup (%s)", d.BIOSDrive)}, nil
}
