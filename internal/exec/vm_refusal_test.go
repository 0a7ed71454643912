package exec_test

import (
	"testing"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// TestVMForgedPlansAndLock attacks a saved plan on a real kernel: the survivor's boot step
// edited into a dd over its GPT (re-sealed without and with the host's plan key), a detach
// step without a device, a plan file too large to read; then a second raidswap while one
// holds the lock. Nothing may reach the survivor, and the arrays must be as they were.
func TestVMForgedPlansAndLock(t *testing.T) {
	forge := testbin.Build(t, "./internal/exec/testdata/forgeplan", "forgeplan")
	res := runVMEnv(t, vmDisks(), map[string]string{"FORGE": forge}, prologue+`
$RS simulate fail --disk vdb >/dev/null
set +e
say "plan without --failed"
$RS --plan --out /run/p.json >/run/plan.txt 2>/run/plan.err; echo "plan exit $?"
cat /run/plan.err
grep -q "the disk coming out: WD-OLD" /run/plan.err && grep -q "Replace failed disk vdb (WD-OLD)" /run/plan.txt && echo "PICKED WD-OLD"
cat /proc/mdstat > /run/mdstat.before
for f in "boot-dd sha256" "boot-dd key" "detach-noargs key"; do
	set -- $f
	$FORGE -in /run/p.json -out /run/forged.json -edit $1 -seal $2 || exit 1
	$RS apply /run/forged.json --yes >/run/a.out 2>&1; rc=$?
	echo "forged $1 $2: exit $rc: $(cat /run/a.out)"
done
head -c 17000000 /dev/zero > /run/big.json
$RS apply /run/big.json --yes; echo "big plan exit $?"
survivor_regions > /run/survivor.after
cmp -s /run/survivor.before /run/survivor.after && echo "SURVIVOR REGIONS IDENTICAL"
sgdisk -v /dev/vda | grep -q "No problems found" && echo "SURVIVOR GPT VALID"
cat /proc/mdstat > /run/mdstat.after
cmp -s /run/mdstat.before /run/mdstat.after && echo "ARRAYS UNCHANGED"
say "a second raidswap while one runs"
$RS replace --yes --plain --wait-timeout 2m >/run/rs.out 2>&1 &
first=$!
await_journal started await-removal
$RS replace --failed WD-OLD --yes >/run/second.out 2>&1; echo "second replace exit $?: $(cat /run/second.out)"
$RS apply /run/p.json --yes >/run/second.out 2>&1; echo "second apply exit $?: $(cat /run/second.out)"
$RS resume --yes >/run/second.out 2>&1; echo "second resume exit $?: $(cat /run/second.out)"
$RS partition clone --from /dev/vda --to /dev/vdb --wipe >/run/second.out 2>&1; echo "partition clone exit $?: $(cat /run/second.out)"
kill -INT $first; wait $first
echo "first replace: $(tail -n 2 /run/rs.out)"
`)
	golden.Contains(t, res.Output,
		"plan exit 0", "PICKED WD-OLD",
		"forged boot-dd sha256: exit 65: raidswap: refusing the plan: it is not sealed with a plan key",
		`forged boot-dd key: exit 65: raidswap: refusing the plan: step 15-bootloader-vda: its command "/bin/dd if=/dev/zero of=/dev/vda bs=512 count=34 conv=fsync" is not the one its action and operands give`,
		`forged detach-noargs key: exit 65: raidswap: refusing the plan: step 03-detach-md0 (detach): device "" is not a kernel name`,
		"big plan exit 65", "larger than 16 MiB",
		"SURVIVOR REGIONS IDENTICAL", "SURVIVOR GPT VALID", "ARRAYS UNCHANGED",
		"second replace exit 65: raidswap: another raidswap (pid",
		"second apply exit 65: raidswap: another raidswap (pid",
		"second resume exit 65: raidswap: another raidswap (pid",
		"partition clone exit 65: raidswap: another raidswap (pid")
}

// TestVMPickFailedFromInventory: the operator failed and removed the members by hand and then
// pulled the disk; raidswap still finds the disk coming out, with and without --failed.
func TestVMPickFailedFromInventory(t *testing.T) {
	res := runVM(t, vmDisks(), prologue+`
set +e
mdadm /dev/md0 --fail /dev/vdb1 --remove /dev/vdb1 >/dev/null 2>&1
for md in md0 md1; do
	for m in $(mdadm --detail /dev/$md | awk '$NF ~ /^\/dev\/vdb/ { print $NF }'); do
		mdadm /dev/$md --fail $m --remove $m >/dev/null
	done
done
cat /proc/mdstat
$RS --plan --format text >/run/p1.txt 2>/run/p1.err; echo "removed, no --failed: exit $?: $(cat /run/p1.err)"
swapoff /dev/vdb3
/run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null
sleep 1
$RS --plan --format text >/run/p2.txt 2>/run/p2.err; echo "pulled, no --failed: exit $?: $(cat /run/p2.err)"
$RS --plan --failed WD-OLD --format text >/run/p3.txt 2>&1; echo "pulled, --failed WD-OLD: exit $?"
grep -q "WD-OLD" /run/p3.txt && echo "PLAN NAMES WD-OLD"
`)
	golden.Contains(t, res.Output,
		"removed, no --failed: exit 0: the disk coming out: WD-OLD",
		"pulled, no --failed: exit 0: the disk coming out: WD-OLD",
		"pulled, --failed WD-OLD: exit 0", "PLAN NAMES WD-OLD")
}

// TestVMResumeAfterNewDiskSwapped: the first new disk is too small and refused; the operator
// swaps it for a good one and `raidswap resume` waits for that one and finishes (before, the
// journal held the first disk's serial and every resume said it was not attached).
func TestVMResumeAfterNewDiskSwapped(t *testing.T) {
	disks := append(vmDisks(), vmtest.Disk{Serial: "WD-SMALL", SizeBytes: 128 << 20, Unplugged: true})
	res := runVM(t, disks, prologue+`
$RS simulate fail --disk vdb >/dev/null
set +e
( await_journal started await-removal
  /run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null; sleep 1
  /run/vmtest/bin/vmtest-hotplug plug WD-SMALL >/dev/null ) &
say "replace"
$RS replace --yes --plain --wait-timeout 2m >/run/rs.out 2>&1; echo "replace exit $?"
cat /run/rs.out
wait
/run/vmtest/bin/vmtest-hotplug unplug WD-SMALL >/dev/null; sleep 1
/run/vmtest/bin/vmtest-hotplug plug WD-NEW >/dev/null
say "resume"
$RS resume --yes --plain --wait-timeout 3m >/run/resume.out 2>&1; echo "resume exit $?"
cat /run/resume.out
set -e
`+epilogue)
	golden.Contains(t, res.Output, append(allChecks, "replace exit 65", "it is too small: 134217728 bytes",
		"the new disk WD-SMALL chosen in an earlier run is not attached and nothing was written to it: waiting for a new disk again",
		"new disk: vd", "resume exit 0", "done: every step of plan",
		// Each end says what comes next; resume first shows what was done and what remains
		// (issue 20, item 2).
		"Next: put right what the line above names, then `raidswap resume`",
		"new disk: serial WD-SMALL, not attached now", "  done ", "  next ", "  to do ", "-check-new-disk",
		"Next: `raidswap status` shows the arrays redundant again")...)
}

// TestVMReplaceRefusesDataOnNewDisk: the new disk holds a minix file system on the whole disk
// (no partition table: raidswap's own readers saw nothing there). libblkid does, so replace
// without --wipe stops at check-new-disk and the disk is not written.
func TestVMReplaceRefusesDataOnNewDisk(t *testing.T) {
	disks := vmDisks()
	disks[2].Unplugged = false
	res := runVM(t, disks, prologue+operator+`
$RS simulate fail --disk vdb >/dev/null
NEWDEV=$(for f in /sys/block/*/serial; do [ "$(cat $f)" = WD-NEW ] && basename $(dirname $f); done)
mkfs.minix /dev/$NEWDEV >/dev/null
sha256sum < /dev/$NEWDEV > /run/new.before
set +e
( await_journal started await-removal
  /run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null ) &
$RS replace --failed WD-OLD --new WD-NEW --yes --plain --wait-timeout 2m >/run/rs.out 2>&1; echo "replace exit $?"
cat /run/rs.out
wait
sha256sum < /dev/$NEWDEV | cmp -s - /run/new.before && echo "NEW DISK UNCHANGED"
blkid -p -o value -s TYPE /dev/$NEWDEV
`)
	golden.Contains(t, res.Output, "replace exit 65", "it already holds data: minix", "NEW DISK UNCHANGED")
}
