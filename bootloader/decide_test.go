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
