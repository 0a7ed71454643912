package bootloader_test

import (
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// The BIOS boot-alone proof: a bootable two-disk RAID1 (/boot on md0, metadata 1.0, ext4,
// the VM kernel and a marker initramfs in it, a grub.cfg that loads them), one disk failed
// and replaced with `raidswap replace --yes`, then each remaining disk booted ALONE under
// SeaBIOS from its image (no -kernel, -boot strict=on, snapshot=on): the new disk and the
// survivor must both reach the marker.
const biosSetup = `
set -eu
RS=$RS
` + vmtest.GuestLib + `$RS simulate build --table $TABLE /dev/vda /dev/vdb >/dev/null
udevadm trigger --action=change --subsystem-match=block >/dev/null 2>&1 || true
udevadm settle || true
mkdir -p /boot
mount /dev/md0 /boot
MODS="part_gpt mdraid1x ext2"; [ $TABLE = mbr ] && MODS="part_msdos mdraid1x ext2"
for d in $GRUB_ON; do grub-install --target=i386-pc --modules="$MODS" /dev/$d >/dev/null 2>&1; done
` + vmtest.MarkerBoot + `sync
for d in vda vdb; do printf '%s mbr: ' $d; dd if=/dev/$d bs=440 count=1 status=none | grep -qa GRUB && echo grub || echo none; done
echo "grub-pc grub-pc/install_devices multiselect /dev/disk/by-id/virtio-WD-OLD" | debconf-set-selections
SWAP=$(for p in /dev/vdb?; do [ "$(blkid -o value -s TYPE $p || true)" = swap ] && echo $p; done || true)
printf '/dev/md0 /boot ext4 defaults 0 2\nUUID=%s none swap sw 0 0\n' "$(blkid -o value -s UUID $SWAP)" > /etc/fstab
if [ "$PROFILE" = rhel ]; then
	# RHEL's names and places over Debian's binaries: os-release, grub2-install (Debian's
	# grub-install under RHEL's name; the Debian name is gone), GRUB's files in /boot/grub2
	# (Debian's binary writes /boot/grub, a link to it, as RHEL's builds write /boot/grub2),
	# efibootmgr only in /usr/sbin, no debconf.
	rm -f /etc/os-release
	printf 'NAME="Red Hat Enterprise Linux"\nVERSION_ID="9.4"\nID="rhel"\nID_LIKE="fedora"\nPRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"\n' > /etc/os-release
	mkdir -p /usr/lib/rhel-names
	mv /usr/sbin/grub-install /usr/lib/rhel-names/grub-install
	ln -s /usr/lib/rhel-names/grub-install /usr/sbin/grub2-install
	mv /usr/bin/efibootmgr /usr/sbin/efibootmgr
	rm -f /var/cache/debconf/config.dat
	mv /boot/grub /boot/grub2
	ln -s grub2 /boot/grub
	ls -d /usr/sbin/grub-install /usr/bin/efibootmgr 2>&1 | sed 's/^/RHEL-NAMES: /'
fi
[ "$BOOT_MOUNTED" = yes ] || umount /boot
say "status before"
$RS status > /run/st0.txt || echo "status before: exit $?"
grep -E '^(WARNING|OK|CRITICAL)|^vd[ab] ' /run/st0.txt
$RS simulate fail --disk vdb >/dev/null
( await_journal started await-removal; /run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null; sleep 1; /run/vmtest/bin/vmtest-hotplug plug WD-NEW >/dev/null ) &
say "plan"
$RS --plan --failed WD-OLD --new WD-NEW --format text > /run/plan.txt
sed -n '/ 1\. preflight/,/^ *2\. /p' /run/plan.txt
sed -n '/bootloader\|mount-boot\|debconf/,/^ *[0-9]*\. /p' /run/plan.txt | head -60
grep -i 'keeps no list' /run/plan.txt || true
# What grub-install will overwrite on the survivor, as it is now: raidswap must save it first.
dd if=/dev/vda of=/run/vda-head.bin bs=1M count=2 iflag=direct status=none
[ "$TABLE" = gpt ] && dd if=/dev/vda1 of=/run/vda1.bin iflag=direct status=none
say "replace"
start=$(date +%s)
$RS replace --failed WD-OLD --new WD-NEW --yes --plain --wait-timeout 3m > /run/rs.out 2>&1 || { cat /run/rs.out; exit 1; }
echo "replace took $(( $(date +%s) - start )) s"
grep -E 'bootloader|boots alone|survivor|mount|install_devices|grub' /run/rs.out || true
wait
mdadm --wait /dev/md0 /dev/md1 >/dev/null 2>&1 || true
grep -c '\[UU\]' /proc/mdstat | grep -qx 2 && echo "REDUNDANT OK"
grep -q ' /run/raidswap/boot-md0 ' /proc/self/mounts && echo "PRIVATE MOUNT LEFT BEHIND"
B=$(ls -d /var/lib/raidswap/backups/WD-SURV-bootcode-* 2>/dev/null | head -1)
if [ -n "$B" ] && cmp -s "$B/mbr.bin" <(head -c 512 /run/vda-head.bin); then
	if [ "$TABLE" = gpt ]; then cmp -s "$B/bios-boot.bin" /run/vda1.bin && echo "BOOT CODE SAVED: sector 0 and the BIOS boot partition"
	else n=$(stat -c %s "$B/gap.bin"); cmp -s -n "$n" "$B/gap.bin" /run/vda-head.bin 0 512 && echo "BOOT CODE SAVED: sector 0 and the gap ($n bytes)"; fi
fi
grep -h restore: "$B/README.txt" 2>/dev/null
grep -q ' /boot ' /proc/self/mounts && echo "BOOT MOUNTED AFTER: yes" || echo "BOOT MOUNTED AFTER: no"
debconf-show grub-pc 2>/dev/null | grep install_devices || grep -A2 'Name: grub-pc/install_devices' /var/cache/debconf/config.dat || echo "no debconf"
echo "GRUB INSTALLS RUN: $(cat /var/lib/raidswap/journal/*.jsonl | grep '"event":"started"' | grep -o '"argv":\["[^"]*grub[^"]*"' | sort | uniq -c | sed 's/^ *//')"
$RS status | sed -n '/DISK\|BOOT/,$p' | head -12
sync
grep -q ' /boot ' /proc/self/mounts && umount /boot
mdadm --stop /dev/md0 /dev/md1 >/dev/null
sync
echo SETUP-DONE
`

func TestVMBootAloneBIOS(t *testing.T) {
	vmtest.Require(t)
	kernel, err := vmtest.Assets()
	if err != nil {
		t.Fatal(err)
	}
	rs := testbin.Raidswap(t)
	for _, tc := range []struct {
		name, table, grubOn, mounted, profile string
	}{
		{"gpt", "gpt", "vda vdb", "yes", ""},
		{"dos", "mbr", "vda vdb", "yes", ""},
		{"survivor-without-boot-code", "gpt", "vdb", "yes", ""},
		{"boot-not-mounted", "gpt", "vda vdb", "no", ""},
		// RHEL's names and places (issue 17): the distribution profile finds grub2-install.
		{"rhel-names", "gpt", "vda vdb", "yes", "rhel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rig := newBootRig(t, "raidswap-boot-proof: "+tc.name+" booted alone")
			surv, old, nw := rig.image("WD-SURV", false), rig.image("WD-OLD", false), rig.image("WD-NEW", true)
			res := vmtest.RunT(t, vmtest.Config{Disks: []vmtest.Disk{surv, old, nw}, Share: rig.Share, Timeout: 8 * time.Minute,
				Env:    map[string]string{"RS": rs, "KERNEL": kernel, "TABLE": tc.table, "GRUB_ON": tc.grubOn, "BOOT_MOUNTED": tc.mounted, "PROFILE": tc.profile},
				Script: biosSetup})
			t.Logf("guest output:\n%s", res.Output)
			if res.ExitCode != 0 {
				t.Fatalf("guest script exit %d", res.ExitCode)
			}
			want := []string{"REDUNDANT OK", "SETUP-DONE", "boots alone: GRUB 2", "survivor vda (WD-SURV): ", "BOOT CODE SAVED: sector 0 and the "}
			if tc.profile == "rhel" {
				want = append(want, "RHEL-NAMES: ls: cannot access '/usr/sbin/grub-install'", "RHEL-NAMES: ls: cannot access '/usr/bin/efibootmgr'",
					"/usr/sbin/grub2-install (Red Hat Enterprise Linux 9.4 (Plow),",
					"boot: the rhel family keeps no list of the disks GRUB is installed on", "no debconf",
					`GRUB INSTALLS RUN: 2 "argv":["/usr/sbin/grub2-install"`, "GRUB in /boot/grub2.")
			} else {
				want = append(want, "virtio-WD-SURV, /dev/disk/by-id/virtio-WD-NEW")
			}
			if tc.mounted == "yes" {
				want = append(want, "BOOT MOUNTED AFTER: yes")
			} else {
				want = append(want, "BOOT MOUNTED AFTER: no", "mount-boot", "--boot-directory=/run/raidswap/boot-md0")
			}
			if tc.grubOn == "vdb" {
				// Status saw the failure nobody notices: the survivor cannot boot alone.
				want = append(want, "vda mbr: none", "WARNING: disk vda (WD-SURV) cannot boot alone (md0): no boot code in the MBR", "status before: exit 1")
			}
			after := res.Output[max(strings.Index(res.Output, "== replace"), 0):]
			if n := strings.Count(after, "healthy  ok\n"); n != 2 {
				t.Errorf("status after the replacement shows %d disks with BOOT ok, want 2", n)
			}
			golden.Contains(t, res.Output, want...)
			if strings.Contains(res.Output, "PRIVATE MOUNT LEFT BEHIND") {
				t.Error("the private /boot mount was left behind")
			}
			rig.bootsAlone(nw, surv)
		})
	}
}
