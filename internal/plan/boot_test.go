package plan

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

type bootCase struct {
	name string
	sys  func() *discover.System
}

// seedWith is the seed scenario with its boot facts changed by edit.
func seedWith(edit func(f *bootloader.Facts)) func() *discover.System {
	return func() *discover.System {
		s := plantest.Seed()
		edit(&s.Host.Boot)
		return s
	}
}

func bootCases() []bootCase {
	return []bootCase{
		{"boot-not-mounted", seedWith(func(f *bootloader.Facts) {
			f.Boot.Mountpoint, f.Boot.From = "", "fstab"
			f.DebconfGrubPC, f.InstallDevices = true, []string{"/dev/disk/by-id/virtio-WD-SURV", "/dev/disk/by-id/virtio-WD-OLD"}
		})},
		{"boot-dos", seedWith(func(f *bootloader.Facts) {
			for i := range f.Disks {
				f.Disks[i].Label, f.Disks[i].BIOSBoot, f.Disks[i].GapSectors = "dos", nil, 2047
			}
		})},
		{"boot-legacy", seedWith(func(f *bootloader.Facts) {
			f.Loader, f.LoaderFrom, f.Boot.Metadata = bootloader.LoaderGrubLegacy, "/boot/grub holds GRUB 0.97's stage1 and grub.conf or menu.lst", "0.90"
			for i := range f.Disks {
				f.Disks[i].Label, f.Disks[i].BIOSBoot, f.Disks[i].MBRCode = "dos", nil, bootloader.MBRGrubLegacy
				f.Disks[i].BIOSDrive, f.Disks[i].BIOSDriveFrom = "hd"+string(rune('0'+i)), "/boot/grub/device.map"
			}
		})},
	}
}

// TestBootDecisionsInPlans: every kind that installs nothing says why, in a step and (where
// the operator must act) a note; none is a silent skip.
func TestBootDecisionsInPlans(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(f *bootloader.Facts)
		want string
		note bool
	}{
		{"not mirrored", func(f *bootloader.Facts) { f.Boot = bootloader.BootDir{Partition: "vda1", Mountpoint: "/boot"} }, "the mirror does not cover it", true},
		{"unknown loader", func(f *bootloader.Facts) { f.Loader, f.LoaderFrom = bootloader.LoaderUnknown, "syslinux" }, "rather than guess", true},
		{"grub-install missing", func(f *bootloader.Facts) { f.GrubInstall = false }, "grub-install is not installed", true},
		{"uefi without an ESP on the survivor", func(f *bootloader.Facts) {
			f.Firmware = bootloader.FirmwareUEFI
		}, "has no ESP", true},
		{"no BIOS boot partition", func(f *bootloader.Facts) { f.Disks[0].BIOSBoot = nil }, "no BIOS boot partition", true},
		{"small gap", func(f *bootloader.Facts) {
			f.Disks[0].Label, f.Disks[0].BIOSBoot, f.Disks[0].GapSectors = "dos", nil, 30
		}, "too small", true},
		{"no loader", func(f *bootloader.Facts) {
			f.Loader, f.LoaderFrom = bootloader.LoaderNone, "/boot holds no boot loader files"
		}, "no boot loader found", false},
		{"not detected", func(f *bootloader.Facts) { *f = bootloader.Facts{} }, "were not read", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Build(seedWith(tt.edit)(), scenarios[0].req, testOpts)
			if err != nil {
				t.Fatal(err)
			}
			var boot []Step
			for _, s := range p.Steps {
				if s.Action == ActionBootloader {
					boot = append(boot, s)
				}
			}
			if len(boot) != 1 || boot[0].Target.Device != "" || !strings.Contains(boot[0].Reason, tt.want) {
				t.Fatalf("bootloader steps %+v, want one note with %q", boot, tt.want)
			}
			if got := strings.Contains(strings.Join(p.Notes, "\n"), tt.want); got != tt.note {
				t.Errorf("notes %q: contains %q = %t, want %t", p.Notes, tt.want, got, tt.note)
			}
		})
	}
}
