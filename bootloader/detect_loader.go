package bootloader

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
)

// Which boot loader the system uses, GRUB legacy's drive names, the UEFI loader and shim.

// bootPath is where /boot's files are seen now, "" when /boot is not mounted.
func bootPath(b BootDir) string {
	switch {
	case b.Mountpoint == "":
		return ""
	case b.OnRoot:
		return path.Join(b.Mountpoint, "boot")
	}
	return b.Mountpoint
}

// detectLoader judges the boot loader from /boot's files when /boot is mounted, else from
// the disks' boot code.
func detectLoader(root *host.Root, f Facts) (Loader, string) {
	if bp := bootPath(f.Boot); bp != "" {
		has := func(p string) bool { return root.Exists(path.Join(bp, p)) }
		switch {
		case has("grub/i386-pc") || has("grub/x86_64-efi") || has("grub2/i386-pc") || has("grub2/x86_64-efi"):
			return LoaderGrub2, bp + "/grub holds GRUB 2's modules"
		case has("grub/stage1") && (has("grub/grub.conf") || has("grub/menu.lst")):
			return LoaderGrubLegacy, bp + "/grub holds GRUB 0.97's stage1 and grub.conf or menu.lst"
		case has("loader/loader.conf") || has("efi/loader/loader.conf"):
			return LoaderSystemdBoot, bp + "/loader/loader.conf (systemd-boot)"
		case has("syslinux") || has("extlinux") || has("grub"):
			return LoaderUnknown, bp + " holds a boot loader raidswap does not know (syslinux, extlinux or an unrecognised grub directory)"
		}
		if root.Exists("/efi/loader/loader.conf") {
			return LoaderSystemdBoot, "/efi/loader/loader.conf (systemd-boot)"
		}
		return LoaderNone, bp + " holds no boot loader files"
	}
	var grub2, legacy, bbp bool
	for _, d := range f.Disks {
		switch d.MBRCode {
		case MBRGrub2:
			grub2 = true
		case MBRGrubLegacy:
			legacy = true
		}
		bbp = bbp || d.BIOSBoot != nil
	}
	why := "/boot is not mounted: "
	switch {
	case grub2 && !legacy:
		return LoaderGrub2, why + "a disk's MBR holds GRUB 2's boot.img"
	case legacy && !grub2:
		return LoaderGrubLegacy, why + "a disk's MBR holds GRUB 0.97's stage1"
	case legacy && grub2:
		return LoaderUnknown, why + "the disks' MBRs hold both GRUB 2 and GRUB 0.97 boot code"
	case bbp:
		return LoaderGrub2, why + "the disks carry a BIOS boot partition, which only GRUB 2 uses"
	}
	return LoaderNone, why + "no disk's MBR holds GRUB boot code"
}

// ParseDeviceMap parses GRUB's device.map ("(hd0) /dev/sda") into device path -> drive.
func ParseDeviceMap(b []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || !strings.HasPrefix(f[0], "(hd") || !strings.HasSuffix(f[0], ")") {
			continue
		}
		out[f[1]] = strings.Trim(f[0], "()")
	}
	return out
}

// biosDrives names each disk's GRUB legacy drive (hdN) from /boot/grub/device.map, else from
// the BIOS's disk order in /sys/firmware/edd (matched by MBR signature); never by guessing.
func biosDrives(root *host.Root, f *Facts) {
	if bp := bootPath(f.Boot); bp != "" {
		if b, err := root.ReadFile(path.Join(bp, "grub/device.map")); err == nil {
			m := ParseDeviceMap(b)
			for i := range f.Disks {
				d := &f.Disks[i]
				for dev, hd := range m {
					if resolveSpec(root, dev) == d.Name {
						d.BIOSDrive, d.BIOSDriveFrom = hd, path.Join(bp, "grub/device.map")
					}
				}
			}
		}
	}
	edd, _ := root.Glob("/sys/firmware/edd/int13_dev*/mbr_signature")
	for _, p := range edd {
		sig, err := root.ReadString(p)
		if err != nil {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(path.Base(path.Dir(p)), "int13_dev"), 16, 8)
		if err != nil || n < 0x80 {
			continue
		}
		for i := range f.Disks {
			d := &f.Disks[i]
			if d.BIOSDrive != "" {
				continue
			}
			s0, err := readAt(root, "/dev/"+d.Name, 0, 512)
			if err != nil {
				continue
			}
			if fmt.Sprintf("0x%08x", uint32(s0[440])|uint32(s0[441])<<8|uint32(s0[442])<<16|uint32(s0[443])<<24) == sig {
				d.BIOSDrive, d.BIOSDriveFrom = fmt.Sprintf("hd%d", n-0x80), "/sys/firmware/edd"
			}
		}
	}
}

// detectEFILoader finds, on the ESP mounted now (any disk's: the ESPs of a mirror carry the
// same tree; or the md array the ESPs are members of, mounted by its /dev/mdN or /dev/md/NAME
// name), the loader the firmware boot entries name (FindLoader). An ESP that is not
// mounted cannot be read without a mount, which discovery never does: the fact stays empty,
// and the UEFI steps refuse with that reason rather than guess a path.
func detectEFILoader(root *host.Root, f *Facts, mounts []blockstack.MountsLine, names host.EFIFiles) {
	esps := map[string]bool{}
	for _, d := range f.Disks {
		if d.ESP != nil {
			esps[d.ESP.Name] = true
			if d.ESP.MDArray != "" {
				esps[d.ESP.MDArray] = true
			}
		}
	}
	if len(esps) == 0 {
		return
	}
	for _, m := range mounts {
		dev := strings.TrimPrefix(m.Source, "/dev/")
		if strings.HasPrefix(dev, "md/") {
			// /dev/md/esp is a udev link to ../md127.
			if t, err := os.Readlink(root.Path(m.Source)); err == nil {
				dev = path.Base(t)
			}
		}
		if !esps[dev] {
			continue
		}
		p, err := FindLoader(root.Path(m.Point), f.Loader, f.Shim, names)
		if err != nil {
			f.Notes = append(f.Notes, fmt.Sprintf("the ESP %s mounted at %s: %v", m.Source, m.Point, err))
			return
		}
		f.EFILoader = p
		return
	}
	if f.Firmware == FirmwareUEFI {
		f.Notes = append(f.Notes, "no ESP is mounted (/boot/efi in fstab): the loader the boot entries name cannot be read; mount it and plan again")
	}
}

// detectShim reports Secure Boot's shim (by the distribution's name for it) on a mounted ESP.
func detectShim(root *host.Root, names host.EFIFiles) bool {
	for _, esp := range []string{"/boot/efi", "/efi"} {
		if m, _ := root.Glob(esp + "/EFI/*/" + names.Shim); len(m) > 0 {
			return true
		}
	}
	return false
}
