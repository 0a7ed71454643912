package plan

import (
	"fmt"

	"github.com/raidswap/raidswap/bootloader"

	"github.com/raidswap/raidswap/internal/discover"
)

// bootSteps install boot code on every member disk of the array holding /boot (or /).
func (b *builder) bootSteps() {
	var boot *discover.Array
	for _, mp := range []string{"/boot", "/"} {
		for _, r := range b.arrays {
			for _, m := range r.a.Mountpoints {
				if m == mp && boot == nil {
					boot = r.a
				}
			}
		}
	}
	f := bootloader.Facts{Firmware: bootloader.FirmwareBIOS}
	if b.req.Firmware == FirmwareUEFI {
		f.Firmware = bootloader.FirmwareUEFI
	}
	if boot != nil {
		f.Boot.Array = boot.Name
	}
	d, err := bootloader.Decide(f)
	if err != nil {
		b.err = err
		return
	}
	switch d.Kind {
	case bootloader.NoBootCode, bootloader.UEFIByHand:
		why := d.Why
		if d.Kind == bootloader.NoBootCode {
			why = fmt.Sprintf("no array of %s holds /boot or /: no boot code to install", b.failed.Label())
		}
		b.add(Step{ID: "bootloader", Action: ActionBootloader, Reason: why})
		return
	case bootloader.GrubBIOSEveryDisk:
	default:
		b.err = fmt.Errorf("unreachable: boot decision %d", d.Kind)
		return
	}
	s := b.survivor
	b.add(Step{ID: "bootloader-" + s.Name, Action: ActionBootloader, Destructive: true,
		Target:        Target{Device: s.Name, Serial: s.Serial},
		Preconditions: []Condition{b.survivorSerialCond()},
		Reason: fmt.Sprintf("%s holds /boot: reinstall GRUB's boot code on the survivor %s too, so both disks boot alone with the same GRUB; it writes only the MBR boot code area and the BIOS boot partition, never the partition table or an md member",
			boot.Name, s.Label()),
		Undo: "reinstall: grub-install --target=i386-pc /dev/" + s.Name})
	b.add(Step{ID: "bootloader-new", Action: ActionBootloader, Destructive: true,
		Target:        Target{Device: NewDiskToken, Serial: b.req.New},
		Preconditions: []Condition{{Kind: CondDiskPresent, Device: NewDiskToken, Serial: b.req.New, Text: "the new disk is attached"}},
		Reason:        fmt.Sprintf("install GRUB's boot code on the new disk, so it boots if %s fails next", s.Label()),
		Undo:          "none needed"})
}
