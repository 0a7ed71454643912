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
