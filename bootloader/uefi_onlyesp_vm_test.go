package bootloader_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// TestVMUEFIOnlyESP: the ESP is on the failed disk only (Ubuntu's and OVH's default: the
// second disk holds md members alone), and that disk is replaced (issue 17, item 14). The
// survivor WD-SURV has md0's member at 1 MiB and nothing else; WD-OLD had the ESP
// (partition 1, FAT32, label ESP, volume id 1A2B-3C4D) and md0's member as partition 2.
// raidswap clones the survivor's table onto WD-NEW and adds an ESP of the failed one's size
// (partition 2: the survivor's table holds 1), formats it like the failed one, installs GRUB
// with grub-install into EFI/debian and the fallback path beside it, makes its boot entry in
// place of the failed disk's, and warns that the survivor cannot boot alone. The new disk
// then boots alone under OVMF, by its entry and by the removable-media path.
func TestVMUEFIOnlyESP(t *testing.T) {
	vmtest.Require(t)
	kernel, err := vmtest.Assets()
	if err != nil {
		t.Fatal(err)
	}
	const marker = "raidswap-uefi-marker: only-esp booted alone"
	dir, share, vars, surv, old, nw := newUEFIRig(t, marker)
	script := uefiPrelude + `
sgdisk -Z /dev/vda >/dev/null; sgdisk -Z /dev/vdb >/dev/null
sgdisk -n1:2048:+64M -t1:fd00 /dev/vda >/dev/null
sgdisk -n1:2048:+64M -t1:ef00 -n2:0:+64M -t2:fd00 /dev/vdb >/dev/null
for d in vda vdb; do partx -a /dev/$d 2>/dev/null || partx -u /dev/$d; done
udevadm settle
mdadm --create /dev/md0 --run --assume-clean --level=1 --raid-devices=2 --metadata=1.0 /dev/vda1 /dev/vdb2 >/dev/null 2>&1
mdadm --wait /dev/md0 || true
mkfs.ext4 -q -F -L boot /dev/md0
mkdir -p /boot && mount /dev/md0 /boot
cp "$KERNEL" /boot/vmlinuz
cp /mnt/share/marker.img /boot/marker.img
mkfs.vfat -F 32 -n ESP -i 1A2B3C4D /dev/vdb1 >/dev/null
mkdir -p /boot/efi && mount /dev/vdb1 /boot/efi
grub-install --target=x86_64-efi --efi-directory=/boot/efi --boot-directory=/boot --no-nvram --bootloader-id=debian --modules="part_gpt mdraid1x ext2" >/dev/null 2>&1
efibootmgr --create --disk /dev/vdb --part 1 --label debian --loader '\EFI\debian\grubx64.efi' >/dev/null
` + grubCfg + `
# The failed disk's ESP is gone with it: nothing is mounted from it.
umount /boot/efi
[ "$(blkid -o value -s TYPE /dev/vda1)" = linux_raid_member ] && [ "$(blkid -o value -s TYPE /dev/vdb1)" = vfat ] && echo "ONLY THE FAILED DISK HAS AN ESP"
blkid -p -o value -s PART_ENTRY_UUID /dev/vdb1 > /mnt/share/old.partuuid
sync
say "fail and replace"
mdadm /dev/md0 --fail /dev/vdb2 >/dev/null
udevadm trigger --action=change --subsystem-match=block; udevadm settle
$RS --plan --failed WD-OLD --new WD-NEW
( await_journal started await-removal; /run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null; sleep 1; /run/vmtest/bin/vmtest-hotplug plug WD-NEW >/dev/null ) &
$RS replace --failed WD-OLD --new WD-NEW --yes --plain --wait-timeout 3m > /run/rs.out 2>&1 || { cat /run/rs.out; exit 1; }
cat /run/rs.out
wait
NEW=$(for f in /sys/block/*/serial; do [ "$(cat $f)" = WD-NEW ] && basename $(dirname $f); done)
mdadm --wait /dev/md0 || true
grep -q '\[UU\]' /proc/mdstat && echo "REDUNDANT OK"
sgdisk -p /dev/$NEW
[ "$(blkid -p -o value -s PART_ENTRY_TYPE /dev/${NEW}2)" = c12a7328-f81f-11d2-ba4b-00a0c93ec93b ] && echo "NEW ESP IS PARTITION 2"
[ "$(blkid -o value -s UUID /dev/${NEW}2)" = 1A2B-3C4D ] && [ "$(blkid -o value -s LABEL /dev/${NEW}2)" = ESP ] && echo "NEW ESP LIKE THE FAILED ONE"
mkdir -p /mnt/newesp && mount -o ro /dev/${NEW}2 /mnt/newesp
test -s /mnt/newesp/EFI/debian/grubx64.efi && test -s /mnt/newesp/EFI/BOOT/BOOTX64.EFI && echo "NEW ESP HAS GRUB AND THE FALLBACK PATH"
umount /mnt/newesp
blkid -p -o value -s PART_ENTRY_UUID /dev/${NEW}2 > /mnt/share/new.partuuid
say "status"
$RS status --json > /mnt/share/status.json || echo "status --json exit $?"
$RS status || echo "status exit $?"
echo "== EFIBOOTMGR BEGIN"
efibootmgr -v
echo "== EFIBOOTMGR END"
umount /boot
sync
`
	res := vmtest.RunT(t, vmtest.Config{Disks: []vmtest.Disk{surv, old, nw}, Firmware: vmtest.UEFI, UEFIVars: vars, Share: share,
		Timeout: 8 * time.Minute, Env: map[string]string{"KERNEL": kernel, "RS": testbin.Raidswap(t)}, Script: script})
	if testing.Verbose() || res.ExitCode != 0 {
		t.Logf("guest output:\n%s", res.Output)
	}
	if res.ExitCode != 0 {
		t.Fatalf("setup and replacement failed (%d)", res.ExitCode)
	}
	golden.Contains(t, res.Output, "ONLY THE FAILED DISK HAS AN ESP",
		"--add-esp 2:67108864", "] install GRUB into the new ESP", "cannot boot alone by UEFI",
		"with a new EFI System Partition 2 (64 MiB", "installed GRUB into the new ESP",
		"REDUNDANT OK", "NEW ESP IS PARTITION 2", "NEW ESP LIKE THE FAILED ONE", "NEW ESP HAS GRUB AND THE FALLBACK PATH",
		"done: every step of plan")

	// The new disk is judged by the loader its own boot entry names (no ESP is mounted: the
	// failed disk's went with it); the survivor has none.
	wantStatusBootEntries(t, share, "WD-NEW")
	golden.Contains(t, res.Output, "vda   WD-SURV", "missing: no EFI System Partition on this disk")

	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(share, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	oldID, newID := read("old.partuuid"), read("new.partuuid")
	_, out, ok := strings.Cut(res.Output, "== EFIBOOTMGR BEGIN")
	out, _, ok2 := strings.Cut(out, "== EFIBOOTMGR END")
	if !ok || !ok2 {
		t.Fatal("the guest printed no efibootmgr -v")
	}
	bv, err := bootloader.ParseBootVars([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	loader := bootloader.LoaderPathEFI("EFI/debian/grubx64.efi")
	ne := bv.EntryFor(newID, loader)
	if ne == nil || ne.Label != "raidswap WD-NEW" {
		t.Fatalf("no entry %q boots %s from the new ESP %s:\n%s", "raidswap WD-NEW", loader, newID, out)
	}
	for _, e := range bv.Entries {
		if strings.EqualFold(e.PARTUUID, oldID) {
			t.Errorf("the failed disk's entry Boot%s is still there", e.Num)
		}
	}

	nw.Unplugged = false
	for _, byEntry := range []bool{true, false} {
		name := "WD-NEW/fallback"
		cfg := vmtest.BootConfig{Disks: []vmtest.Disk{nw}, Firmware: vmtest.UEFI, Marker: marker}
		if byEntry {
			name = "WD-NEW/entry"
			cfg.UEFIVars = filepath.Join(dir, "vars-new.fd")
			if err := vmtest.CopyFile(cfg.UEFIVars, vars); err != nil {
				t.Fatal(err)
			}
		}
		t.Run(name, func(t *testing.T) { bootAloneUEFI(t, name, cfg, ne, loader, byEntry) })
	}
}
