package discover

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
)

// Firmware modes.
const (
	FirmwareBIOS = "bios"
	FirmwareUEFI = "uefi"
)

// Host is what discovery reads of the machine besides its md state and disks: what a plan is
// bound to (its identity, covered by the plan's fingerprint) and builds on (firmware mode, the
// swap UUIDs /etc/fstab mounts). It is not part of status output.
type Host struct {
	Hostname  string
	MachineID string
	// Firmware is FirmwareUEFI when /sys/firmware/efi exists, else FirmwareBIOS.
	Firmware string
	// FstabSwap are the UUIDs /etc/fstab mounts as swap (UUID=… or /dev/disk/by-uuid/…), in
	// file order; NoFstab says there is no /etc/fstab.
	FstabSwap []string
	NoFstab   bool
	// UUIDLinks maps each /dev/disk/by-uuid name to the kernel name it points at.
	UUIDLinks map[string]string
	// Boot are the boot facts (bootloader.Detect): firmware, each disk's boot code and boot
	// partitions, where /boot lives, the loader, debconf's grub-pc/install_devices.
	Boot bootloader.Facts
	// Profile is what the distribution calls and places raidswap's tools (host.Profile):
	// plan.Build and the executor derive every command's program from it.
	Profile host.Profile
}

// readHost reads the machine's identity, firmware mode and fstab swap entries through the
// Root. What cannot be read is a problem of the System, never a guess.
func readHost(root *host.Root, problems *[]string) Host {
	h := Host{Firmware: FirmwareBIOS, UUIDLinks: map[string]string{}}
	h.Hostname, _ = root.ReadString("/proc/sys/kernel/hostname")
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		id, err := root.ReadString(p)
		if err == nil && id != "" {
			h.MachineID = id
			break
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			*problems = append(*problems, "reading "+p+": "+err.Error())
		}
	}
	if root.Exists("/sys/firmware/efi") {
		h.Firmware = FirmwareUEFI
	}
	fstab, err := root.ReadFile("/etc/fstab")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		h.NoFstab = true
	case err != nil:
		*problems = append(*problems, "reading /etc/fstab: "+err.Error())
	default:
		h.FstabSwap = FstabSwapUUIDs(fstab)
	}
	links, _ := root.Glob("/dev/disk/by-uuid/*")
	for _, l := range links {
		if t, err := root.ReadLink(l); err == nil {
			h.UUIDLinks[path.Base(l)] = path.Base(t)
		}
	}
	return h
}

// FstabSwapUUIDs lists the UUIDs of swap entries in an fstab (UUID=... or
// /dev/disk/by-uuid/...), in file order.
func FstabSwapUUIDs(b []byte) []string {
	var out []string
	for _, e := range bootloader.ParseFstab(b) {
		if e.FSType != "swap" {
			continue
		}
		switch {
		case strings.HasPrefix(e.Spec, "UUID="):
			out = append(out, strings.Trim(strings.TrimPrefix(e.Spec, "UUID="), `"`))
		case strings.HasPrefix(e.Spec, "/dev/disk/by-uuid/"):
			out = append(out, strings.TrimPrefix(e.Spec, "/dev/disk/by-uuid/"))
		}
	}
	return out
}

// detectBoot reads the boot facts once the disks, arrays and mounts are known; where /boot
// lives is traced through st, the stack readUsage read.
func detectBoot(root *host.Root, s *System, st *blockstack.Stack) bootloader.Facts {
	in := bootloader.Input{Members: map[string]string{}, MemberStates: map[string]string{}, Arrays: map[string]string{}, Mounts: map[string][]string{}, Stack: st, Profile: s.Host.Profile}
	if s.Scope != nil {
		in.BootMount = s.Scope.BootMount
		if in.BootMount == "" {
			// A drill without a boot mount has no /boot to find: not the host's either.
			in.BootMount = path.Join(s.Scope.Lab, "boot")
		}
	}
	for _, a := range s.Arrays {
		in.Arrays[a.Name] = a.Metadata
		in.Mounts[a.Name] = a.Mountpoints
		for _, m := range a.Members {
			if m.Device != nil {
				in.Members[*m.Device] = a.Name
				in.MemberStates[*m.Device] = string(m.State)
			}
		}
	}
	for _, d := range s.Disks {
		if !d.Present {
			continue
		}
		in.Disks = append(in.Disks, bootloader.DiskIn{Name: d.Name, Serial: d.Serial, SectorSize: d.LogicalSectorSize, Partitions: d.Partitions})
		for _, m := range d.Mounted {
			if part, mp, ok := strings.Cut(m, " on "); ok {
				in.Mounts[part] = append(in.Mounts[part], mp)
			}
		}
	}
	return bootloader.Detect(root, in)
}

// bootWarnings name each disk of a mirrored /boot that cannot boot alone: the failure nobody
// notices until the other disk dies. A disk whose boot code could not be judged is shown as
// unknown in status, not warned about; the new disk of an open replacement, whose boot code
// comes at a later step of it (BootPending), is shown as pending.
func bootWarnings(s *System) []string {
	var out []string
	for _, d := range s.Disks {
		if d.Drill != "" && s.Scope == nil {
			continue
		}
		if d.Boot != nil && d.Boot.State == bootloader.BootMissing && d.Present && d.BootPending == "" {
			out = append(out, fmt.Sprintf("disk %s cannot boot alone (%s): %s", d.Label(), s.Host.Boot.Boot.Array, d.Boot.Reason))
		}
	}
	return out
}
