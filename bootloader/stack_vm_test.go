package bootloader_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// stackCommon is shared by the stacked-/boot layouts: the disks (a BIOS boot partition and
// one RAID partition each), the replacement of WD-OLD by WD-NEW with `raidswap replace
// --yes`, and what the test checks afterwards. LAYOUT builds the layout on md0 and defines
// enter (how the rest runs: in a chroot whose / is the LV, or here) and teardown.
const stackCommon = `
set -eu
for d in vda vdb; do sgdisk -Z -n1:2048:+1M -t1:ef02 -n2:0:0 -t2:fd00 /dev/$d >/dev/null; done
partx -u /dev/vda 2>/dev/null || true; partx -u /dev/vdb 2>/dev/null || true
udevadm settle || true
mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --metadata=1.2 --bitmap=none /dev/vda2 /dev/vdb2 >/dev/null 2>&1
mdadm --wait /dev/md0 >/dev/null 2>&1 || true
` + "\n"

const stackReplace = vmtest.GuestJournal + `MODS="part_gpt mdraid1x ext2"
for d in vda vdb; do grub-install --target=i386-pc --modules="$MODS" /dev/$d >/dev/null 2>&1 || { echo "grub-install $d failed"; exit 1; }; done
cat >$BOOT/grub/grub.cfg <<CFG
set timeout=0
insmod mdraid1x
insmod part_gpt
insmod lvm
insmod ext2
search --no-floppy --label $FSLABEL --set=root
linux $KPATH/vmlinuz console=ttyS0 panic=-1 loglevel=3
initrd $KPATH/marker.img
boot
CFG
sync
echo "grub-pc grub-pc/install_devices multiselect /dev/disk/by-id/virtio-WD-SURV, /dev/disk/by-id/virtio-WD-OLD" | debconf-set-selections
say "status before"
$RS status > /run/st0.txt 2>&1 || echo "status before: exit $?"
grep -E '^(WARNING|OK|CRITICAL)|md0' /run/st0.txt | head -5
$RS snapshot /mnt/share/capture.tar.gz >/dev/null 2>&1 || echo "snapshot: exit $?"
$RS simulate fail --disk vdb >/dev/null
( await_journal started await-removal; /run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null; sleep 1; /run/vmtest/bin/vmtest-hotplug plug WD-NEW >/dev/null ) &
say "plan"
$RS --plan --failed WD-OLD --new WD-NEW --format text > /run/plan.txt 2>&1 || echo "plan: exit $?"
grep -iE 'boot|grub' /run/plan.txt | head -20
say "replace"
rc=0
$RS replace --failed WD-OLD --new WD-NEW --yes --plain --wait-timeout 3m > /run/rs.out 2>&1 || rc=$?
grep -E 'bootloader|boots alone|holds /boot|/boot|grub' /run/rs.out | head -20 || true
echo "replace rc=$rc"
[ $rc = 0 ] || { tail -20 /run/rs.out; }
wait
mdadm --wait /dev/md0 >/dev/null 2>&1 || true
grep -q '\[UU\]' /proc/mdstat && echo "REDUNDANT OK"
for d in /dev/vd?; do printf '%s mbr: ' ${d#/dev/}; dd if=$d bs=440 count=1 status=none | grep -qa GRUB && echo grub || echo none; done
$RS status | sed -n '/DISK\|BOOT/,$p' | head -12
sync
`

// stackLayouts are the stacked /boot layouts: each builds its file systems on md0, puts the
// VM kernel and a marker initramfs into /boot, and runs stackReplace where / (or /boot) is
// the stacked device.
var stackLayouts = []struct {
	name, script string
	want         []string
}{
	{"lvm-root-boot-dir", `
pvcreate -q /dev/md0 >/dev/null
vgcreate -q vg0 /dev/md0 >/dev/null
lvcreate -q -y -L 160M -n root vg0 >/dev/null
lvcreate -q -y -L 16M -n swap vg0 >/dev/null
mkfs.ext4 -q -L root /dev/vg0/root
mkswap -q /dev/vg0/swap >/dev/null && swapon /dev/vg0/swap
mkdir -p /newroot && mount /dev/vg0/root /newroot
mkdir -p /newroot/boot/grub
cp "$KERNEL" /newroot/boot/vmlinuz
cp /mnt/share/marker.img /newroot/boot/marker.img
printf '/dev/vg0/root / ext4 defaults 0 1\n/dev/vg0/swap none swap sw 0 0\n' > /etc/fstab
# / is the LV: a chroot whose root is its file system, the system's directories bound in.
for d in /*; do
	n=${d#/}
	case $n in newroot|boot|lost+found) continue ;; esac
	if [ -L "$d" ]; then cp -a "$d" "/newroot/$n"; elif [ -d "$d" ]; then mkdir -p "/newroot/$n"; mount --rbind "$d" "/newroot/$n"; fi
done
export RS
printf '%s\n' "$STACK_REPLACE" > /run/stack-replace.sh
BOOT=/boot FSLABEL=root KPATH=/boot chroot /newroot /bin/bash -eu /run/stack-replace.sh
swapoff -a || true
umount -R /newroot 2>/dev/null || umount -lR /newroot
vgchange -q -an vg0 >/dev/null
mdadm --stop /dev/md0 >/dev/null
sync
echo SETUP-DONE
`, []string{"md0 holds /boot (/boot (a directory on /) → dm-0 (LVM vg0-root) → md0 → vda2"}},
	{"md-partition-boot", `
sgdisk -n1:0:+64M -t1:8300 -n2:0:0 -t2:8300 /dev/md0 >/dev/null
partx -u /dev/md0 2>/dev/null || true
udevadm settle || true
mkfs.ext4 -q -L boot /dev/md0p1
mkfs.ext4 -q -L data /dev/md0p2
mkdir -p /boot /srv/data && mount /dev/md0p1 /boot && mount /dev/md0p2 /srv/data
mkdir -p /boot/grub
cp "$KERNEL" /boot/vmlinuz
cp /mnt/share/marker.img /boot/marker.img
printf '/dev/md0p1 /boot ext4 defaults 0 2\n/dev/md0p2 /srv/data ext4 defaults 0 2\n' > /etc/fstab
BOOT=/boot FSLABEL=boot KPATH=
eval "$STACK_REPLACE"
umount /boot /srv/data
mdadm --stop /dev/md0 >/dev/null
sync
echo SETUP-DONE
`, []string{"md0 holds /boot (/boot → md0p1 (partition of md0) → md0 → vda2"}},
}

// TestVMStackedBootBIOS replaces a disk of a mirror whose /boot is not a file system
// directly on md0 but rests on it through a stack, under BIOS: (a) / an LV of a volume
// group on md0 with /boot a directory inside it (and swap an LV), (b) /boot on md0p1, a
// partition of a partitioned md0. raidswap must see /boot on md0, install GRUB on the new
// disk, and each remaining disk must boot alone under SeaBIOS.
func TestVMStackedBootBIOS(t *testing.T) {
	vmtest.Require(t)
	kernel, err := vmtest.Assets()
	if err != nil {
		t.Fatal(err)
	}
	rs := testbin.Raidswap(t)
	for _, tc := range stackLayouts {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rig := newBootRig(t, "raidswap-boot-proof: "+tc.name+" booted alone")
			surv, old, nw := rig.image("WD-SURV", false), rig.image("WD-OLD", false), rig.image("WD-NEW", true)
			res := vmtest.RunT(t, vmtest.Config{Disks: []vmtest.Disk{surv, old, nw}, Share: rig.Share, Timeout: 8 * time.Minute,
				Env:    map[string]string{"RS": rs, "KERNEL": kernel, "STACK_REPLACE": stackReplace},
				Script: stackCommon + tc.script})
			t.Logf("guest output:\n%s", res.Output)
			if res.ExitCode != 0 {
				t.Fatalf("guest script exit %d", res.ExitCode)
			}
			if golden.Update() {
				// The capture before the failure is internal/discover's fixture of this layout.
				b, err := os.ReadFile(filepath.Join(rig.Share, "capture.tar.gz"))
				if err == nil {
					err = os.WriteFile(filepath.Join("..", "internal", "discover", "testdata", "fixtures", "stack-"+tc.name+".tar.gz"), b, 0o644)
				}
				if err != nil {
					t.Errorf("keeping the capture: %v", err)
				}
			}
			golden.Contains(t, res.Output, append([]string{"replace rc=0", "REDUNDANT OK", "SETUP-DONE"}, tc.want...)...)
			after := res.Output[max(strings.Index(res.Output, "== replace"), 0):]
			if n := strings.Count(after, "boots alone: GRUB 2"); n != 2 {
				t.Errorf("the replacement says %d disks boot alone, want 2 (the survivor and the new disk)", n)
			}
			if n := strings.Count(after, "healthy  ok\n"); n != 2 {
				t.Errorf("status after the replacement shows %d disks with BOOT ok, want 2", n)
			}
			rig.bootsAlone(nw, surv)
		})
	}
}

// stackLUKS is /boot an LV of a volume group inside LUKS on md0, with no
// GRUB_ENABLE_CRYPTODISK: GRUB on the new disk could not read /boot, so the plan and the
// replacement are refused in one line before anything is written.
const stackLUKS = `
modprobe dm-crypt 2>/dev/null || true
printf 'raidswap-test' > /run/key
cryptsetup -q luksFormat --type luks2 --cipher aes-cbc-plain64 --key-size 256 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 /dev/md0 /run/key
cryptsetup open --key-file /run/key /dev/md0 cryptmd
pvcreate -q /dev/mapper/cryptmd >/dev/null
vgcreate -q vg0 /dev/mapper/cryptmd >/dev/null
lvcreate -q -y -L 64M -n boot vg0 >/dev/null
mkfs.ext4 -q -L boot /dev/vg0/boot
mkdir -p /boot && mount /dev/vg0/boot /boot && mkdir -p /boot/grub/i386-pc
printf '/dev/vg0/boot /boot ext4 defaults 0 2\n' > /etc/fstab
printf 'GRUB_DEFAULT=0\n' > /etc/default/grub
$RS simulate fail --disk vdb >/dev/null
rc=0; $RS --plan --failed WD-OLD --new WD-NEW --format text > /run/plan.txt 2>&1 || rc=$?
echo "plan rc=$rc"; grep -i 'boot' /run/plan.txt | head -5
rc=0; $RS replace --failed WD-OLD --new WD-NEW --yes --plain --wait-timeout 1m > /run/rs.out 2>&1 || rc=$?
echo "replace rc=$rc"; grep -i 'boot' /run/rs.out | head -5
if cat /var/lib/raidswap/journal/*.jsonl 2>/dev/null | grep -q '"event":"started"'; then echo "A STEP STARTED"; fi
grep -A2 '^md0' /proc/mdstat | head -3
echo SETUP-DONE
`

// TestVMStackedBootRefusedLUKS: /boot inside LUKS on the array, GRUB not set to unlock it.
func TestVMStackedBootRefusedLUKS(t *testing.T) {
	vmtest.Require(t)
	rs := testbin.Raidswap(t)
	rig := newBootRig(t, "")
	res := vmtest.RunT(t, vmtest.Config{Disks: []vmtest.Disk{rig.image("WD-SURV", false), rig.image("WD-OLD", false), rig.image("WD-NEW", true)}, Timeout: 6 * time.Minute,
		Env: map[string]string{"RS": rs}, Script: stackCommon + stackLUKS})
	t.Logf("guest output:\n%s", res.Output)
	if res.ExitCode != 0 {
		t.Fatalf("guest script exit %d", res.ExitCode)
	}
	why := "/boot lies inside the encrypted dm-0 (/boot → dm-1 (LVM vg0-boot) → dm-0 (LUKS cryptmd) → md0 → vda2, vdb2) and GRUB is not set to unlock it"
	golden.Contains(t, res.Output, "SETUP-DONE", why)
	for _, ok := range []string{"plan rc=0", "replace rc=0", "A STEP STARTED"} {
		if strings.Contains(res.Output, ok) {
			t.Errorf("output has %q: the layout was not refused before anything ran", ok)
		}
	}
}
