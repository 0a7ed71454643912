package cli

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// TestVMLocate runs locate on a real kernel: QEMU emulates no SES enclosure and no NPEM, so a
// virtio disk has no bay LED (status names none, `locate` says so and points to --blink, and
// ledctl itself refuses the disk); --blink reads the failed disk for its bound, and refuses
// the survivor and a partition.
func TestVMLocate(t *testing.T) {
	vmtest.Require(t)
	bin := testbin.Raidswap(t)
	script := "export PATH=" + filepath.Dir(bin) + `:$PATH
set -u
modprobe raid1
for d in vda vdb; do
	sgdisk -Z /dev/$d >/dev/null 2>&1 || true
	sgdisk -n1:1M:0 -t1:fd00 /dev/$d >/dev/null
	partx -u /dev/$d 2>/dev/null || partx -a /dev/$d
done
udevadm settle
mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 --metadata=1.2 /dev/vda1 /dev/vdb1
mdadm --wait /dev/md0 || true
mdadm /dev/md0 --fail /dev/vdb1
raidswap status --json > status.json; echo "status rc=$?"
grep -c '"bay"' status.json || true
raidswap locate vdb; echo "locate rc=$?"
ledctl locate=/dev/vdb; echo "ledctl rc=$?"
raidswap locate vda --blink --for 3s; echo "blink survivor rc=$?"
raidswap locate vdb1 --blink --for 3s; echo "blink partition rc=$?"
start=$(date +%s%N)
raidswap locate vdb --blink --for 3s; echo "blink rc=$?"
echo "blink wall ms $(( ($(date +%s%N) - start) / 1000000 ))"
exit 0
`
	res := vmtest.RunT(t, vmtest.Config{Disks: []vmtest.Disk{{Serial: "WD-LOCA001", SizeBytes: 128 << 20}, {Serial: "WD-LOCB002", SizeBytes: 128 << 20}},
		Script: script, Timeout: 5 * time.Minute})
	t.Logf("guest output:\n%s", res.Output)
	golden.Contains(t, res.Output,
		"status rc=2", "\n0\n",
		"no enclosure, NPEM or ledctl LED is known for vdb (WD-LOCB002)'s bay; `raidswap locate vdb --blink` blinks its activity LED instead",
		"locate rc=66",
		"device not supported", "ledctl rc=33",
		"refusing to blink vda: it holds md0 member vda1 (in_sync)", "blink survivor rc=65",
		"refusing vdb1: it is a partition of vdb (WD-LOCB002), not a whole disk", "blink partition rc=65",
		"blinking vdb (WD-LOCB002)'s activity LED", "stopped after 3s: read", "blink rc=0")
}
