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

// uefiBootMD builds /boot on md0 (RAID1, metadata 1.0, partition 2 of vda and vdb) with the
// kernel and the marker initramfs, as uefiLayout does; the ESPs are the layout's.
const uefiBootMD = `
for d in vda vdb; do
	sgdisk -Z /dev/$d >/dev/null
	sgdisk -n1:2048:+64M -t1:ef00 -n2:0:+64M -t2:fd00 /dev/$d >/dev/null
	partx -a /dev/$d 2>/dev/null || partx -u /dev/$d
done
udevadm settle
# The disks are blank: no initial resync to wait for.
mdadm --create /dev/md0 --run --assume-clean --level=1 --raid-devices=2 --metadata=1.0 /dev/vda2 /dev/vdb2 >/dev/null 2>&1
mdadm --wait /dev/md0 || true
mkfs.ext4 -q -F -L boot /dev/md0
mkdir -p /boot && mount /dev/md0 /boot
cp "$KERNEL" /boot/vmlinuz
cp /mnt/share/marker.img /boot/marker.img
mkdir -p /boot/efi
GRUB_EFI="grub-install --target=x86_64-efi --efi-directory=/boot/efi --boot-directory=/boot --no-nvram --modules=part_gpt\ mdraid1x\ ext2"
`

// grubCfg is /boot/grub/grub.cfg: boot the marker initramfs from /boot's array.
const grubCfg = `
cat >/boot/grub/grub.cfg <<CFG
set timeout=0
search --no-floppy --label boot --set=root
linux /vmlinuz console=ttyS0 panic=-1 loglevel=3
initrd /marker.img
boot
CFG
`

// uefiLayoutCase is one UEFI layout of TestVMUEFILayouts: vda (WD-SURV) survives, vdb
// (WD-OLD) fails and is replaced by WD-NEW.
type uefiLayoutCase struct {
	name string
	// layout builds the ESPs and the loader after uefiBootMD, and leaves the ESP mounted at
	// /boot/efi; fail fails WD-OLD's members.
	layout, fail string
	// after runs once the replacement is done (NEW is the new disk's name).
	after string
	// loader is the ESP path the boot entries must name.
	loader string
	// want are lines the guest must print; notWant are step names the plan must not hold.
	want, notWant []string
	// statusReason is in status --json's judgement of the survivor ("" for none).
	statusReason string
}

// TestVMUEFILayouts replaces a failed disk end to end on UEFI layouts the one-ESP-per-disk
// test does not cover, and boots each remaining disk alone under OVMF by its own boot entry
// (issue 17):
//
//   - esp-on-md: the RHEL/Fedora installer's layout, partition 1 of each disk a member of an
//     md RAID1 with metadata 1.0 holding the FAT file system, mounted at /boot/efi (item 5).
//     md rebuilds the new member; raidswap neither formats nor copies it, writes the missing
//     removable fallback path through the array, and gives each member partition its own
//     boot entry.
//   - removable-only: ESPs holding only EFI/BOOT/BOOTX64.EFI (grub-install --removable), no
//     distribution directory, no boot entry (item 15): the new ESP gets a copy, and the boot
//     entries name the removable path.
//   - suse-names: SUSE's names over Debian's binaries (os-release, EFI/opensuse/grub.efi,
//     grub2-install, /boot/grub2, no debconf; item 7): the loader is found by SUSE's name and
//     the boot entries name it.
//
// The new disk also boots alone by the firmware's removable-media boot (fresh variables): on
// md, the fallback path raidswap wrote through the array reached the new member.
func TestVMUEFILayouts(t *testing.T) {
	vmtest.Require(t)
	kernel, err := vmtest.Assets()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []uefiLayoutCase{
		{
			name: "esp-on-md",
			layout: `
mdadm --create /dev/md/esp --run --assume-clean --level=1 --raid-devices=2 --metadata=1.0 --name=esp /dev/vda1 /dev/vdb1 >/dev/null 2>&1
mdadm --wait /dev/md/esp || true
mkfs.vfat -F 32 -n ESP /dev/md/esp >/dev/null
mount /dev/md/esp /boot/efi
eval $GRUB_EFI --bootloader-id=debian >/dev/null 2>&1
for d in vda vdb; do efibootmgr --create --disk /dev/$d --part 1 --label debian --loader '\EFI\debian\grubx64.efi' >/dev/null; done
` + grubCfg + `
grep -A1 '^md' /proc/mdstat
test -e /boot/efi/EFI/debian/grubx64.efi && test ! -e /boot/efi/EFI/BOOT/BOOTX64.EFI && echo "ESP ARRAY WITHOUT FALLBACK"
`,
			fail: "mdadm /dev/md/esp --fail /dev/vdb1 >/dev/null\nmdadm /dev/md0 --fail /dev/vdb2 >/dev/null\n",
			after: `
mdadm --wait /dev/md/esp /dev/md0 || true
cat /proc/mdstat
[ "$(grep -c '\[UU\]' /proc/mdstat)" = 2 ] && echo "BOTH ARRAYS REDUNDANT"
mdadm --detail /dev/md/esp | grep -q "active sync.*/dev/${NEW}1" && echo "NEW MEMBER IN ESP ARRAY"
`,
			loader: "EFI/debian/grubx64.efi",
			want: []string{"ESP ARRAY WITHOUT FALLBACK", "wrote EFI/BOOT/BOOTX64.EFI on the survivor's ESP /dev/md127",
				"BOTH ARRAYS REDUNDANT", "NEW MEMBER IN ESP ARRAY", "done: every step of plan"},
			notWant:      []string{"esp-mkfs", "esp-sync"},
			statusReason: "(its member vda1 in sync)",
		},
		{
			name: "removable-only",
			layout: `
for d in vda vdb; do
	mkfs.vfat -F 32 -n ESP /dev/${d}1 >/dev/null
	mount /dev/${d}1 /boot/efi
	eval $GRUB_EFI --removable >/dev/null 2>&1
	umount /boot/efi
done
` + grubCfg + `
mount /dev/vda1 /boot/efi
test -e /boot/efi/EFI/BOOT/BOOTX64.EFI && [ "$(ls /boot/efi/EFI)" = BOOT ] && echo "ONLY THE REMOVABLE LOADER"
`,
			fail: "mdadm /dev/md0 --fail /dev/vdb2 >/dev/null\n",
			after: `
mdadm --wait /dev/md0 || true
grep -q '\[UU\]' /proc/mdstat && echo "REDUNDANT OK"
mkdir -p /mnt/newesp && mount -o ro /dev/${NEW}1 /mnt/newesp
diff -r /boot/efi /mnt/newesp && echo "ESP TREES IDENTICAL"
umount /mnt/newesp
`,
			loader: bootloader.FallbackPath,
			want:   []string{"ONLY THE REMOVABLE LOADER", "each verified by SHA-256", "ESP TREES IDENTICAL", "REDUNDANT OK", "done: every step of plan"},
		},
		{
			name: "suse-names",
			layout: `
for d in vda vdb; do
	mkfs.vfat -F 32 -n ESP /dev/${d}1 >/dev/null
	mount /dev/${d}1 /boot/efi
	eval $GRUB_EFI --bootloader-id=opensuse >/dev/null 2>&1
	mv /boot/efi/EFI/opensuse/grubx64.efi /boot/efi/EFI/opensuse/grub.efi
	umount /boot/efi
	efibootmgr --create --disk /dev/$d --part 1 --label opensuse --loader '\EFI\opensuse\grub.efi' >/dev/null
done
` + grubCfg + `
mount /dev/vda1 /boot/efi
# SUSE's names and places over Debian's binaries: os-release, GRUB's loader EFI/opensuse/grub.efi
# (Debian's image under SUSE's name), grub2-install (the Debian name is gone), GRUB's files in
# /boot/grub2 (a link keeps the image's prefix working), no debconf.
rm -f /etc/os-release
printf 'NAME="openSUSE Leap"\nVERSION_ID="15.6"\nID="opensuse-leap"\nID_LIKE="suse opensuse"\n' > /etc/os-release
mkdir -p /usr/lib/suse-names
mv /usr/sbin/grub-install /usr/lib/suse-names/grub-install
ln -s /usr/lib/suse-names/grub-install /usr/sbin/grub2-install
rm -f /var/cache/debconf/config.dat
mv /boot/grub /boot/grub2
ln -s grub2 /boot/grub
[ "$(ls /boot/efi/EFI)" = opensuse ] && ls /boot/efi/EFI/opensuse | grep -qx grub.efi && echo "SUSE NAMES ON THE ESP"
`,
			fail: "mdadm /dev/md0 --fail /dev/vdb2 >/dev/null\n",
			after: `
mdadm --wait /dev/md0 || true
grep -q '\[UU\]' /proc/mdstat && echo "REDUNDANT OK"
mkdir -p /mnt/newesp && mount -o ro /dev/${NEW}1 /mnt/newesp
test -e /mnt/newesp/EFI/opensuse/grub.efi && echo "NEW ESP HAS grub.efi"
umount /mnt/newesp
`,
			loader: "EFI/opensuse/grub.efi",
			want:   []string{"SUSE NAMES ON THE ESP", "NEW ESP HAS grub.efi", "REDUNDANT OK", "done: every step of plan"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) { uefiLayoutRun(t, kernel, tc) })
	}
}

func uefiLayoutRun(t *testing.T, kernel string, tc uefiLayoutCase) {
	marker := "raidswap-uefi-marker: " + tc.name + " booted alone"
	dir, share, vars, surv, old, nw := newUEFIRig(t, marker)
	script := uefiPrelude + uefiBootMD + tc.layout + `
blkid -p -o value -s PART_ENTRY_UUID /dev/vda1 > /mnt/share/surv.partuuid
blkid -p -o value -s PART_ENTRY_UUID /dev/vdb1 > /mnt/share/old.partuuid
sync
say "fail and replace"
` + tc.fail + `
udevadm trigger --action=change --subsystem-match=block; udevadm settle
$RS --plan --failed WD-OLD --new WD-NEW
( await_journal started await-removal; /run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null; sleep 1; /run/vmtest/bin/vmtest-hotplug plug WD-NEW >/dev/null ) &
$RS replace --failed WD-OLD --new WD-NEW --yes --plain --wait-timeout 3m > /run/rs.out 2>&1 || { cat /run/rs.out; exit 1; }
cat /run/rs.out
wait
NEW=$(for f in /sys/block/*/serial; do [ "$(cat $f)" = WD-NEW ] && basename $(dirname $f); done)
blkid -p -o value -s PART_ENTRY_UUID /dev/${NEW}1 > /mnt/share/new.partuuid
` + tc.after + `
say "status"
$RS status --json > /mnt/share/status.json || echo "status --json exit $?"
$RS status || echo "status exit $?"
echo "== EFIBOOTMGR BEGIN"
efibootmgr -v
echo "== EFIBOOTMGR END"
umount /boot/efi /boot
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
	golden.Contains(t, res.Output, tc.want...)
	for _, s := range tc.notWant {
		if strings.Contains(res.Output, s) {
			t.Errorf("the plan or the run holds %q", s)
		}
	}
	wantStatusBootEntries(t, share, "WD-SURV", "WD-NEW")
	if st, _ := os.ReadFile(filepath.Join(share, "status.json")); !strings.Contains(string(st), tc.statusReason) {
		t.Errorf("status --json does not say %q:\n%s", tc.statusReason, st)
	}

	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(share, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	survID, oldID, newID := read("surv.partuuid"), read("old.partuuid"), read("new.partuuid")
	if survID == "" || newID == "" || survID == newID || oldID == newID {
		t.Fatalf("PARTUUIDs: survivor %q, old %q, new %q", survID, oldID, newID)
	}
	_, out, ok := strings.Cut(res.Output, "== EFIBOOTMGR BEGIN")
	out, _, ok2 := strings.Cut(out, "== EFIBOOTMGR END")
	if !ok || !ok2 {
		t.Fatal("the guest printed no efibootmgr -v")
	}
	bv, err := bootloader.ParseBootVars([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	efiLoader := bootloader.LoaderPathEFI(tc.loader)
	se, ne := bv.EntryFor(survID, efiLoader), bv.EntryFor(newID, efiLoader)
	if se == nil || ne == nil {
		t.Fatalf("entries booting %s: survivor %v, new disk %v in\n%s", efiLoader, se, ne, out)
	}
	if ne.Label != "raidswap WD-NEW" {
		t.Errorf("new disk's entry is labelled %q", ne.Label)
	}
	for _, e := range bv.Entries {
		if e.PARTUUID == oldID {
			t.Errorf("the failed disk's entry Boot%s is still there", e.Num)
		}
	}

	nw.Unplugged = false
	for _, d := range []struct {
		disk  vmtest.Disk
		entry *bootloader.BootEntry
	}{{surv, se}, {nw, ne}} {
		for _, byEntry := range []bool{true, false} {
			if !byEntry && d.disk.Serial != nw.Serial {
				// The survivor's ESP kept its loader; the new disk's is the one made here.
				continue
			}
			name := d.disk.Serial + "/fallback"
			cfg := vmtest.BootConfig{Disks: []vmtest.Disk{d.disk}, Firmware: vmtest.UEFI, Marker: marker}
			if byEntry {
				name = d.disk.Serial + "/entry"
				cfg.UEFIVars = filepath.Join(dir, "vars-"+d.disk.Serial+".fd")
				if err := vmtest.CopyFile(cfg.UEFIVars, vars); err != nil {
					t.Fatal(err)
				}
			}
			t.Run(name, func(t *testing.T) { bootAloneUEFI(t, name, cfg, d.entry, efiLoader, byEntry) })
		}
	}
}
