package bootloader

import (
	"strings"
	"testing"
)

// TestDecide has one row per row of the decision table (decide.go, doc.go, docs/runbook.md
// section 8), plus the unreachable default.
func TestDecide(t *testing.T) {
	bbp := &Partition{Name: "sda1", Number: 1, Type: TypeBIOSBoot}
	esp := &Partition{Name: "sda1", Number: 1, Type: TypeESP}
	espMD := &Partition{Name: "sda1", Number: 1, Type: TypeESP, MDArray: "md9"}
	gpt := Disk{Name: "sda", Label: "gpt", BIOSBoot: bbp}
	uefi := Disk{Name: "sda", Label: "gpt", ESP: esp}
	md0 := BootDir{Array: "md0", Mountpoint: "/boot", From: "mounted"}
	tests := []struct {
		row  int
		f    Facts
		want Kind
		why  string
	}{
		{1, Facts{Firmware: FirmwareBIOS, Boot: BootDir{Partition: "sda1"}, Loader: LoaderGrub2}, BootNotMirrored, "does not cover"},
		{2, Facts{Firmware: FirmwareBIOS, Loader: LoaderGrub2}, NoBootCode, "no array"},
		{2, Facts{Firmware: FirmwareUEFI}, NoBootCode, "no array"},
		{3, Facts{Firmware: FirmwareBIOS, Boot: md0, Loader: LoaderGrubLegacy, Disks: []Disk{{Label: "dos"}}}, GrubLegacyByHand, "GRUB 0.97"},
		{4, Facts{Firmware: FirmwareBIOS, Boot: md0, Loader: LoaderUnknown}, UnknownLoader, "rather than guess"},
		{5, Facts{Firmware: FirmwareUEFI, Boot: md0, Loader: LoaderGrub2, Disks: []Disk{{Label: "gpt", ESP: espMD}}}, UEFIESPOnMD, "md9"},
		{6, Facts{Firmware: FirmwareUEFI, Boot: md0, Loader: LoaderGrub2, Disks: []Disk{uefi}}, UEFIESPEveryDisk, "ESP on each disk"},
		{6, Facts{Firmware: FirmwareUEFI, Boot: md0, Loader: LoaderSystemdBoot, Disks: []Disk{uefi}}, UEFIESPEveryDisk, "ESP on each disk"},
		{7, Facts{Firmware: FirmwareUEFI, Boot: md0, Loader: LoaderGrub2, Disks: []Disk{gpt}}, UEFIByHand, "no ESP"},
		{8, Facts{Firmware: FirmwareBIOS, Boot: md0, Loader: LoaderGrub2, GrubInstall: true, Disks: []Disk{uefi}}, UEFIFromRescue, "booted by BIOS"},
		{8, Facts{Firmware: FirmwareBIOS, Boot: md0, Loader: LoaderSystemdBoot, Disks: []Disk{gpt}}, UEFIFromRescue, "booted by BIOS"},
		{9, Facts{Firmware: FirmwareBIOS, Boot: md0, Loader: LoaderNone, Disks: []Disk{gpt}}, NoBootCode, "no boot loader found"},
		{10, Facts{Firmware: FirmwareBIOS, Boot: md0, Loader: LoaderGrub2, Disks: []Disk{gpt}}, GrubInstallMissing, "grub2-common"},
		{10, Facts{Firmware: FirmwareBIOS, Boot: md0, Loader: LoaderGrub2, Disks: []Disk{gpt}, GrubInstallProgram: "/usr/sbin/grub2-install", GrubInstallPackage: "grub2-tools"}, GrubInstallMissing,
			"/usr/sbin/grub2-install is not installed: install grub2-tools"},
		{11, Facts{Firmware: FirmwareBIOS, Boot: md0, Loader: LoaderGrub2, GrubInstall: true, Disks: []Disk{gpt}}, GrubBIOSEveryDisk, "md0 holds /boot"},
		// A DOS label with an ESP-type partition and the BIOS boot code: still BIOS.
		{11, Facts{Firmware: FirmwareBIOS, Boot: md0, Loader: LoaderGrub2, GrubInstall: true, Disks: []Disk{{Label: "dos", ESP: &Partition{Type: TypeMBRESP}}}}, GrubBIOSEveryDisk, "md0"},
	}
	for _, tt := range tests {
		d, err := Decide(tt.f)
		if err != nil || d.Kind != tt.want || !strings.Contains(d.Why, tt.why) {
			t.Errorf("row %d: Decide = %v %q, %v; want %v containing %q", tt.row, d.Kind, d.Why, err, tt.want, tt.why)
		}
	}
	if _, err := Decide(Facts{Firmware: FirmwareBIOS, Boot: md0, Loader: "lilo"}); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("an unknown loader value: %v", err)
	}
}

// The ESP on the failed disk only (issue 17, item 14): a known failed ESP with its size and
// FAT type is remade on the new disk (UEFIESPFromFailed); one lacking a fact stays by hand and
// says which fact is missing.
func TestDecideFailedDiskHeldTheOnlyESP(t *testing.T) {
	bbp := &Partition{Name: "vdb1", Number: 1, Type: TypeBIOSBoot}
	surv := Disk{Name: "vdb", Serial: "WD-B", Label: "gpt", BIOSBoot: bbp, Survivor: true}
	md0 := BootDir{Array: "md0", Mountpoint: "/boot", From: "mounted"}
	known := &Partition{Name: "vda1", Number: 1, Type: ESPTypeGUID, SizeBytes: 64 << 20, FSType: "vfat", FSVersion: "FAT16", FSLabel: "EFI", FSUUID: "1A2B-3C4D"}
	noFAT, noSize, notFAT, onMD := *known, *known, *known, *known
	noFAT.FSVersion, noFAT.FSType = "", ""
	noSize.SizeBytes = 0
	notFAT.FSType = "ext4"
	onMD.MDArray = "md9"
	base := Facts{Firmware: FirmwareUEFI, Boot: md0, Loader: LoaderGrub2, Disks: []Disk{surv}, FailedName: "vda", FailedSerial: "WD-A"}
	tests := []struct {
		name string
		esp  *Partition
		from string
		fw   Firmware
		want Kind
		why  []string
	}{
		{"known from discovery", known, "as discovery read it", FirmwareUEFI, UEFIESPFromFailed,
			[]string{"vda (WD-A)", "vda1", "64 MiB", "FAT16", "as discovery read it", "survivor vdb (WD-B) has no ESP and cannot boot alone"}},
		{"known from the inventory", known, "as the inventory last saw it", FirmwareUEFI, UEFIESPFromFailed, []string{"as the inventory last saw it"}},
		{"FAT type unknown", &noFAT, "as the inventory last saw it", FirmwareUEFI, UEFIByHand, []string{"vda (WD-A)", "not known: its FAT type (12, 16 or 32) of its ESP vda1", "section 8"}},
		{"size unknown", &noSize, "as discovery read it", FirmwareUEFI, UEFIByHand, []string{"not known: its size of its ESP vda1"}},
		{"not FAT", &notFAT, "as discovery read it", FirmwareUEFI, UEFIByHand, []string{"holds ext4, not FAT"}},
		{"on md", &onMD, "as discovery read it", FirmwareUEFI, UEFIByHand, []string{"member of md9"}},
		{"nothing known", nil, "", FirmwareUEFI, UEFIByHand, []string{"neither discovery nor the inventory knows an ESP of the failed disk vda (WD-A)"}},
		// Booted by BIOS with a BIOS boot partition: the failed ESP does not matter.
		{"bios", known, "as discovery read it", FirmwareBIOS, GrubInstallMissing, []string{"grub-install"}},
	}
	for _, tt := range tests {
		f := base
		f.Firmware, f.FailedESP, f.FailedESPFrom = tt.fw, tt.esp, tt.from
		d, err := Decide(f)
		if err != nil || d.Kind != tt.want {
			t.Errorf("%s: Decide = %v %q, %v; want %v", tt.name, d.Kind, d.Why, err, tt.want)
			continue
		}
		for _, w := range tt.why {
			if !strings.Contains(d.Why, w) {
				t.Errorf("%s: %q lacks %q", tt.name, d.Why, w)
			}
		}
	}
	if UEFIESPFromFailed.String() != "uefi-esp-from-failed" {
		t.Errorf("String = %q", UEFIESPFromFailed.String())
	}
}
