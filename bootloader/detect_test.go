package bootloader

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
)

const configDat = `Name: debconf/frontend
Template: debconf/frontend
Value: Noninteractive
Owners: debconf

Name: grub-pc/install_devices
Template: grub-pc/install_devices
Value: /dev/disk/by-id/ata-WDC_A, /dev/disk/by-id/ata-WDC_B
Owners: grub-pc
Flags: seen

Name: grub-pc/install_devices_empty
Template: grub-pc/install_devices_empty
Value: false
Owners: grub-pc
`

func twoDisks() []DiskIn {
	return []DiskIn{{Name: "sda", Serial: "SURV", Partitions: []string{"sda1", "sda2", "sda3"}},
		{Name: "sdb", Serial: "NEWD", Partitions: []string{"sdb1", "sdb2", "sdb3"}}}
}

func mirrored(mounts map[string][]string) Input {
	return Input{Disks: twoDisks(), Arrays: map[string]string{"md0": "1.0", "md1": "1.2"},
		Members: map[string]string{"sda2": "md0", "sdb2": "md0", "sda3": "md1", "sdb3": "md1"}, Mounts: mounts}
}

var gptBIOS = []imgPart{{TypeBIOSBoot, 2048, 4095}, {"a19d880f-05fc-4d3b-a006-743f0f84911e", 4096, 6143}, {"a19d880f-05fc-4d3b-a006-743f0f84911e", 6144, 8000}}

// TestDetectMatrix runs detection over fixture trees with small disk images: one row per
// layout the decision table distinguishes.
func TestDetectMatrix(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		imgs  map[string]imgSpec
		in    Input
		check func(t *testing.T, f Facts)
	}{
		{"gpt, BIOS boot partition, /boot mounted, GRUB 2 on both",
			map[string]string{"boot/grub/i386-pc/": "", "proc/self/mounts": "/dev/md0 /boot ext4 rw 0 0\n/dev/md1 / ext4 rw 0 0\n",
				"var/cache/debconf/config.dat": configDat, "usr/sbin/grub-install": "#!"},
			map[string]imgSpec{"sda": {label: "gpt", code: MBRGrub2, parts: gptBIOS, core: 2048}, "sdb": {label: "gpt", code: MBRGrub2, parts: gptBIOS, core: 2048}},
			mirrored(map[string][]string{"md0": {"/boot"}, "md1": {"/"}}),
			func(t *testing.T, f Facts) {
				want := BootDir{Array: "md0", Mountpoint: "/boot", FSType: "ext4", Metadata: "1.0", From: "mounted"}
				if f.Boot != want || f.Loader != LoaderGrub2 || f.Firmware != FirmwareBIOS || !f.GrubInstall {
					t.Errorf("boot %+v loader %s firmware %s grub-install %t", f.Boot, f.Loader, f.Firmware, f.GrubInstall)
				}
				for _, d := range f.Disks {
					if d.Label != "gpt" || d.MBRCode != MBRGrub2 || d.BIOSBoot == nil || d.BIOSBoot.Number != 1 || d.BIOSBoot.SizeBytes != 1<<20 || d.BootMember != d.Name+"2" {
						t.Errorf("%s: %+v bios boot %+v", d.Name, d, d.BIOSBoot)
					}
				}
				if !f.DebconfGrubPC || !reflect.DeepEqual(f.InstallDevices, []string{"/dev/disk/by-id/ata-WDC_A", "/dev/disk/by-id/ata-WDC_B"}) {
					t.Errorf("debconf %t %q", f.DebconfGrubPC, f.InstallDevices)
				}
			}},
		{"rhel names: grub2-install is GRUB's installer, no debconf",
			map[string]string{"boot/grub2/i386-pc/": "", "proc/self/mounts": "/dev/md0 /boot ext4 rw 0 0\n/dev/md1 / ext4 rw 0 0\n",
				"usr/sbin/grub2-install": "#!"},
			map[string]imgSpec{"sda": {label: "gpt", code: MBRGrub2, parts: gptBIOS, core: 2048}, "sdb": {label: "gpt", code: MBRGrub2, parts: gptBIOS, core: 2048}},
			withProfile(mirrored(map[string][]string{"md0": {"/boot"}, "md1": {"/"}}), host.FamilyRHEL),
			func(t *testing.T, f Facts) {
				if !f.GrubInstall || f.Loader != LoaderGrub2 || f.DebconfGrubPC || f.DebconfGrubEFI {
					t.Errorf("grub-install %t loader %s debconf %t %t", f.GrubInstall, f.Loader, f.DebconfGrubPC, f.DebconfGrubEFI)
				}
			}},
		{"debian names: grub2-install alone is not Debian's installer",
			map[string]string{"boot/grub/i386-pc/": "", "proc/self/mounts": "/dev/md0 /boot ext4 rw 0 0\n/dev/md1 / ext4 rw 0 0\n",
				"usr/sbin/grub2-install": "#!"},
			map[string]imgSpec{"sda": {label: "gpt", code: MBRGrub2, parts: gptBIOS, core: 2048}, "sdb": {label: "gpt", code: MBRGrub2, parts: gptBIOS, core: 2048}},
			withProfile(mirrored(map[string][]string{"md0": {"/boot"}, "md1": {"/"}}), host.FamilyDebian),
			func(t *testing.T, f Facts) {
				if f.GrubInstall {
					t.Error("grub-install found on Debian where only grub2-install is")
				}
			}},
		{"ubuntu: grub-efi/install_devices read beside grub-pc's",
			map[string]string{"boot/grub/i386-pc/": "", "proc/self/mounts": "/dev/md0 /boot ext4 rw 0 0\n/dev/md1 / ext4 rw 0 0\n",
				"var/cache/debconf/config.dat": configDat + "\nName: grub-efi/install_devices\nTemplate: grub-efi/install_devices\nValue: /dev/disk/by-id/ata-WDC_A-part1, /dev/disk/by-id/ata-WDC_B-part1\nOwners: grub-efi-amd64-signed\n",
				"usr/sbin/grub-install":        "#!"},
			map[string]imgSpec{"sda": {label: "gpt", code: MBRGrub2, parts: gptBIOS, core: 2048}, "sdb": {label: "gpt", code: MBRGrub2, parts: gptBIOS, core: 2048}},
			withProfile(mirrored(map[string][]string{"md0": {"/boot"}, "md1": {"/"}}), host.FamilyUbuntu),
			func(t *testing.T, f Facts) {
				if !f.DebconfGrubEFI || !reflect.DeepEqual(f.EFIInstallDevices, []string{"/dev/disk/by-id/ata-WDC_A-part1", "/dev/disk/by-id/ata-WDC_B-part1"}) || !f.DebconfGrubPC {
					t.Errorf("debconf grub-efi %t %q, grub-pc %t", f.DebconfGrubEFI, f.EFIInstallDevices, f.DebconfGrubPC)
				}
			}},
		{"dos, post-MBR gap, /boot in fstab by UUID, not mounted",
			map[string]string{"etc/fstab": "# comment\nUUID=1234-abcd /boot ext4 defaults 0 2\n", "dev/disk/by-uuid/1234-abcd": "->../../md0",
				"proc/self/mounts": "/dev/md1 / ext4 rw 0 0\n"},
			map[string]imgSpec{"sda": {label: "dos", code: MBRGrub2, core: 1, sig: 0xdeadbeef, parts: []imgPart{{"0xfd", 2048, 4095}, {"0xfd", 4096, 8000}}},
				"sdb": {label: "dos", code: MBRNone, sig: 0x1, parts: []imgPart{{"0xfd", 2048, 4095}, {"0xfd", 4096, 8000}}}},
			mirrored(map[string][]string{"md1": {"/"}}),
			func(t *testing.T, f Facts) {
				if f.Boot.Array != "md0" || f.Boot.Mountpoint != "" || f.Boot.From != "fstab" || f.Boot.FSType != "ext4" {
					t.Errorf("boot %+v", f.Boot)
				}
				if f.Loader != LoaderGrub2 || !strings.Contains(f.LoaderFrom, "not mounted") {
					t.Errorf("loader %s (%s)", f.Loader, f.LoaderFrom)
				}
				a, b := f.Disks[0], f.Disks[1]
				if a.Label != "dos" || a.GapSectors != 2047 || a.MBRCode != MBRGrub2 || b.MBRCode != MBRNone || a.BIOSBoot != nil || a.FirstPartitionLBA != 2048 {
					t.Errorf("disks %+v %+v", a, b)
				}
			}},
		{"/boot a directory on the root array; survivor without boot code",
			map[string]string{"boot/grub/i386-pc/": "", "proc/self/mounts": "/dev/md1 / xfs rw 0 0\n"},
			map[string]imgSpec{"sda": {label: "gpt", code: MBRNone, parts: gptBIOS}, "sdb": {label: "gpt", code: MBRGrub2, parts: gptBIOS, core: 2048}},
			mirrored(map[string][]string{"md1": {"/"}}),
			func(t *testing.T, f Facts) {
				if f.Boot.Array != "md1" || !f.Boot.OnRoot || f.Boot.Mountpoint != "/" || f.Boot.FSType != "xfs" || f.Loader != LoaderGrub2 {
					t.Errorf("boot %+v loader %s", f.Boot, f.Loader)
				}
				if f.Disks[0].MBRCode != MBRNone || f.Disks[0].BootMember != "sda3" {
					t.Errorf("survivor %+v", f.Disks[0])
				}
			}},
		{"GRUB 0.97 with device.map",
			map[string]string{"boot/grub/stage1": "x", "boot/grub/grub.conf": "x", "boot/grub/device.map": "# this device map was generated by anaconda\n(hd0)     /dev/sda\n(hd1)     /dev/disk/by-id/ata-B\n",
				"dev/disk/by-id/ata-B": "->../../sdb"},
			map[string]imgSpec{"sda": {label: "dos", code: MBRGrubLegacy, parts: []imgPart{{"0xfd", 63, 4095}}}, "sdb": {label: "dos", code: MBRGrubLegacy, parts: []imgPart{{"0xfd", 63, 4095}}}},
			Input{Disks: twoDisks(), Arrays: map[string]string{"md0": "0.90"}, Members: map[string]string{"sda1": "md0", "sdb1": "md0"}, Mounts: map[string][]string{"md0": {"/boot"}}},
			func(t *testing.T, f Facts) {
				if f.Loader != LoaderGrubLegacy || f.Disks[0].BIOSDrive != "hd0" || f.Disks[1].BIOSDrive != "hd1" || f.Disks[0].MBRCode != MBRGrubLegacy || f.Disks[0].BootMember != "sda1" {
					t.Errorf("loader %s disks %+v", f.Loader, f.Disks)
				}
			}},
		{"GRUB 0.97, no device.map, BIOS order from edd",
			map[string]string{"boot/grub/stage1": "x", "boot/grub/menu.lst": "x",
				"sys/firmware/edd/int13_dev80/mbr_signature": "0x00000002\n", "sys/firmware/edd/int13_dev81/mbr_signature": "0x00000001\n"},
			map[string]imgSpec{"sda": {label: "dos", code: MBRGrubLegacy, sig: 1, parts: []imgPart{{"0xfd", 63, 4095}}}, "sdb": {label: "dos", code: MBRGrubLegacy, sig: 2, parts: []imgPart{{"0xfd", 63, 4095}}}},
			Input{Disks: twoDisks(), Arrays: map[string]string{"md0": "0.90"}, Members: map[string]string{"sda1": "md0", "sdb1": "md0"}, Mounts: map[string][]string{"md0": {"/boot"}}},
			func(t *testing.T, f Facts) {
				if f.Disks[0].BIOSDrive != "hd1" || f.Disks[1].BIOSDrive != "hd0" || f.Disks[0].BIOSDriveFrom != "/sys/firmware/edd" {
					t.Errorf("disks %+v", f.Disks)
				}
			}},
		{"GRUB 0.97, neither device.map nor edd: no drive names",
			map[string]string{"boot/grub/stage1": "x", "boot/grub/menu.lst": "x"},
			map[string]imgSpec{"sda": {label: "dos", code: MBRGrubLegacy, parts: []imgPart{{"0xfd", 63, 4095}}}, "sdb": {label: "dos", code: MBRGrubLegacy, parts: []imgPart{{"0xfd", 63, 4095}}}},
			Input{Disks: twoDisks(), Arrays: map[string]string{"md0": "0.90"}, Members: map[string]string{"sda1": "md0", "sdb1": "md0"}, Mounts: map[string][]string{"md0": {"/boot"}}},
			func(t *testing.T, f Facts) {
				if f.Loader != LoaderGrubLegacy || f.Disks[0].BIOSDrive != "" || f.Disks[1].BIOSDrive != "" {
					t.Errorf("loader %s disks %+v", f.Loader, f.Disks)
				}
			}},
		{"UEFI, ESP on md RAID1, shim",
			map[string]string{"sys/firmware/efi/": "", "boot/grub/x86_64-efi/": "", "boot/efi/EFI/debian/shimx64.efi": "x"},
			map[string]imgSpec{"sda": {label: "gpt", code: MBRNone, parts: []imgPart{{TypeESP, 2048, 4095}, {"a19d880f-05fc-4d3b-a006-743f0f84911e", 4096, 8000}}},
				"sdb": {label: "gpt", code: MBRNone, parts: []imgPart{{TypeESP, 2048, 4095}, {"a19d880f-05fc-4d3b-a006-743f0f84911e", 4096, 8000}}}},
			Input{Disks: twoDisks(), Arrays: map[string]string{"md9": "1.0", "md0": "1.0"}, Members: map[string]string{"sda1": "md9", "sdb1": "md9", "sda2": "md0", "sdb2": "md0"}, Mounts: map[string][]string{"md0": {"/boot"}, "md9": {"/boot/efi"}}},
			func(t *testing.T, f Facts) {
				if f.Firmware != FirmwareUEFI || !f.Shim || f.Loader != LoaderGrub2 {
					t.Errorf("firmware %s shim %t loader %s", f.Firmware, f.Shim, f.Loader)
				}
				if e := f.Disks[0].ESP; e == nil || e.MDArray != "md9" || e.Type != TypeESP || e.PARTUUID != "01234567-89ab-cdef-0123-4567890abc00" {
					t.Errorf("esp %+v", e)
				}
			}},
		{"UEFI, ESP on md RAID1 mounted as /dev/md9: the loader is read from the array (issue 17, item 5)",
			map[string]string{"sys/firmware/efi/": "", "boot/grub/x86_64-efi/": "", "boot/efi/EFI/redhat/grubx64.efi": "x", "boot/efi/EFI/BOOT/BOOTX64.EFI": "x",
				"proc/self/mounts": "/dev/md0 /boot ext4 rw 0 0\n/dev/md9 /boot/efi vfat rw 0 0\n"},
			espOnMDDisks(),
			espOnMDInput(),
			func(t *testing.T, f Facts) {
				if f.EFILoader != "EFI/redhat/grubx64.efi" || f.Disks[0].ESP == nil || f.Disks[0].ESP.MDArray != "md9" {
					t.Errorf("loader %q esp %+v notes %q", f.EFILoader, f.Disks[0].ESP, f.Notes)
				}
				if f.Disks[0].ESP.MDState != "in_sync" || f.Disks[1].ESP == nil || f.Disks[1].ESP.MDState != "rebuilding" {
					t.Errorf("member states: %+v, %+v", f.Disks[0].ESP, f.Disks[1].ESP)
				}
			}},
		{"UEFI, ESP on md RAID1 mounted by its /dev/md/NAME link",
			map[string]string{"sys/firmware/efi/": "", "boot/grub/x86_64-efi/": "", "boot/efi/EFI/redhat/grubx64.efi": "x",
				"dev/md/esp": "->../md9", "proc/self/mounts": "/dev/md0 /boot ext4 rw 0 0\n/dev/md/esp /boot/efi vfat rw 0 0\n"},
			espOnMDDisks(),
			espOnMDInput(),
			func(t *testing.T, f Facts) {
				if f.EFILoader != "EFI/redhat/grubx64.efi" {
					t.Errorf("loader %q notes %q", f.EFILoader, f.Notes)
				}
			}},
		{"UEFI, an ESP with only the removable-media loader (issue 17, item 15)",
			map[string]string{"sys/firmware/efi/": "", "boot/grub/x86_64-efi/": "", "boot/efi/EFI/BOOT/BOOTX64.EFI": "x", "boot/efi/EFI/BOOT/grub.cfg": "x",
				"proc/self/mounts": "/dev/md0 /boot ext4 rw 0 0\n/dev/sda1 /boot/efi vfat rw 0 0\n"},
			map[string]imgSpec{"sda": {label: "gpt", code: MBRNone, parts: []imgPart{{TypeESP, 2048, 4095}, {"a19d880f-05fc-4d3b-a006-743f0f84911e", 4096, 8000}}},
				"sdb": {label: "gpt", code: MBRNone, parts: []imgPart{{TypeESP, 2048, 4095}, {"a19d880f-05fc-4d3b-a006-743f0f84911e", 4096, 8000}}}},
			Input{Disks: twoDisks(), Arrays: map[string]string{"md0": "1.0"}, Members: map[string]string{"sda2": "md0", "sdb2": "md0"}, Mounts: map[string][]string{"md0": {"/boot"}, "sda1": {"/boot/efi"}}},
			func(t *testing.T, f Facts) {
				if f.EFILoader != FallbackPath {
					t.Errorf("loader %q notes %q", f.EFILoader, f.Notes)
				}
			}},
		{"/boot a plain partition of one disk",
			map[string]string{"boot/grub/i386-pc/": ""},
			map[string]imgSpec{"sda": {label: "dos", code: MBRGrub2, core: 1, parts: []imgPart{{"0x83", 2048, 4095}, {"0xfd", 4096, 8000}}}, "sdb": {label: "dos", parts: []imgPart{{"0x83", 2048, 4095}, {"0xfd", 4096, 8000}}}},
			Input{Disks: twoDisks(), Arrays: map[string]string{"md1": "1.2"}, Members: map[string]string{"sda2": "md1", "sdb2": "md1"}, Mounts: map[string][]string{"sda1": {"/boot"}, "md1": {"/"}}},
			func(t *testing.T, f Facts) {
				if f.Boot.Partition != "sda1" || f.Boot.Array != "" {
					t.Errorf("boot %+v", f.Boot)
				}
			}},
		{"unreadable disk, other boot code, no table",
			map[string]string{},
			map[string]imgSpec{"sdb": {label: "", code: MBROther}},
			Input{Disks: twoDisks()},
			func(t *testing.T, f Facts) {
				if f.Disks[0].MBRCode != MBRUnknown || f.Disks[0].ReadError == "" {
					t.Errorf("unreadable: %+v", f.Disks[0])
				}
				if f.Disks[1].MBRCode != MBROther || f.Disks[1].Label != "" || f.Disks[1].ReadError != "" {
					t.Errorf("no table: %+v", f.Disks[1])
				}
				if f.Boot != (BootDir{}) || f.Loader != LoaderNone {
					t.Errorf("boot %+v loader %s", f.Boot, f.Loader)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)
			if _, ok := tt.files["proc/self/mountinfo"]; !ok {
				writeTree(t, dir, stackTree(tt.in, tt.files["proc/self/mounts"]))
			}
			for name, sp := range tt.imgs {
				writeImage(t, filepath.Join(dir, "dev", name), sp)
			}
			tt.check(t, Detect(host.NewRoot(dir), tt.in))
		})
	}
}

// stackTree is the sysfs and mountinfo of a layout given as an Input (disks, arrays and their
// members, and what is mounted from each device), with the file system types of mounts (a
// /proc/self/mounts).
func stackTree(in Input, mounts string) map[string]string {
	files := map[string]string{"proc/swaps": "Filename\tType\tSize\tUsed\tPriority\n"}
	devs := map[string]string{}
	for i, d := range in.Disks {
		devs[d.Name] = fmt.Sprintf("8:%d", 16*i)
		files["sys/block/"+d.Name+"/dev"] = devs[d.Name]
		for j, p := range d.Partitions {
			devs[p] = fmt.Sprintf("8:%d", 16*i+j+1)
			files["sys/block/"+d.Name+"/"+p+"/dev"] = devs[p]
			files["sys/block/"+d.Name+"/"+p+"/partition"] = fmt.Sprint(j + 1)
		}
	}
	n := 0
	for a := range in.Arrays {
		devs[a] = fmt.Sprintf("9:%d", n)
		n++
		files["sys/block/"+a+"/dev"] = devs[a]
		files["sys/block/"+a+"/md/"] = ""
	}
	for m, a := range in.Members {
		files["sys/block/"+a+"/slaves/"+m] = "->../../" + m
	}
	var mi strings.Builder
	id := 20
	for dev, mps := range in.Mounts {
		for _, mp := range mps {
			fst := "ext4"
			for _, e := range ParseFstab([]byte(mounts)) {
				if e.Mountpoint == mp {
					fst = e.FSType
				}
			}
			id++
			fmt.Fprintf(&mi, "%d 1 %s / %s rw,relatime - %s /dev/%s rw\n", id, devs[dev], mp, fst, dev)
		}
	}
	files["proc/self/mountinfo"] = mi.String()
	return files
}

func TestParseMBRCode(t *testing.T) {
	for _, tt := range []struct {
		fill func([]byte)
		want MBRCode
	}{
		{func(b []byte) {}, MBRNone},
		{func(b []byte) { fakeBootImg(b, 2048) }, MBRGrub2},
		{func(b []byte) { fakeStage1(b) }, MBRGrubLegacy},
		{func(b []byte) { b[0] = 0xfa }, MBROther},
		// GRUB's strings without its jump: not boot.img.
		{func(b []byte) { copy(b[0x180:], grubMessages) }, MBROther},
		// The partition table and signature are not boot code.
		{func(b []byte) { b[446], b[510], b[511] = 0x80, 0x55, 0xaa }, MBRNone},
	} {
		b := make([]byte, 512)
		tt.fill(b)
		if got := ParseMBRCode(b); got != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
	}
	if ParseMBRCode(make([]byte, 100)) != MBRUnknown {
		t.Error("short sector")
	}
}

func TestDebconfValue(t *testing.T) {
	if v, ok := DebconfValue([]byte(configDat), "grub-pc/install_devices_empty"); !ok || len(v) != 1 || v[0] != "false" {
		t.Errorf("got %q %t", v, ok)
	}
	if v, ok := DebconfValue([]byte(configDat), "grub-pc/nothing"); ok || v != nil {
		t.Errorf("got %q %t", v, ok)
	}
	if v, ok := DebconfValue([]byte("Name: grub-pc/install_devices\nValue: \n"), "grub-pc/install_devices"); !ok || v != nil {
		t.Errorf("empty value: %q %t", v, ok)
	}
}

// TestSignaturesOfDebiansGrub checks the signatures against the images grub-pc-bin ships
// (scripts/install-deps.sh installs it), not only against the tests' own bytes.
func TestSignaturesOfDebiansGrub(t *testing.T) {
	boot, err := os.ReadFile("/usr/lib/grub/i386-pc/boot.img")
	if err != nil {
		t.Fatalf("grub-pc-bin's boot.img: %v (scripts/install-deps.sh installs it)", err)
	}
	s0 := make([]byte, 512)
	copy(s0, boot[:440])
	if got := ParseMBRCode(s0); got != MBRGrub2 {
		t.Errorf("boot.img is %s", got)
	}
	disk, err := os.ReadFile("/usr/lib/grub/i386-pc/diskboot.img")
	if err != nil {
		t.Fatal(err)
	}
	if !IsGrubCore(disk) {
		t.Error("diskboot.img is not recognised as core.img's first sector")
	}
	if IsGrubCore(boot) {
		t.Error("boot.img taken for core.img")
	}
}

// A drill's /boot on its root array: BootMount <lab>/root/boot, the array mounted at
// <lab>/root.
func TestFindLabBootOnRoot(t *testing.T) {
	in := Input{BootMount: "/lab/root/boot", Arrays: map[string]string{"md101": "1.2"}, Mounts: map[string][]string{"md101": {"/lab/root"}}}
	b := findLabBoot(in, []blockstack.MountsLine{{Source: "/dev/md101", Point: "/lab/root", FSType: "ext4"}})
	if b.Array != "md101" || !b.OnRoot || b.Mountpoint != "/lab/root" || b.FSType != "ext4" || bootPath(b) != "/lab/root/boot" {
		t.Fatalf("boot = %+v", b)
	}
	in.BootMount = "/lab/root/efi"
	if b := findLabBoot(in, nil); b.Array != "" {
		t.Fatalf("not a boot dir: %+v", b)
	}
}

// TestDetectStacked: /boot (or / holding it) on LVM, LUKS or a partition of an array is on
// the array; GRUB goes on every disk of it, or the plan is refused naming why.
func TestDetectStacked(t *testing.T) {
	lv := func(dm, name, uuid string, slaves ...string) map[string]string {
		f := map[string]string{"sys/block/" + dm + "/dev": "253:" + strings.TrimPrefix(dm, "dm-"),
			"sys/block/" + dm + "/dm/name": name, "sys/block/" + dm + "/dm/uuid": uuid}
		for _, s := range slaves {
			f["sys/block/"+dm+"/slaves/"+s] = "->../../" + s
		}
		return f
	}
	merge := func(ms ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	in := mirrored(nil)
	base := stackTree(in, "")
	grub := map[string]string{"boot/grub/i386-pc/": "", "usr/sbin/grub-install": "#!"}
	imgs := map[string]imgSpec{"sda": {label: "gpt", code: MBRGrub2, parts: gptBIOS, core: 2048}, "sdb": {label: "gpt", code: MBRNone, parts: gptBIOS}}
	tests := []struct {
		name  string
		files map[string]string
		boot  BootDir
		kind  Kind
		why   string
	}{
		{"/ on LVM on md1, /boot a directory on it",
			merge(base, grub, lv("dm-0", "vg0-root", "LVM-abc", "md1"), map[string]string{"proc/self/mountinfo": "26 1 253:0 / / rw - ext4 /dev/mapper/vg0-root rw\n"}),
			BootDir{Array: "md1", OnRoot: true, Mountpoint: "/", From: "root", FSType: "ext4", Metadata: "1.2", Device: "dm-0",
				Via: "/boot (a directory on /) → dm-0 (LVM vg0-root) → md1 → sda3, sdb3"},
			GrubBIOSEveryDisk, "md1 holds /boot (/boot (a directory on /) → dm-0 (LVM vg0-root) → md1 → sda3, sdb3)"},
		{"/boot on a partition of md0",
			merge(base, grub, map[string]string{"sys/block/md0/md0p1/dev": "259:0", "sys/block/md0/md0p1/partition": "1",
				"proc/self/mountinfo": "26 1 9:1 / / rw - ext4 /dev/md1 rw\n27 26 259:0 / /boot rw - ext4 /dev/md0p1 rw\n"}),
			BootDir{Array: "md0", Mountpoint: "/boot", From: "mounted", FSType: "ext4", Metadata: "1.0", Device: "md0p1",
				Via: "/boot → md0p1 (partition of md0) → md0 → sda2, sdb2"},
			GrubBIOSEveryDisk, "md0 holds /boot"},
		{"/ in LVM on LUKS on md1 without GRUB_ENABLE_CRYPTODISK",
			merge(base, grub, lv("dm-0", "cryptmd", "CRYPT-LUKS2-0123-cryptmd", "md1"), lv("dm-1", "vg0-root", "LVM-abc", "dm-0"),
				map[string]string{"proc/self/mountinfo": "26 1 253:1 / / rw - ext4 /dev/mapper/vg0-root rw\n", "etc/default/grub": "GRUB_DEFAULT=0\n"}),
			BootDir{Array: "md1", OnRoot: true, Mountpoint: "/", From: "root", FSType: "ext4", Metadata: "1.2", Device: "dm-1", Crypt: "dm-0",
				Via: "/boot (a directory on /) → dm-1 (LVM vg0-root) → dm-0 (LUKS cryptmd) → md1 → sda3, sdb3"},
			BootStackRefused, "GRUB is not set to unlock it"},
		{"/ in LVM on LUKS on md1 with GRUB_ENABLE_CRYPTODISK=y",
			merge(base, grub, lv("dm-0", "cryptmd", "CRYPT-LUKS1-0123-cryptmd", "md1"), lv("dm-1", "vg0-root", "LVM-abc", "dm-0"),
				map[string]string{"proc/self/mountinfo": "26 1 253:1 / / rw - ext4 /dev/mapper/vg0-root rw\n", "etc/default/grub": "GRUB_ENABLE_CRYPTODISK=n\n",
					"etc/default/grub.d/crypt.cfg": "GRUB_ENABLE_CRYPTODISK=\"y\"\n"}),
			BootDir{Array: "md1", OnRoot: true, Mountpoint: "/", From: "root", FSType: "ext4", Metadata: "1.2", Device: "dm-1", Crypt: "dm-0", CryptoDisk: true,
				Via: "/boot (a directory on /) → dm-1 (LVM vg0-root) → dm-0 (LUKS cryptmd) → md1 → sda3, sdb3"},
			GrubBIOSEveryDisk, "dm-0 (LUKS cryptmd)"},
		{"/boot an LV in fstab, not mounted",
			merge(base, grub, lv("dm-2", "vg0-boot", "LVM-abd", "md0"), map[string]string{"proc/self/mountinfo": "26 1 9:1 / / rw - ext4 /dev/md1 rw\n",
				"etc/fstab": "/dev/vg0/boot /boot ext4 defaults 0 2\n", "dev/vg0/boot": "->../dm-2"}),
			BootDir{Array: "md0", From: "fstab", FSType: "ext4", Metadata: "1.0", Device: "dm-2",
				Via: "/boot (not mounted; /dev/vg0/boot in /etc/fstab) → dm-2 (LVM vg0-boot) → md0 → sda2, sdb2"},
			BootStackRefused, "mount it (mount /boot)"},
		{"/boot an LV across md0 and md1",
			merge(base, grub, lv("dm-0", "vg0-boot", "LVM-abd", "md0", "md1"), map[string]string{"proc/self/mountinfo": "26 1 253:0 / /boot rw - ext4 /dev/mapper/vg0-boot rw\n"}),
			BootDir{Array: "md0", Mountpoint: "/boot", From: "mounted", FSType: "ext4", Metadata: "1.0", Device: "dm-0", Unsupported: "it spans the arrays md0, md1",
				Via: "/boot → dm-0 (LVM vg0-boot) → md0, md1 → sda2, sdb2, sda3, sdb3"},
			BootStackRefused, "it spans the arrays md0, md1"},
		{"/boot on multipath",
			merge(base, grub, lv("dm-0", "mpatha", "mpath-3600508b4", "sda"), map[string]string{"proc/self/mountinfo": "26 1 253:0 / /boot rw - ext4 /dev/mapper/mpatha rw\n"}),
			BootDir{Mountpoint: "/boot", From: "mounted", FSType: "ext4", Device: "dm-0", Partition: "sda",
				Via: "/boot → dm-0 (dm mpatha, neither LVM nor dm-crypt) → sda"},
			BootNotMirrored, "rests on the plain partition sda"},
		{"/boot on a dm device with nothing below",
			merge(base, grub, lv("dm-0", "odd", ""), map[string]string{"proc/self/mountinfo": "26 1 253:0 / /boot rw - ext4 /dev/mapper/odd rw\n"}),
			BootDir{Mountpoint: "/boot", From: "mounted", FSType: "ext4", Device: "dm-0", Unsupported: "raidswap cannot tell what dm-0 rests on; dm-0 is a device-mapper target that is neither LVM nor dm-crypt",
				Via: "/boot → dm-0 (dm odd, neither LVM nor dm-crypt)"},
			BootStackRefused, "cannot tell what dm-0 rests on"},
		{"/ on LVM on a plain partition: not on the arrays",
			merge(base, grub, lv("dm-0", "vg9-root", "LVM-x", "sda1"), map[string]string{"proc/self/mountinfo": "26 1 253:0 / / rw - ext4 /dev/mapper/vg9-root rw\n"}),
			BootDir{}, NoBootCode, "no array of the replacement holds /boot or /"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)
			for name, sp := range imgs {
				writeImage(t, filepath.Join(dir, "dev", name), sp)
			}
			f := Detect(host.NewRoot(dir), in)
			if f.Boot != tt.boot {
				t.Errorf("boot\n got %+v\nwant %+v", f.Boot, tt.boot)
			}
			d, err := Decide(f)
			if err != nil || d.Kind != tt.kind || !strings.Contains(d.Why, tt.why) {
				t.Errorf("decision %s %q %v, want %s containing %q", d.Kind, d.Why, err, tt.kind, tt.why)
			}
			if tt.kind == GrubBIOSEveryDisk && (f.Disks[0].BootMember == "" || f.Disks[1].BootMember == "" || f.Loader != LoaderGrub2) {
				t.Errorf("boot members %q %q loader %s", f.Disks[0].BootMember, f.Disks[1].BootMember, f.Loader)
			}
		})
	}
}

// espOnMDDisks are two GPT disks with an ESP (partition 1, a member of md9) and /boot's
// member (partition 2, md0): the RHEL installer's layout.
func espOnMDDisks() map[string]imgSpec {
	return map[string]imgSpec{"sda": {label: "gpt", code: MBRNone, parts: []imgPart{{TypeESP, 2048, 4095}, {"a19d880f-05fc-4d3b-a006-743f0f84911e", 4096, 8000}}},
		"sdb": {label: "gpt", code: MBRNone, parts: []imgPart{{TypeESP, 2048, 4095}, {"a19d880f-05fc-4d3b-a006-743f0f84911e", 4096, 8000}}}}
}

func espOnMDInput() Input {
	return Input{Disks: twoDisks(), Arrays: map[string]string{"md9": "1.0", "md0": "1.0"},
		Members:      map[string]string{"sda1": "md9", "sdb1": "md9", "sda2": "md0", "sdb2": "md0"},
		MemberStates: map[string]string{"sda1": "in_sync", "sdb1": "rebuilding", "sda2": "in_sync", "sdb2": "in_sync"},
		Mounts:       map[string][]string{"md0": {"/boot"}, "md9": {"/boot/efi"}}}
}

// withProfile is in with the distribution profile of family fam (nothing looked up).
func withProfile(in Input, fam host.Family) Input {
	in.Profile = host.Profile{Family: fam}
	return in
}
