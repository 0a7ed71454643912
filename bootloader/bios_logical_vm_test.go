package bootloader_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// logicalSetup is a DOS server whose md members and swap sit in logical partitions, as
// installers of the MBR era made them: /boot on md0 in primary partition 1 (metadata 1.0),
// an extended partition 2 holding swap in logical 5 and md1 in logical 6, GRUB 2 in each MBR
// and the gap after it. vdb fails and is replaced with `raidswap replace --yes`.
const logicalSetup = `
set -eu
RS=$RS
` + vmtest.GuestLib + `modprobe raid1 2>/dev/null || true
for d in vda vdb; do
	printf 'label: dos\nunit: sectors\n\nstart=2048, size=131072, type=fd, bootable\nstart=133120, type=5\nstart=135168, size=65536, type=82\nstart=202752, type=fd\n' | sfdisk -q /dev/$d
done
udevadm settle
mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 --metadata=1.0 /dev/vda1 /dev/vdb1
mdadm --create /dev/md1 --run --quiet --level=1 --raid-devices=2 --metadata=1.2 /dev/vda6 /dev/vdb6
mdadm --wait /dev/md0 /dev/md1 || true
mkfs.ext4 -q -L boot /dev/md0
mkfs.ext4 -q /dev/md1
mkswap -q /dev/vda5 >/dev/null; mkswap -q /dev/vdb5 >/dev/null
swapon /dev/vda5; swapon /dev/vdb5
printf '/dev/md0 /boot ext4 defaults 0 2\nUUID=%s none swap sw 0 0\nUUID=%s none swap sw 0 0\n' \
	"$(blkid -o value -s UUID /dev/vda5)" "$(blkid -o value -s UUID /dev/vdb5)" > /etc/fstab
udevadm trigger --action=change --subsystem-match=block >/dev/null 2>&1 || true
udevadm settle || true
mkdir -p /boot
mount /dev/md0 /boot
for d in vda vdb; do grub-install --target=i386-pc --modules="part_msdos mdraid1x ext2" /dev/$d >/dev/null 2>&1; done
` + vmtest.MarkerBoot + `sync
sfdisk -l /dev/vda | grep '^/dev/vda' | sed 's/^/SURVIVOR TABLE: /'
# The survivor's EBRs, as they are: the proof must keep them, and say it looked.
# The first EBR is the extended partition's first sector; its second entry links the next,
# relative to the extended partition's start.
next=$(od -An -tu4 -j $(( 133120 * 512 + 462 + 8 )) -N4 /dev/vda | tr -d ' ')
echo "EBRS AT: 133120 $(( 133120 + next ))"
ebrs() { for s in 133120 $(( 133120 + next )); do dd if=/dev/vda bs=512 skip=$s count=1 iflag=direct status=none; done | sha256sum; }
ebrs > /run/ebrs.before
mdadm /dev/md0 --fail /dev/vdb1 >/dev/null
mdadm /dev/md1 --fail /dev/vdb6 >/dev/null
( await_journal started await-removal; /run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null; sleep 1; /run/vmtest/bin/vmtest-hotplug plug WD-NEW >/dev/null ) &
say "replace"
$RS replace --failed WD-OLD --new WD-NEW --yes --plain --wait-timeout 3m > /run/rs.out 2>&1 || { cat /run/rs.out; exit 1; }
grep -E 'survivor|boots alone|mkswap|swapon' /run/rs.out || true
wait
mdadm --wait /dev/md0 /dev/md1 >/dev/null 2>&1 || true
grep -c '\[UU\]' /proc/mdstat | grep -qx 2 && echo "REDUNDANT OK"
ebrs > /run/ebrs.after
cmp -s /run/ebrs.before /run/ebrs.after && echo "SURVIVOR EBRS IDENTICAL"
NEW=$(for f in /sys/block/*/serial; do [ "$(cat $f)" = WD-NEW ] && basename $(dirname $f); done)
sfdisk -l /dev/$NEW | grep "^/dev/$NEW" | sed 's/^/NEW TABLE: /'
grep -q "^/dev/${NEW}5 " /proc/swaps && echo "SWAP ON LOGICAL 5 ACTIVE"
grep -ho '"survivor_sha256 extended boot record of partition [0-9]*' /var/lib/raidswap/journal/*.jsonl | sort -u | sed 's/^"/PROOF: /'
sync
umount /boot
mdadm --stop /dev/md0 /dev/md1 >/dev/null
sync
echo SETUP-DONE
`

// TestVMBootAloneDOSLogicals: a survivor whose DOS table has an extended partition proves
// through the replacement that its EBRs were left byte-identical (the survivor proof hashes
// each EBR's table), the new disk gets the same logical partitions (swap re-made on logical
// 5, md1's member on logical 6), and each disk then boots alone under SeaBIOS.
func TestVMBootAloneDOSLogicals(t *testing.T) {
	vmtest.Require(t)
	kernel, err := vmtest.Assets()
	if err != nil {
		t.Fatal(err)
	}
	rs := testbin.Raidswap(t)
	rig := newBootRig(t, "raidswap-boot-proof: dos-logicals booted alone")
	surv, old, nw := rig.image("WD-SURV", false), rig.image("WD-OLD", false), rig.image("WD-NEW", true)
	res := vmtest.RunT(t, vmtest.Config{Disks: []vmtest.Disk{surv, old, nw}, Share: rig.Share, Timeout: 8 * time.Minute,
		Env: map[string]string{"RS": rs, "KERNEL": kernel}, Script: logicalSetup})
	t.Logf("guest output:\n%s", res.Output)
	if res.ExitCode != 0 {
		t.Fatalf("guest script exit %d", res.ExitCode)
	}
	golden.Contains(t, res.Output, "SURVIVOR TABLE: /dev/vda5", "SURVIVOR TABLE: /dev/vda6", "REDUNDANT OK",
		"SURVIVOR EBRS IDENTICAL", "SWAP ON LOGICAL 5 ACTIVE", "survivor vda (WD-SURV): ",
		"PROOF: survivor_sha256 extended boot record of partition 5", "PROOF: survivor_sha256 extended boot record of partition 6",
		"SETUP-DONE")
	for _, n := range []string{"5", "6"} {
		if !regexp.MustCompile(`(?m)^NEW TABLE: /dev/vd[a-z]` + n + ` `).MatchString(res.Output) {
			t.Errorf("the new disk has no partition %s", n)
		}
	}
	if !strings.Contains(res.Output, "boots alone") {
		t.Error("the run did not say each disk boots alone")
	}
	rig.bootsAlone(nw, surv)
}
