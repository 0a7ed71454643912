package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/inventory"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// The only ESP was on the failed disk (issue 17, item 14): the plan says how to remake it on
// the new disk from its facts (discovery's while the disk is attached, else the inventory's),
// and warns that the survivor cannot boot alone; a failed ESP whose FAT type is not known
// stays by hand, naming the missing fact.
func TestUEFIPlanFailedDiskHeldTheOnlyESP(t *testing.T) {
	const failedGUID = "7a4006c6-5042-4cf5-b2e5-f5a86e21c793"
	vanished := func(f *bootloader.Facts) { f.Disks = f.Disks[:1] }
	for name, tc := range map[string]struct {
		edit    func(*bootloader.Facts) // on uefiFacts with the survivor's ESP removed
		inv     *inventory.ESP          // the inventory's record of the failed disk's ESP
		kind    bootloader.Kind
		want    []string // in the bootloader step's reason
		notes   []string
		notWant []string
	}{
		"attached failed disk: discovery's facts": {
			kind: bootloader.UEFIESPFromFailed,
			// The inventory's stale record loses against discovery.
			inv: &inventory.ESP{Number: 1, Type: bootloader.ESPTypeGUID, SizeBytes: 32 << 20, FATBits: 16, Label: "OLD", VolumeID: "1111-2222"},
			want: []string{"vdb (" + plantest.Old + ")", "as discovery read it",
				"grub-install is not installed; after the rebuild, by hand",
				"sgdisk --new=0:0:+65536K --typecode=0:ef00 /dev/",
				"mkfs.vfat -F 32 -n ESP -i EEA3787A /dev/<new ESP>",
				"--target=x86_64-efi --efi-directory=/boot/efi --bootloader-id=<distribution id> --no-nvram",
				"--removable", "docs/runbook.md section 8",
				"WARNING: the survivor vda (" + plantest.Survivor + ") has no ESP and cannot boot alone by UEFI"},
			notes:   []string{"the survivor vda (" + plantest.Survivor + ") has no ESP and cannot boot alone by UEFI", "needs 64 MiB"},
			notWant: []string{"-n OLD", "1111-2222", "+32768K"},
		},
		"vanished failed disk: the inventory's facts": {
			edit: vanished, kind: bootloader.UEFIESPFromFailed,
			inv: &inventory.ESP{Number: 1, Type: bootloader.ESPTypeGUID, SizeBytes: 512 << 20, FATBits: 16, Label: "EFI", VolumeID: "1A2B-3C4D"},
			want: []string{"as the inventory last saw it", "vdb1", "512 MiB, FAT16",
				"sgdisk --new=0:0:+524288K --typecode=0:ef00 /dev/",
				"mkfs.vfat -F 16 -n EFI -i 1A2B3C4D /dev/<new ESP>"},
			notes: []string{"needs 512 MiB"},
		},
		"vanished failed disk, FAT type not known": {
			edit: vanished, kind: bootloader.UEFIByHand,
			inv:   &inventory.ESP{Number: 1, Type: bootloader.ESPTypeGUID, SizeBytes: 512 << 20},
			notes: []string{"has no ESP", "not known: its FAT type (12, 16 or 32) of its ESP vdb1", "as the inventory last saw it"},
		},
		"vanished failed disk, its ESP never recorded": {
			edit: vanished, kind: bootloader.UEFIByHand,
			notes: []string{"neither discovery nor the inventory knows an ESP of the failed disk vdb (" + plantest.Old + ")"},
		},
		"a label and volume id that are not FAT's are dropped": {
			kind: bootloader.UEFIESPFromFailed,
			edit: func(f *bootloader.Facts) { f.Disks[1].ESP.FSLabel, f.Disks[1].ESP.FSUUID = "A;rm -rf", "zz" },
			want: []string{"mkfs.vfat -F 32 /dev/<new ESP>", `its label "A;rm -rf" is not a plain FAT label; its volume id "zz" is not one`},
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := uefiFacts()
			f.Disks[0].ESP = nil
			if tc.edit != nil {
				tc.edit(&f)
			}
			sys := plantest.Seed()
			if tc.inv != nil {
				sys.Inventory = &inventory.Inventory{Format: 1, Disks: map[string]inventory.Entry{
					plantest.Old: {Serial: plantest.Old, Name: "vdb", ESPPARTUUID: failedGUID, ESP: tc.inv}}}
			}
			// Decide sees what the plan puts into the facts: the failed disk's ESP.
			want := f
			(&builder{sys: sys, failed: &sys.Disks[indexOfSerial(t, sys.Disks, plantest.Old)]}).failedBootESP(&want, f.Disks)
			if d, err := bootloader.Decide(want); err != nil || d.Kind != tc.kind {
				t.Fatalf("the test's facts decide %v (%v), not %v", d.Kind, err, tc.kind)
			}
			// Discovery's facts hold no FailedESP: the plan fills it in.
			sys.Host.Boot = f
			req := uefiSeedReq
			req.Firmware = FirmwareUEFI
			p, err := Build(sys, req, testOpts)
			if err != nil {
				t.Fatal(err)
			}
			s, ok := stepNamed(p, "bootloader")
			if !ok {
				t.Fatalf("no bootloader step: %+v", p.Steps)
			}
			for _, w := range tc.want {
				if !strings.Contains(s.Reason, w) {
					t.Errorf("reason lacks %q:\n%s", w, s.Reason)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(s.Reason, w) {
					t.Errorf("reason holds %q:\n%s", w, s.Reason)
				}
			}
			notes := strings.Join(p.Notes, "\n")
			for _, w := range tc.notes {
				if !strings.Contains(notes, w) {
					t.Errorf("notes lack %q:\n%s", w, notes)
				}
			}
			for _, st := range p.Steps {
				if strings.HasPrefix(string(st.Action), "esp-") || strings.HasPrefix(string(st.Action), "efi-") {
					t.Errorf("step %s runs on an ESP raidswap did not make", st.ID)
				}
			}
		})
	}
}

func indexOfSerial(t *testing.T, disks []discover.Disk, serial string) int {
	t.Helper()
	for i, d := range disks {
		if d.Serial == serial {
			return i
		}
	}
	t.Fatalf("no disk %s", serial)
	return -1
}

// Where it can, raidswap remakes the only ESP itself (issue 17, item 14): the clone adds it,
// esp-mkfs formats it like the failed one, grub-install fills it, and its boot entry takes
// the failed disk's place; where the distribution installs GRUB from packages, or /boot is
// not mounted, the plan stays by hand and says why.
func TestUEFIPlanRemakesTheOnlyESP(t *testing.T) {
	for name, tc := range map[string]struct {
		edit     func(*bootloader.Facts, *discover.System)
		byHand   string
		grubArgv string
		loader   string
	}{
		"debian":           {grubArgv: "/usr/sbin/grub-install --target=x86_64-efi --efi-directory={esp-dir} --bootloader-id=debian --no-nvram --no-uefi-secure-boot", loader: "EFI/debian/grubx64.efi"},
		"debian with shim": {edit: func(f *bootloader.Facts, _ *discover.System) { f.ShimSigned = true }, grubArgv: "--bootloader-id=debian --no-nvram --uefi-secure-boot", loader: "EFI/debian/shimx64.efi"},
		"ubuntu": {edit: func(_ *bootloader.Facts, s *discover.System) {
			s.Host.Profile.Family, s.Host.Profile.OS.ID = host.FamilyUbuntu, "ubuntu"
		}, grubArgv: "--bootloader-id=ubuntu", loader: "EFI/ubuntu/grubx64.efi"},
		"rhel": {edit: func(_ *bootloader.Facts, s *discover.System) {
			s.Host.Profile.Family, s.Host.Profile.OS.ID = host.FamilyRHEL, "rhel"
		}, byHand: "on this distribution (rhel) GRUB for UEFI comes from its packages"},
		"boot not mounted": {edit: func(f *bootloader.Facts, _ *discover.System) { f.Boot.Mountpoint = "" }, byHand: "/boot is not mounted"},
		"dos survivor":     {edit: func(f *bootloader.Facts, _ *discover.System) { f.Disks[0].Label = "dos" }, byHand: "not GPT"},
	} {
		t.Run(name, func(t *testing.T) {
			f := uefiFacts()
			f.Disks[0].ESP = nil
			f.GrubInstall = true
			sys := plantest.Seed()
			sys.Host.Profile.Family, sys.Host.Profile.OS.ID = host.FamilyDebian, "debian"
			if tc.edit != nil {
				tc.edit(&f, sys)
			}
			sys.Host.Boot = f
			req := uefiSeedReq
			req.Firmware = FirmwareUEFI
			p, err := Build(sys, req, testOpts)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range p.Steps {
				ids = append(ids, s.ID)
			}
			clone, _ := stepNamed(p, "partition-clone")
			if tc.byHand != "" {
				s, _ := stepNamed(p, "bootloader")
				if !strings.Contains(s.Reason, tc.byHand) || !strings.Contains(s.Reason, "by hand") || clone.Target.UEFI != nil {
					t.Fatalf("want by hand because %q; clone %+v, steps %v, reason:\n%s", tc.byHand, clone.Target, ids, s.Reason)
				}
				return
			}
			// The seed's survivor has partitions 1-4: the failed ESP's number 1 is taken.
			if u := clone.Target.UEFI; u == nil || u.Part != 5 || u.SizeBytes != 64<<20 {
				t.Fatalf("the clone adds no ESP 5 of 64 MiB: %+v", clone.Target)
			}
			if a := strings.Join(clone.Argv, " "); !strings.Contains(a, "--add-esp 5:67108864") {
				t.Errorf("clone argv %q", a)
			}
			want := []string{"esp-mkfs-new", "esp-grub-install-new", "efi-boot-entry-new", "efi-boot-order", "verify-uefi", "bootloader"}
			var got []string
			for _, id := range ids {
				_, base, _ := strings.Cut(id, "-")
				if slices.Contains(want, base) {
					got = append(got, base)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("boot steps %v in %v, want %v", got, ids, want)
			}
			gi, _ := stepNamed(p, "esp-grub-install-new")
			if a := strings.Join(gi.Argv, " "); !strings.Contains(a, tc.grubArgv) || gi.Target.Device != "{new:5}" {
				t.Errorf("grub-install step %s argv %q, want %q", gi.Target.Device, a, tc.grubArgv)
			}
			en, _ := stepNamed(p, "efi-boot-entry-new")
			if en.Target.UEFI.Loader != tc.loader || !strings.Contains(strings.Join(en.Argv, " "), "--part 5") {
				t.Errorf("boot entry %+v argv %q", en.Target.UEFI, en.Argv)
			}
			mk, _ := stepNamed(p, "esp-mkfs-new")
			if a := strings.Join(mk.Argv, " "); !strings.Contains(a, "-F 32 -n ESP -i EEA3787A {new:5}") {
				t.Errorf("mkfs argv %q", a)
			}
			if bo, _ := stepNamed(p, "efi-boot-order"); !bo.Target.UEFI.OnlyNew || bo.Target.UEFI.FailedPARTUUID == "" {
				t.Errorf("boot order operands %+v", bo.Target.UEFI)
			}
			if !strings.Contains(strings.Join(p.Notes, "\n"), "cannot boot alone by UEFI") {
				t.Errorf("no survivor warning in the notes: %v", p.Notes)
			}
			// Every step derives again from its operands (what apply checks).
			for _, s := range p.Steps {
				argv, err := Derive(sys.Host.Profile, p, s)
				if err != nil || strings.Join(argv, " ") != strings.Join(s.Argv, " ") {
					t.Errorf("step %s derives %q (%v), plan holds %q", s.ID, argv, err, s.Argv)
				}
			}
		})
	}
}
