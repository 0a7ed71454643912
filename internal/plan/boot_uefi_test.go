package plan

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// uefiFacts are the seed layout's boot facts on a UEFI server, built by hand (detection is
// bootloader/detect.go's): an ESP as partition 1 of each disk, /boot on md0, GRUB.
func uefiFacts() bootloader.Facts {
	esp := func(name, partuuid string) *bootloader.Partition {
		return &bootloader.Partition{Name: name, Number: 1, PARTUUID: partuuid, Type: bootloader.ESPTypeGUID, SizeBytes: 64 << 20,
			FSType: "vfat", FSVersion: "FAT32", FSLabel: "ESP", FSUUID: "EEA3-787A"}
	}
	return bootloader.Facts{Firmware: bootloader.FirmwareUEFI, Loader: bootloader.LoaderGrub2, EFILoader: "EFI/debian/grubx64.efi",
		Boot: bootloader.BootDir{Array: "md0", Mountpoint: "/boot"},
		Disks: []bootloader.Disk{
			{Name: "vda", Serial: plantest.Survivor, Label: "gpt", ESP: esp("vda1", "c9f42866-ee88-4004-a032-2dbf3696c113"), Survivor: true},
			{Name: "vdb", Serial: plantest.Old, Label: "gpt", ESP: esp("vdb1", "7a4006c6-5042-4cf5-b2e5-f5a86e21c793")},
		}}
}

// uefiPlan is the plan Build makes for req when discovery read the boot facts f; kind is
// the decision the test means f to give (checked, so a fixture cannot drift into another
// row of the table). UEFIFromRescue is the same disks seen from a system booted by BIOS.
func uefiPlan(t testing.TB, sys *discover.System, req Request, f bootloader.Facts, kind bootloader.Kind) (*Plan, error) {
	t.Helper()
	if kind == bootloader.UEFIFromRescue {
		f.Firmware = bootloader.FirmwareBIOS
		req.Firmware = FirmwareBIOS
	} else {
		req.Firmware = FirmwareUEFI
	}
	if d, err := bootloader.Decide(f); err != nil || d.Kind != kind {
		t.Fatalf("the test's facts decide %v (%v), not %v", d.Kind, err, kind)
	}
	sys.Host.Boot = f
	return Build(sys, req, testOpts)
}

// stepNamed finds a step by its ID without the number.
func stepNamed(p *Plan, name string) (Step, bool) {
	for _, s := range p.Steps {
		if _, rest, _ := strings.Cut(s.ID, "-"); rest == name {
			return s, true
		}
	}
	return Step{}, false
}

var uefiSeedReq = Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Swap: seedSwap()}

func TestUEFIStepsEveryDisk(t *testing.T) {
	p, err := uefiPlan(t, plantest.Seed(), uefiSeedReq, uefiFacts(), bootloader.UEFIESPEveryDisk)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Steps {
		if strings.HasPrefix(string(s.Action), "esp-") || strings.HasPrefix(string(s.Action), "efi-") || s.Action == ActionVerifyUEFI {
			_, id, _ := strings.Cut(s.ID, "-")
			got = append(got, id+" "+Command(s.Argv))
		}
	}
	want := []string{
		"esp-fallback-vda1 ",
		"esp-mkfs-new /sbin/mkfs.vfat -F 32 -n ESP -i EEA3787A {new:1}",
		"esp-sync-new ",
		"efi-boot-entry-vda /bin/efibootmgr --create-only --disk /dev/vda --part 1 --label 'raidswap " + plantest.Survivor + `' --loader '\EFI\debian\grubx64.efi'`,
		"efi-boot-entry-new /bin/efibootmgr --create-only --disk {new} --part 1 --label 'raidswap " + plantest.New + `' --loader '\EFI\debian\grubx64.efi'`,
		"efi-boot-order ",
		"verify-uefi ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("UEFI steps:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestUEFIStepsShimAndUnknownNewSerial(t *testing.T) {
	f := uefiFacts()
	f.Shim, f.EFILoader = true, "EFI/debian/shimx64.efi"
	req := uefiSeedReq
	req.New = ""
	p, err := uefiPlan(t, plantest.Seed(), req, f, bootloader.UEFIESPEveryDisk)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := stepNamed(p, "efi-boot-entry-new")
	if got := Command(s.Argv); !strings.Contains(got, "--label 'raidswap "+NewSerialToken+"'") || !strings.Contains(got, `shimx64.efi`) {
		t.Errorf("new disk's entry: %s", got)
	}
	fb, _ := stepNamed(p, "esp-fallback-vda1")
	if !strings.Contains(fb.Reason, "shimx64.efi), with grubx64.efi and mmx64.efi beside it") {
		t.Errorf("fallback reason: %s", fb.Reason)
	}
}

func TestUEFIStepsRescueAndMD(t *testing.T) {
	p, err := uefiPlan(t, plantest.Seed(), uefiSeedReq, uefiFacts(), bootloader.UEFIFromRescue)
	if err != nil {
		t.Fatal(err)
	}
	later, ok := stepNamed(p, "efi-boot-entries-later")
	if !ok || !strings.Contains(later.Reason, "booted by BIOS") || !strings.Contains(later.Reason, "--create-only --disk /dev/vda --part 1") {
		t.Errorf("rescue: %+v", later)
	}
	for _, s := range p.Steps {
		if s.Action == ActionEFIEntry || s.Action == ActionEFIBootOrder {
			t.Errorf("rescue plan writes boot entries: %s", s.ID)
		}
	}
	f := uefiFacts()
	for i := range f.Disks {
		f.Disks[i].ESP.MDArray = "md127"
		f.Disks[i].ESP.FSType = "linux_raid_member"
	}
	p, err = uefiPlan(t, plantest.Seed(), uefiSeedReq, f, bootloader.UEFIESPOnMD)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Steps {
		if s.Action == ActionESPFormat || s.Action == ActionESPSync {
			t.Errorf("ESP on md: %s writes the new member under md", s.ID)
		}
		if s.Action == ActionESPFallback && (s.Target.UEFI == nil || s.Target.UEFI.MDArray != "md127") {
			t.Errorf("ESP on md: %s writes the fallback path beside the array: %+v", s.ID, s.Target.UEFI)
		}
	}
	if _, ok := stepNamed(p, "efi-boot-order"); !ok {
		t.Errorf("ESP on md: no boot order step")
	}
}

func TestUEFIStepsRefuse(t *testing.T) {
	// The ESP was on the failed disk only: the survivor has none to copy, and the plan says so
	// by name instead of making a new disk that cannot boot either.
	// Neither discovery nor the inventory knows the failed disk's ESP (boot_uefi_failed_test.go
	// has the plans when one of them does).
	f := uefiFacts()
	f.Disks[0].ESP, f.Disks[1].ESP = nil, nil
	p, err := uefiPlan(t, plantest.Seed(), uefiSeedReq, f, bootloader.UEFIByHand)
	if err != nil {
		t.Fatal(err)
	}
	if notes := strings.Join(p.Notes, "\n"); !strings.Contains(notes, "vda ("+plantest.Survivor+")") || !strings.Contains(notes, "has no ESP") {
		t.Errorf("ESP on one disk: notes %q", p.Notes)
	}
}

func TestDeriveUEFIRefusesForgedOperands(t *testing.T) {
	p, err := uefiPlan(t, plantest.Seed(), uefiSeedReq, uefiFacts(), bootloader.UEFIESPEveryDisk)
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*Step){
		"mkfs on the survivor":      func(s *Step) { s.Target.Device = "vda1" },
		"mkfs on another partition": func(s *Step) { s.Target.Device = "{new:2}" },
		"loader path escapes":       func(s *Step) { s.Target.UEFI.Loader = "EFI/../../etc/x.efi" },
		"label with a shell":        func(s *Step) { s.Target.UEFI.Label = "$(reboot)" },
		"entry without a serial":    func(s *Step) { s.Target.Serial = "" },
		"failed ESP forged":         func(s *Step) { s.Target.UEFI.FailedPARTUUID = "$(reboot)" },
		"no operands":               func(s *Step) { s.Target.UEFI = nil },
		"partition number":          func(s *Step) { s.Target.UEFI.Part = 0 },
	} {
		ids := map[string]string{"mkfs on the survivor": "esp-mkfs-new", "mkfs on another partition": "esp-mkfs-new", "loader path escapes": "efi-boot-entry-vda",
			"label with a shell": "esp-mkfs-new", "entry without a serial": "efi-boot-entry-vda", "failed ESP forged": "efi-boot-order", "no operands": "esp-sync-new", "partition number": "verify-uefi"}
		s, ok := stepNamed(p, ids[name])
		if !ok {
			t.Fatalf("%s: no step %s", name, ids[name])
		}
		if s.Target.UEFI != nil {
			u := *s.Target.UEFI
			s.Target.UEFI = &u
		}
		edit(&s)
		if _, err := Derive(host.Profile{}, p, s); err == nil {
			t.Errorf("%s: derived", name)
		}
	}
}

// TestUEFIStepsSerialNeedsSafeLabel: issue 18, item 13. Serials with a space, '/' and '+'
// (real drives have them) used to stop plan.Build with "unreachable: the plan's own step does
// not derive: ... cannot label a boot entry". The plan now labels each entry with the
// serial's safe form (bootloader.EntryLabel), derives it, and says which label.
func TestUEFIStepsSerialNeedsSafeLabel(t *testing.T) {
	const surv, nw = "WD S/1+A", "WD N/2+B"
	sys := plantest.Seed()
	for i := range sys.Disks {
		if sys.Disks[i].Serial == plantest.Survivor {
			sys.Disks[i].Serial = surv
		}
	}
	for ai := range sys.Arrays {
		for mi := range sys.Arrays[ai].Members {
			if m := &sys.Arrays[ai].Members[mi]; m.Serial == plantest.Survivor {
				m.Serial = surv
			}
		}
	}
	f := uefiFacts()
	f.Disks[0].Serial = surv
	req := uefiSeedReq
	req.New = nw
	p, err := uefiPlan(t, sys, req, f, bootloader.UEFIESPEveryDisk)
	if err != nil {
		t.Fatalf("a serial with a space, '/' and '+' blocks the plan: %v", err)
	}
	for id, label := range map[string]string{"efi-boot-entry-vda": "raidswap WD%20S%2F1%2BA", "efi-boot-entry-new": "raidswap WD%20N%2F2%2BB"} {
		s, ok := stepNamed(p, id)
		if !ok {
			t.Fatalf("no step %s", id)
		}
		if !strings.Contains(Command(s.Argv), "--label '"+label+"'") {
			t.Errorf("%s: %s, want the label %q", id, Command(s.Argv), label)
		}
		if !strings.Contains(s.Reason, label) || !strings.Contains(s.Reason, "in the form a boot entry label takes") {
			t.Errorf("%s does not say which label: %s", id, s.Reason)
		}
		if argv, err := Derive(host.Profile{}, p, s); err != nil || Command(argv) != Command(s.Argv) {
			t.Errorf("%s derives %v, %v", id, argv, err)
		}
	}
	// A plain serial's label is the serial, and the plan adds no word about it.
	p, err = uefiPlan(t, plantest.Seed(), uefiSeedReq, uefiFacts(), bootloader.UEFIESPEveryDisk)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := stepNamed(p, "efi-boot-entry-vda"); strings.Contains(s.Reason, "the form a boot entry label takes") {
		t.Errorf("plain serial: %s", s.Reason)
	}
}

// TestUEFIBootOrderKnowsFailedESP: issue 18, item 4. efi-boot-order carries the failed disk's
// serial and its ESP's PARTUUID (discovery's when the disk is attached, else the
// inventory's), and says it removes those entries and no other.
func TestUEFIBootOrderKnowsFailedESP(t *testing.T) {
	const oldESP = "7a4006c6-5042-4cf5-b2e5-f5a86e21c793"
	order := func(p *Plan) *UEFITarget {
		t.Helper()
		s, ok := stepNamed(p, "efi-boot-order")
		if !ok || s.Target.UEFI == nil {
			t.Fatal("no efi-boot-order step")
		}
		if _, err := Derive(host.Profile{}, p, s); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(s.Reason, "no attached disk has") || !strings.Contains(s.Reason, "another system's stays") {
			t.Errorf("reason: %s", s.Reason)
		}
		return s.Target.UEFI
	}
	// Attached (md failed it): the boot facts know its ESP.
	p, err := uefiPlan(t, plantest.Seed(), uefiSeedReq, uefiFacts(), bootloader.UEFIESPEveryDisk)
	if err != nil {
		t.Fatal(err)
	}
	if u := order(p); u.Failed != plantest.Old || u.FailedPARTUUID != oldESP {
		t.Errorf("attached: failed %q, ESP %q", u.Failed, u.FailedPARTUUID)
	}
	// Vanished: the inventory remembers it.
	f := uefiFacts()
	f.Disks = f.Disks[:1]
	sys := plantest.Vanished()
	e := sys.Inventory.Disks[plantest.Old]
	e.ESPPARTUUID = oldESP
	sys.Inventory.Disks[plantest.Old] = e
	p, err = uefiPlan(t, sys, uefiSeedReq, f, bootloader.UEFIESPEveryDisk)
	if err != nil {
		t.Fatal(err)
	}
	if u := order(p); u.Failed != plantest.Old || u.FailedPARTUUID != oldESP {
		t.Errorf("vanished: failed %q, ESP %q", u.Failed, u.FailedPARTUUID)
	}
	// Known to neither: raidswap's own entries only, and a note says so.
	p, err = uefiPlan(t, plantest.Vanished(), uefiSeedReq, f, bootloader.UEFIESPEveryDisk)
	if err != nil {
		t.Fatal(err)
	}
	if u := order(p); u.Failed != plantest.Old || u.FailedPARTUUID != "" {
		t.Errorf("unknown: failed %q, ESP %q", u.Failed, u.FailedPARTUUID)
	}
	if !strings.Contains(strings.Join(p.Notes, "\n"), "removes only raidswap's own entries") {
		t.Errorf("notes: %q", p.Notes)
	}
}

func TestUEFIStepsSystemdBoot(t *testing.T) {
	f := uefiFacts()
	f.Loader, f.EFILoader = bootloader.LoaderSystemdBoot, "EFI/systemd/systemd-bootx64.efi"
	p, err := uefiPlan(t, plantest.Seed(), uefiSeedReq, f, bootloader.UEFIESPEveryDisk)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"efi-boot-entry-vda", "efi-boot-entry-new"} {
		s, _ := stepNamed(p, id)
		if got := Command(s.Argv); !strings.Contains(got, `--loader '\EFI\systemd\systemd-bootx64.efi'`) {
			t.Errorf("%s: %s", id, got)
		}
	}
	fb, _ := stepNamed(p, "esp-fallback-vda1")
	if !strings.Contains(fb.Reason, "copy EFI/systemd/systemd-bootx64.efi there as EFI/BOOT/BOOTX64.EFI") {
		t.Errorf("fallback: %s", fb.Reason)
	}
}
