package bootloader

import (
	"errors"
	"strings"
	"testing"
)

func uefiFacts() Facts {
	esp := func(name string) *Partition {
		return &Partition{Name: name, Number: 1, Type: ESPTypeGUID, SizeBytes: 64 << 20, FSType: "vfat", FSVersion: "FAT32", FSLabel: "ESP", FSUUID: "EEA3-787A"}
	}
	return Facts{Firmware: FirmwareUEFI, Loader: LoaderGrub2, EFILoader: "EFI/debian/grubx64.efi", Boot: BootDir{Array: "md0"},
		Disks: []Disk{{Name: "vda", Serial: "WD-A", Label: "gpt", ESP: esp("vda1"), Survivor: true}, {Name: "vdb", Serial: "WD-OLD", Label: "gpt", ESP: esp("vdb1")}}}
}

func TestUEFISurvivorRefusals(t *testing.T) {
	if d, err := uefiFacts().UEFISurvivor(); err != nil || d.Name != "vda" {
		t.Fatalf("%v %v", d, err)
	}
	for name, tc := range map[string]struct {
		edit func(*Facts)
		want string
	}{
		"ESP on the failed disk only": {func(f *Facts) { f.Disks[0].ESP = nil }, "vda (WD-A): it has no EFI System Partition; only vdb (WD-OLD) had one"},
		"no ESP anywhere":             {func(f *Facts) { f.Disks[0].ESP, f.Disks[1].ESP = nil, nil }, "vda (WD-A): it has no EFI System Partition, so neither"},
		"not FAT":                     {func(f *Facts) { f.Disks[0].ESP.FSType = "ext4" }, "holds ext4, not FAT"},
		"no file system":              {func(f *Facts) { f.Disks[0].ESP.FSType = "" }, "holds no file system, not FAT"},
		"unknown FAT":                 {func(f *Facts) { f.Disks[0].ESP.FSVersion = "" }, "FAT of an unknown type"},
		"no loader":                   {func(f *Facts) { f.EFILoader = "" }, "no loader found"},
		"loader path is not plain":    {func(f *Facts) { f.EFILoader = "EFI/../x.efi" }, "no loader found"},
		"ESP on md, loader not read":  {func(f *Facts) { onMD(f); f.EFILoader = "" }, `no loader found on its ESP md127 (its ESP vda1 is a member) (""): the boot entries would name nothing; mount the ESP at /boot/efi`},
	} {
		f := uefiFacts()
		tc.edit(&f)
		_, err := f.UEFISurvivor()
		var ue *UEFIError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

// onMD makes both ESPs members of md127, as blkid shows a metadata-1.0 member.
func onMD(f *Facts) {
	for i := range f.Disks {
		f.Disks[i].ESP.MDArray, f.Disks[i].ESP.FSType, f.Disks[i].ESP.FSVersion = "md127", "linux_raid_member", "1.0"
	}
}

// TestUEFISurvivorESPOnMD: an ESP that is a member of md127 needs no FAT of its own (the
// array holds it), but a loader read from the array (issue 17, item 5).
func TestUEFISurvivorESPOnMD(t *testing.T) {
	f := uefiFacts()
	onMD(&f)
	if d, err := f.UEFISurvivor(); err != nil || d.Name != "vda" {
		t.Fatalf("%v %v", d, err)
	}
}

func TestRescueCommands(t *testing.T) {
	got := strings.Join(RescueCommands(uefiFacts(), "", "WD-NEW"), "\n")
	for _, want := range []string{
		`/bin/efibootmgr --create-only --disk /dev/vda --part 1 --label 'raidswap WD-A' --loader '\EFI\debian\grubx64.efi'`,
		`--disk '/dev/<new disk WD-NEW>' --part 1 --label 'raidswap WD-NEW'`,
		"--bootorder",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}
