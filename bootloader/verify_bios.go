package bootloader

import (
	"errors"
	"fmt"

	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/partition"
)

// ReadFunc reads n bytes at byte offset off of one disk.
type ReadFunc func(off int64, n int) ([]byte, error)

// VerifyBIOS says whether a disk boots alone by BIOS with GRUB 2: boot.img in sector 0, and
// GRUB's core.img at the sector boot.img loads, inside the BIOS boot partition (GPT) or the
// gap after the MBR (DOS). size is the disk's size in bytes, ss its logical sector size.
func VerifyBIOS(read ReadFunc, size int64, ss int) Readiness {
	if ss <= 0 {
		ss = 512
	}
	unknown := func(format string, a ...any) Readiness {
		return Readiness{State: BootUnknown, Reason: fmt.Sprintf(format, a...)}
	}
	missing := func(format string, a ...any) Readiness {
		return Readiness{State: BootMissing, Reason: fmt.Sprintf(format, a...)}
	}
	s0, err := read(0, 512)
	if err != nil {
		return unknown("sector 0 could not be read: %v", err)
	}
	switch ParseMBRCode(s0) {
	case MBRNone:
		return missing("no boot code in the MBR")
	case MBRGrubLegacy:
		return unknown("the MBR holds GRUB 0.97's stage1, which raidswap does not verify")
	case MBROther:
		return missing("the MBR holds boot code that is not GRUB 2's boot.img")
	case MBRUnknown:
		return unknown("sector 0 is short")
	}
	core, _ := GrubCoreSector(s0)
	t, err := ReadTable(read, size, ss)
	switch {
	case errors.Is(err, partition.ErrNoTable):
		return missing("boot.img in the MBR but %v", err)
	case err != nil:
		return unknown("the partition table could not be read: %v", err)
	}
	where := ""
	switch t.Scheme {
	case partition.MBR:
		first := t.FirstLBA()
		if core < 1 || (first > 0 && core >= first) {
			return missing("boot.img loads sector %d, which is not in the gap after the MBR (sectors 1–%d)", core, first-1)
		}
		where = "the gap after the MBR"
	case partition.GPT:
		for _, p := range t.Partitions {
			lba, n := p.Start/int64(ss), p.Size/int64(ss)
			if partType(p) == TypeBIOSBoot && core >= lba && core < lba+n {
				where = fmt.Sprintf("BIOS boot partition %d", p.Number)
			}
		}
		if where == "" {
			return missing("boot.img loads sector %d, which is in no BIOS boot partition", core)
		}
	}
	sec, err := read(core*int64(ss), 512)
	if err != nil {
		return unknown("sector %d (core.img) could not be read: %v", core, err)
	}
	if !IsGrubCore(sec) {
		return missing("boot.img in the MBR, but sector %d (%s) holds no GRUB core.img", core, where)
	}
	return Readiness{State: BootOK, Reason: fmt.Sprintf("GRUB 2: boot.img in the MBR, core.img at sector %d (%s)", core, where)}
}

// UEFIVerifier judges a disk of a UEFI system (bootloader/status_uefi.go fills it in); nil
// leaves UEFI disks unknown.
var UEFIVerifier func(root *host.Root, f Facts, d Disk) Readiness

// verifyDisks judges every disk that holds a member of /boot's array.
func verifyDisks(root *host.Root, f *Facts) {
	for i := range f.Disks {
		d := &f.Disks[i]
		if d.BootMember == "" {
			continue
		}
		switch {
		case f.Firmware == FirmwareUEFI && UEFIVerifier != nil:
			d.Ready = UEFIVerifier(root, *f, *d)
		case f.Firmware == FirmwareUEFI:
			d.Ready = Readiness{State: BootUnknown, Reason: "UEFI verification not built"}
		case f.Loader == LoaderGrubLegacy:
			d.Ready = Readiness{State: BootUnknown, Reason: "GRUB 0.97: raidswap does not verify its stage1 and stage2"}
		default:
			od, err := openDisk(root, "/dev/"+d.Name)
			if err != nil {
				d.Ready = Readiness{State: BootUnknown, Reason: "sector 0 could not be read: " + err.Error()}
				continue
			}
			d.Ready = VerifyBIOS(od.read, od.size, d.SectorSize)
			od.f.Close()
		}
	}
}
