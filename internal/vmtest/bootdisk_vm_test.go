package vmtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bootSetup partitions vda in the guest, puts the VM kernel and the marker initramfs on a
// /boot file system and installs GRUB for the firmware: the smallest disk that boots alone.
// It proves the harness's disk boots, not raidswap's (bootloader/ has those proofs).
const bootSetupBIOS = `set -e
sgdisk -Z /dev/$DEV >/dev/null
sgdisk -n1:2048:+1M -t1:ef02 -n2:0:0 -t2:8300 /dev/$DEV >/dev/null
partx -a /dev/$DEV 2>/dev/null || partx -u /dev/$DEV
udevadm settle
mkfs.ext4 -q -F -L boot /dev/${DEV}2
mkdir -p /boot.t && mount /dev/${DEV}2 /boot.t
cp "$KERNEL" /boot.t/vmlinuz
cp /mnt/share/marker.img /boot.t/marker.img
grub-install --target=i386-pc --boot-directory=/boot.t --modules="part_gpt ext2" /dev/$DEV
cat >/boot.t/grub/grub.cfg <<CFG
set timeout=0
search --no-floppy --label boot --set=root
linux /vmlinuz console=ttyS0 panic=-1 loglevel=3
initrd /marker.img
boot
CFG
umount /boot.t
echo setup-done`

const bootSetupUEFI = `set -e
test -d /sys/firmware/efi/efivars && echo efivars-mounted
efibootmgr >/dev/null && echo efibootmgr-works
sgdisk -Z /dev/$DEV >/dev/null
sgdisk -n1:2048:+64M -t1:ef00 -n2:0:0 -t2:8300 /dev/$DEV >/dev/null
partx -a /dev/$DEV 2>/dev/null || partx -u /dev/$DEV
udevadm settle
mkfs.vfat -F 32 -n ESP /dev/${DEV}1 >/dev/null
mkfs.ext4 -q -F -L boot /dev/${DEV}2
mkdir -p /boot.t && mount /dev/${DEV}2 /boot.t
mkdir -p /boot.t/efi && mount /dev/${DEV}1 /boot.t/efi
cp "$KERNEL" /boot.t/vmlinuz
cp /mnt/share/marker.img /boot.t/marker.img
grub-install --target=x86_64-efi --removable --no-nvram --efi-directory=/boot.t/efi --boot-directory=/boot.t /dev/$DEV
cat >/boot.t/grub/grub.cfg <<CFG
set timeout=0
search --no-floppy --label boot --set=root
linux /vmlinuz console=ttyS0 panic=-1 loglevel=3
initrd /marker.img
boot
CFG
test -f /boot.t/efi/EFI/BOOT/BOOTX64.EFI
umount /boot.t/efi /boot.t
echo setup-done`

func TestVMBootDisk(t *testing.T) {
	Require(t)
	kernel, err := Assets()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fw     Firmware
		bus    string
		dev    string
		script string
	}{{BIOS, BusVirtio, "vda", bootSetupBIOS}, {UEFI, BusVirtio, "vda", bootSetupUEFI}, {BIOS, BusSATA, "sda", bootSetupBIOS}} {
		t.Run(string(tc.fw)+"-"+tc.bus, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			share := filepath.Join(dir, "share")
			if err := os.Mkdir(share, 0o755); err != nil {
				t.Fatal(err)
			}
			const marker = "vmtest-marker: booted from disk"
			if err := WriteMarkerInitramfs(filepath.Join(share, "marker.img"), marker); err != nil {
				t.Fatal(err)
			}
			img := filepath.Join(dir, "disk.img")
			if err := os.WriteFile(img, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(img, 256<<20); err != nil {
				t.Fatal(err)
			}
			disk := Disk{Serial: "BOOT-A", Image: img, Bus: tc.bus}
			res := RunT(t, Config{Disks: []Disk{disk}, Firmware: tc.fw, Share: share,
				Env: map[string]string{"KERNEL": kernel, "DEV": tc.dev}, Script: tc.script})
			if res.ExitCode != 0 {
				t.Fatalf("setup failed (%d):\n%s", res.ExitCode, res.Output)
			}
			if tc.fw == UEFI {
				for _, want := range []string{"efivars-mounted", "efibootmgr-works"} {
					if !strings.Contains(res.Output, want) {
						t.Errorf("UEFI guest: %q missing:\n%s", want, res.Output)
					}
				}
			}
			boot, err := BootDiskT(t, BootConfig{Disks: []Disk{disk}, Firmware: tc.fw, Marker: marker})
			if err != nil {
				t.Fatalf("disk did not boot: %v\n%s", err, boot.Console)
			}
			// The harness's negative: a blank disk does not reach the marker.
			blank := filepath.Join(dir, "blank.img")
			if err := os.WriteFile(blank, make([]byte, 1<<20), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = BootDisk(t.Context(), BootConfig{Disks: []Disk{{Serial: "BLANK", Image: blank}}, Firmware: tc.fw, Marker: marker, Timeout: 25e9})
			if !errors.Is(err, ErrNoMarker) {
				t.Errorf("blank disk: err %v, want ErrNoMarker", err)
			}
		})
	}
}
