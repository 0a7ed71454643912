package exec_test

import (
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// The VM tests run the raidswap binary inside a guest with a real Debian kernel: md, GRUB,
// hot-unplug and hot-plug are the kernel's and QEMU's, not fakes.

// prologue builds the seed layout on vda (WD-SURV) and vdb (WD-OLD) the way a real server
// has it: /boot on md0 mounted at /boot, / on md1, swap on partition 3 of each disk named in
// /etc/fstab by UUID, GRUB on both disks. It writes canary files and records hashes of the
// canaries and of the survivor's first and last MiB.
//
// await_journal EVENT ACTION [SECONDS] waits until raidswap's journal records EVENT for the
// step whose ID ends in ACTION ({"event":"started","step":"05-await-removal"}; the format is
// internal/journal's), so that a test's hands act on what raidswap did, never on how it worded
// it. After SECONDS (default 180) it names what it waited for and ends the whole script, also
// when it runs in a background job.
const prologue = `
set -eu
RS=` + "$RS" + `
` + vmtest.GuestLib + `$RS simulate build --canary /dev/vda /dev/vdb >/dev/null
# udev must know the members as a booted server's udev does: its remove rule (mdadm -If)
# keys on ID_FS_TYPE, which a layout built seconds ago may not have in udev's database yet.
udevadm trigger --action=change --subsystem-match=block >/dev/null 2>&1 || true
udevadm settle || true
mkdir -p /boot /mnt/root
mount /dev/md0 /boot
mount /dev/md1 /mnt/root
grub-install --target=i386-pc /dev/vda >/dev/null 2>&1
grub-install --target=i386-pc /dev/vdb >/dev/null 2>&1
swapon /dev/vda3; swapon /dev/vdb3
OLDSWAP=$(blkid -o value -s UUID /dev/vdb3)
printf 'UUID=%s none swap sw 0 0\nUUID=%s none swap sw 0 0\n' "$(blkid -o value -s UUID /dev/vda3)" "$OLDSWAP" > /etc/fstab
head -c 20000000 /dev/urandom > /mnt/root/canary.bin
head -c 3000000 /dev/urandom > /boot/canary.bin
sync
sha256sum /mnt/root/canary.bin /boot/canary.bin /mnt/root/CANARY > /run/canary.sum
survivor_regions() {
	local size; size=$(blockdev --getsize64 /dev/vda)
	{ dd if=/dev/vda bs=1M count=1 status=none; dd if=/dev/vda bs=1M skip=$(( size / 1048576 - 1 )) count=1 status=none; } | sha256sum
}
survivor_regions > /run/survivor.before
$RS status >/dev/null || true
`

// epilogue checks the result: arrays redundant, canaries intact, swap UUID kept, boot code on
// the new disk, the survivor's first and last MiB unchanged.
const epilogue = `
say "result"
cat /proc/mdstat
mdadm --wait /dev/md0 /dev/md1 || true
grep -c '\[UU\]' /proc/mdstat | grep -qx 2 && echo "REDUNDANT OK"
echo 3 > /proc/sys/vm/drop_caches
sha256sum -c --quiet /run/canary.sum && echo "CANARY OK"
survivor_regions > /run/survivor.after
cmp -s /run/survivor.before /run/survivor.after && echo "SURVIVOR REGIONS IDENTICAL"
NEW=$(for f in /sys/block/*/serial; do [ "$(cat $f)" = WD-NEW ] && basename $(dirname $f); done)
echo "new disk: $NEW"
[ "$(blkid -o value -s UUID /dev/${NEW}3)" = "$OLDSWAP" ] && echo "SWAP UUID KEPT"
grep -q "^/dev/${NEW}3 " /proc/swaps && echo "SWAP ACTIVE"
dd if=/dev/$NEW bs=440 count=1 status=none | grep -qa GRUB && echo "GRUB ON NEW DISK"
`

// operator pulls WD-OLD once raidswap has started waiting for it (the journal says so), then
// inserts WD-NEW: the hands of the person at the server. It runs in the background.
const operator = `
operator() {
	await_journal started await-removal
	/run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null
	sleep 1
	/run/vmtest/bin/vmtest-hotplug plug WD-NEW >/dev/null
}
`

func vmDisks() []vmtest.Disk {
	return []vmtest.Disk{
		{Serial: "WD-SURV", SizeBytes: 256 << 20},
		{Serial: "WD-OLD", SizeBytes: 256 << 20},
		{Serial: "WD-NEW", SizeBytes: 256 << 20, Unplugged: true},
	}
}

func runVM(t *testing.T, disks []vmtest.Disk, script string) *vmtest.Result {
	t.Helper()
	return runVMEnv(t, disks, nil, script)
}

// runVMEnv is runVM with more variables for the guest script.
func runVMEnv(t *testing.T, disks []vmtest.Disk, env map[string]string, script string) *vmtest.Result {
	t.Helper()
	vmtest.Require(t)
	vars := map[string]string{"RS": testbin.Raidswap(t)}
	for k, v := range env {
		vars[k] = v
	}
	res := vmtest.RunT(t, vmtest.Config{Disks: disks, Timeout: 8 * time.Minute, MemoryMB: 1024,
		Env: vars, Script: script})
	if testing.Verbose() {
		t.Logf("guest output:\n%s", res.Output)
	}
	return res
}

var allChecks = []string{"REDUNDANT OK", "CANARY OK", "SURVIVOR REGIONS IDENTICAL", "SWAP UUID KEPT", "SWAP ACTIVE", "GRUB ON NEW DISK"}

// TestVMReplaceSeed is the seed's scenario end to end: vdb fails in both arrays, and
// `raidswap replace --yes` detaches it, waits for the pull and the new disk, and rebuilds.
func TestVMReplaceSeed(t *testing.T) {
	res := runVM(t, vmDisks(), prologue+operator+`
$RS simulate fail --disk vdb >/dev/null
operator &
say "replace"
$RS replace --failed WD-OLD --new WD-NEW --yes --plain --wait-timeout 3m > /run/rs.out 2>&1 || { cat /run/rs.out; exit 1; }
cat /run/rs.out
wait
`+epilogue)
	golden.Contains(t, res.Output, append(allChecks, "mdadm /dev/md0 --fail /dev/vdb2 --remove /dev/vdb2", "done: every step of plan")...)
	if res.ExitCode != 0 {
		t.Errorf("guest script exit %d", res.ExitCode)
	}
}

// TestVMVanished: vdb vanishes from the bus (QMP device_del); the new disk has no serial in
// the request and is found as the disk that appears.
func TestVMVanished(t *testing.T) {
	res := runVM(t, vmDisks(), prologue+`
swapoff /dev/vdb3
/run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null
echo poke > /boot/poke; echo poke > /mnt/root/poke; sync
$RS status --json > /run/st.json || true
( sleep 2; /run/vmtest/bin/vmtest-hotplug plug WD-NEW >/dev/null ) &
say "replace"
$RS replace --failed WD-OLD --yes --plain --wait-timeout 3m > /run/rs.out 2>&1 || { cat /run/rs.out; exit 1; }
cat /run/rs.out
wait
`+epilogue)
	golden.Contains(t, res.Output, append(allChecks, "new disk: vd")...)
	if res.ExitCode != 0 {
		t.Errorf("guest script exit %d", res.ExitCode)
	}
}

// TestVMPartiallyFailed: vdb fails in md0 only; raidswap fails its md1 member too, on
// purpose, and replaces the disk.
func TestVMPartiallyFailed(t *testing.T) {
	res := runVM(t, vmDisks(), prologue+operator+`
$RS simulate fail md0 vdb2 >/dev/null
$RS --plan --failed WD-OLD --new WD-NEW | grep -q "vdb4 is still in_sync in md1" && echo "PLAN SAYS SO"
operator &
$RS replace --failed vdb --new WD-NEW --yes --plain --wait-timeout 3m > /run/rs.out 2>&1 || { cat /run/rs.out; exit 1; }
cat /run/rs.out
wait
`+epilogue)
	golden.Contains(t, res.Output, append(allChecks, "PLAN SAYS SO", "mdadm /dev/md1 --fail /dev/vdb4 --remove /dev/vdb4")...)
	if res.ExitCode != 0 {
		t.Errorf("guest script exit %d", res.ExitCode)
	}
}

// TestVMReplaceWorking: --replace copies a working disk onto the new one while both stay in
// service; redundancy is never lost (checked while it runs).
func TestVMReplaceWorking(t *testing.T) {
	disks := vmDisks()
	disks[2].Unplugged = false
	res := runVM(t, disks, prologue+`
trap 'touch /run/stop; kill $(jobs -p) 2>/dev/null || true' EXIT
( while sleep 0.2; do grep -qE '\[U_\]|\[_U\]' /proc/mdstat && echo "LOST REDUNDANCY" >> /run/lost; [ -e /run/stop ] && break; done ) >/dev/null 2>&1 &
( await_journal started await-removal; /run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null ) &
$RS replace --replace --failed WD-OLD --new WD-NEW --yes --plain --wait-timeout 3m > /run/rs.out 2>&1 || { cat /run/rs.out; exit 1; }
touch /run/stop
cat /run/rs.out
wait
[ -e /run/lost ] || echo "NEVER DEGRADED"
`+epilogue)
	golden.Contains(t, res.Output, append(allChecks, "--replace /dev/vdb2 --with /dev/vdc2", "NEVER DEGRADED")...)
	if res.ExitCode != 0 {
		t.Errorf("guest script exit %d", res.ExitCode)
	}
}

// TestVMReAdd: the same disk comes back after a pull (a re-seated cable): md1 has a bitmap
// and gets --re-add; md0 has none and is zeroed and added.
func TestVMReAdd(t *testing.T) {
	disks := vmDisks()[:2]
	res := runVM(t, disks, `
set -eu
RS=$RS
$RS simulate build --bitmap internal --canary /dev/vda /dev/vdb >/dev/null
udevadm trigger --action=change --subsystem-match=block >/dev/null 2>&1 || true
udevadm settle || true
$RS status >/dev/null || true
/run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null
mkdir -p /mnt/root; mount /dev/md1 /mnt/root; head -c 4000000 /dev/urandom > /mnt/root/after.bin; sync
mdadm /dev/md1 --fail detached --remove detached >/dev/null 2>&1 || true
/run/vmtest/bin/vmtest-hotplug plug WD-OLD
cat /sys/block/md1/md/bitmap/location /sys/block/md0/md/bitmap/location
$RS --plan --re-add --failed WD-OLD
$RS replace --re-add --failed WD-OLD --yes --plain --wait-timeout 3m > /run/rs.out 2>&1 || { cat /run/rs.out; exit 1; }
cat /run/rs.out
grep -c '\[UU\]' /proc/mdstat | grep -qx 2 && echo "REDUNDANT OK"
`)
	golden.Contains(t, res.Output, "--re-add /dev/vd", "REDUNDANT OK", "done: every step of plan")
	if res.ExitCode != 0 {
		t.Errorf("guest script exit %d", res.ExitCode)
	}
}

// TestVMKillAtEveryStepBoundary kills raidswap with SIGKILL right after each step is
// journalled done (and sometimes inside the next one), then resumes, until the plan
// finishes; canaries and the survivor are checked at the end.
func TestVMKillAtEveryStepBoundary(t *testing.T) {
	res := runVM(t, vmDisks(), prologue+operator+`
$RS simulate fail --disk vdb >/dev/null
operator &
J=/var/lib/raidswap/journal
kills=0
for k in $(seq 1 40); do
	if [ $k = 1 ]; then
		$RS replace --failed WD-OLD --new WD-NEW --yes --plain --wait-timeout 3m >> /run/rs.out 2>&1 &
	else
		$RS resume --yes --plain --wait-timeout 3m >> /run/rs.out 2>&1 &
	fi
	pid=$!
	start=$(date +%s)
	while kill -0 $pid 2>/dev/null; do
		if [ $(( $(date +%s) - start )) -gt 150 ]; then
			echo "STUCK in iteration $k"; tail -5 $J/*.jsonl; tail -20 /run/rs.out; cat /proc/mdstat; ls /sys/block
			grep -H . /sys/block/md*/md/sync_action /sys/block/md*/md/array_state /sys/block/md*/md/degraded /sys/block/md*/md/dev-*/state /sys/block/md*/md/dev-*/slot
			kill -9 $pid; exit 1
		fi
		# The preflight check runs again at every resume: its record is no step boundary
		# (counting it, each resume would be killed right after it and never get further).
		n=$(cat $J/*.jsonl 2>/dev/null | grep -E '"event":"(done|skipped)"' | grep -vcE '"step":"[0-9]+-preflight"' || true)
		if [ "$n" -ge "$k" ]; then kill -9 $pid 2>/dev/null && kills=$((kills+1)); break; fi
		sleep 0.05
	done
	wait $pid 2>/dev/null || true
	tail -1 $J/*.jsonl | grep -q '"event":"finished"' && break
done
echo "kills: $kills"
cat /run/rs.out | grep -v '^      rebuild' | tail -30
wait
`+epilogue)
	golden.Contains(t, res.Output, allChecks...)
	if !strings.Contains(res.Output, "kills: ") || strings.Contains(res.Output, "kills: 0\n") {
		t.Errorf("no kill happened")
	}
	if res.ExitCode != 0 {
		t.Errorf("guest script exit %d", res.ExitCode)
	}
}
