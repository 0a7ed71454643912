package plan

import (
	"errors"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// espOnMDFacts are uefiFacts with both ESPs members of md127, as blkid shows a member.
func espOnMDFacts() bootloader.Facts {
	f := uefiFacts()
	for i := range f.Disks {
		f.Disks[i].ESP.MDArray, f.Disks[i].ESP.MDState = "md127", "in_sync"
		f.Disks[i].ESP.FSType, f.Disks[i].ESP.FSVersion, f.Disks[i].ESP.FSLabel, f.Disks[i].ESP.FSUUID = "linux_raid_member", "1.0", "", ""
	}
	return f
}

// TestUEFILayoutPlans: the plans for the UEFI layouts of issue 17. An ESP mirrored on md
// (item 5) is rebuilt like any RAID1 and gets a boot entry per member partition, never a
// mkfs or a copy; an ESP holding only the removable-media loader (item 15) is copied to the
// new disk and the entries name EFI/BOOT/BOOTX64.EFI.
func TestUEFILayoutPlans(t *testing.T) {
	entry := func(disk, serial, loader string) string {
		return "/bin/efibootmgr --create-only --disk " + disk + " --part 1 --label 'raidswap " + serial + "' --loader '" + loader + "'"
	}
	for name, tc := range map[string]struct {
		sys   *discover.System
		facts func() bootloader.Facts
		kind  bootloader.Kind
		// want are step names (without number) and a piece of their command or reason;
		// notWant are step names the plan must not hold.
		want    map[string]string
		notWant []string
		err     string // an *InputError with this text
	}{
		"ESP on md: rebuilt by md, an entry per member": {
			sys: plantest.ESPOnMD(), facts: espOnMDFacts, kind: bootloader.UEFIESPOnMD,
			want: map[string]string{
				"add-md127":          "{new:1}",
				"esp-fallback-vda1":  "(written through the array md127, so every member gets it)",
				"efi-boot-entry-vda": entry("/dev/vda", plantest.Survivor, `\EFI\debian\grubx64.efi`),
				"efi-boot-entry-new": entry("{new}", plantest.New, `\EFI\debian\grubx64.efi`),
				"efi-boot-order":     "",
				"verify-uefi":        "the fallback path on the ESP array md127",
			},
			notWant: []string{"esp-mkfs-new", "esp-sync-new"},
		},
		"ESP on md from a rescue system: md copies it, the entries are for later": {
			sys: plantest.ESPOnMD(), facts: espOnMDFacts, kind: bootloader.UEFIFromRescue,
			want: map[string]string{
				"add-md127":              "{new:1}",
				"efi-boot-entries-later": `--create-only --disk /dev/vda --part 1 --label 'raidswap ` + plantest.Survivor + `' --loader '\EFI\debian\grubx64.efi'`,
				"verify-uefi":            "the fallback path on the ESP array md127",
			},
			notWant: []string{"esp-mkfs-new", "esp-sync-new", "efi-boot-entry-vda", "efi-boot-order"},
		},
		"ESP on md, loader not read (the array not mounted)": {
			sys: plantest.ESPOnMD(), kind: bootloader.UEFIESPOnMD,
			facts: func() bootloader.Facts { f := espOnMDFacts(); f.EFILoader = ""; return f },
			err:   "no loader found on its ESP md127 (its ESP vda1 is a member)",
		},
		"removable-only ESP: copied, the entries name the fallback path": {
			sys: plantest.Seed(), kind: bootloader.UEFIESPEveryDisk,
			facts: func() bootloader.Facts { f := uefiFacts(); f.EFILoader = bootloader.FallbackPath; return f },
			want: map[string]string{
				"esp-fallback-vda1":  "copy EFI/BOOT/BOOTX64.EFI there",
				"esp-mkfs-new":       "/sbin/mkfs.vfat -F 32 -n ESP -i EEA3787A {new:1}",
				"esp-sync-new":       "each verified by SHA-256",
				"efi-boot-entry-vda": entry("/dev/vda", plantest.Survivor, `\EFI\BOOT\BOOTX64.EFI`),
				"efi-boot-entry-new": entry("{new}", plantest.New, `\EFI\BOOT\BOOTX64.EFI`),
			},
		},
		"removable-only ESP from a rescue system: the firmware's removable-media boot finds it": {
			sys: plantest.Seed(), kind: bootloader.UEFIFromRescue,
			facts: func() bootloader.Facts { f := uefiFacts(); f.EFILoader = bootloader.FallbackPath; return f },
			want: map[string]string{
				"esp-sync-new":           "each verified by SHA-256",
				"efi-boot-entries-later": `each disk boots by its fallback path`,
			},
			notWant: []string{"efi-boot-entry-vda", "efi-boot-order"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := uefiPlan(t, tc.sys, uefiSeedReq, tc.facts(), tc.kind)
			if tc.err != "" {
				var ie *InputError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Build: %v, want an input error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for step, want := range tc.want {
				s, ok := stepNamed(p, step)
				if !ok {
					t.Errorf("no step %s in\n%s", step, stepIDs(p))
					continue
				}
				if got := Command(s.Argv) + "\n" + s.Reason; !strings.Contains(got, want) {
					t.Errorf("%s: %s\nwant %q", step, got, want)
				}
			}
			for _, step := range tc.notWant {
				if _, ok := stepNamed(p, step); ok {
					t.Errorf("the plan holds %s:\n%s", step, stepIDs(p))
				}
			}
		})
	}
}

func stepIDs(p *Plan) string {
	var ids []string
	for _, s := range p.Steps {
		ids = append(ids, s.ID)
	}
	return strings.Join(ids, "\n")
}
