package partition

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// VM tests: a real kernel with md, virtio disks with 512-byte, 512e and 4Kn sectors. They
// prove that md accepts the cloned partitions with `mdadm --add` and that the kernel's own
// partition parser reads what raidswap wrote. They run one at a time (no t.Parallel).

// TestVMClone4KnMdAdd: a GPT survivor with md 1.0 and 1.2 members (512-byte sectors) cloned
// onto a 4Kn disk. Without --allow-sector-size-change it is refused; with it the kernel reads
// the new table (BLKRRPART works on this kernel), md accepts both partitions, both arrays
// rebuild, and their logical block size becomes 4096 (the reason for the refusal). Then a
// second clone onto the now-active disk is refused with the member named.
func TestVMClone4KnMdAdd(t *testing.T) {
	vmtest.Require(t)
	bin := testbin.Raidswap(t)
	res := vmtest.RunT(t, vmtest.Config{
		Disks: []vmtest.Disk{
			{Serial: "SRC-512", SizeBytes: 1 << 30},
			{Serial: "TGT-4KN", SizeBytes: 1100 << 20, LogicalBlockSize: 4096},
		},
		Env:     map[string]string{"RS": bin},
		Timeout: 4 * time.Minute,
		Script: `
modprobe raid1
sgdisk -n1:2048:+1M -t1:ef02 -n2:0:+64M -t2:ef00 -n3:0:+200M -t3:fd00 -n4:0:0 -t4:fd00 /dev/vda >/dev/null
udevadm settle
mdadm --create /dev/md0 --level=1 --raid-devices=2 --metadata=1.0 --bitmap=none --run /dev/vda3 missing 2>/dev/null
mdadm --create /dev/md1 --level=1 --raid-devices=2 --metadata=1.2 --bitmap=internal --run /dev/vda4 missing 2>/dev/null
echo "lbs before: $(cat /sys/block/md1/queue/logical_block_size)"
$RS partition clone --from /dev/vda --to /dev/vdb --backup-dir /tmp/bk; echo "refused rc=$?"
$RS partition clone --from /dev/vda --to /dev/vdb --backup-dir /tmp/bk --allow-sector-size-change; echo "clone rc=$?"
sgdisk -v /dev/vdb
mdadm /dev/md0 --add /dev/vdb3; echo "add md0 rc=$?"
mdadm /dev/md1 --add /dev/vdb4; echo "add md1 rc=$?"
mdadm --wait /dev/md0 /dev/md1
cat /proc/mdstat
echo "lbs after: $(cat /sys/block/md0/queue/logical_block_size) $(cat /sys/block/md1/queue/logical_block_size)"
$RS partition clone --from /dev/vda --to /dev/vdb --backup-dir /tmp/bk --allow-sector-size-change --wipe; echo "busy rc=$?"
`,
	})
	golden.Contains(t, res.Output,
		"lbs before: 512",
		"mdadm#187", "refused rc=65",
		"verified: the table reads back as planned", "(via BLKRRPART)", "clone rc=0",
		"No problems found",
		"add md0 rc=0", "add md1 rc=0",
		"md0 : active raid1 vdb3[2] vda3[0]", "md1 : active raid1 vdb4[2] vda4[0]",
		"lbs after: 4096 4096",
		"refusing to write /dev/vdb (TGT-4KN): it holds md0 member vdb3 (in_sync)", "busy rc=65",
	)
	if n := strings.Count(res.Output, "[2/2] [UU]"); n != 2 {
		t.Errorf("%d arrays with both mirrors in sync, want 2", n)
	}
}

// TestVMShrinkToFitMdAdd: the survivor's last partition holds a 1.2 member that uses 32 MiB
// less than the partition. A 4Kn disk of the same size (3.5 KiB short for the bigger backup
// GPT) and a 512e disk 16 MiB smaller both get the layout with the last partition cut to
// what the member needs, and mdadm accepts both (the second as a spare), proving the need
// computed from the superblock is what mdadm requires. The 1.0 member before it keeps its size.
func TestVMShrinkToFitMdAdd(t *testing.T) {
	vmtest.Require(t)
	bin := testbin.Raidswap(t)
	res := vmtest.RunT(t, vmtest.Config{
		Disks: []vmtest.Disk{
			{Serial: "SRC-512", SizeBytes: 1 << 30},
			{Serial: "TGT-4KN", SizeBytes: 1 << 30, LogicalBlockSize: 4096},
			{Serial: "TGT-512E", SizeBytes: 1<<30 - 16<<20, PhysicalBlockSize: 4096},
		},
		Env:     map[string]string{"RS": bin},
		Timeout: 4 * time.Minute,
		Script: `
modprobe raid1
sgdisk -n1:2048:+1M -t1:ef02 -n3:0:+200M -t3:fd00 -n4:0:0 -t4:fd00 /dev/vda >/dev/null
udevadm settle
p4kib=$(( $(cat /sys/class/block/vda4/size) / 2 ))
mdadm --create /dev/md0 --level=1 --raid-devices=2 --metadata=1.0 --bitmap=none --run /dev/vda3 missing 2>/dev/null
mdadm --create /dev/md1 --level=1 --raid-devices=2 --metadata=1.2 --bitmap=internal --size=$(( (p4kib - 1024 - 32768) / 4 * 4 )) --run /dev/vda4 missing 2>/dev/null
$RS partition clone --from /dev/vda --to /dev/vdb --backup-dir /tmp/bk --allow-sector-size-change; echo "clone 4kn rc=$?"
$RS partition clone --from /dev/vda --to /dev/vdc --backup-dir /tmp/bk; echo "clone 512e rc=$?"
echo "vda4 $(cat /sys/class/block/vda4/size) vdb4 $(cat /sys/class/block/vdb4/size) vdc4 $(cat /sys/class/block/vdc4/size)"
mdadm /dev/md0 --add /dev/vdb3; echo "add vdb3 rc=$?"
mdadm /dev/md1 --add /dev/vdb4; echo "add vdb4 rc=$?"
mdadm /dev/md0 --add /dev/vdc3; echo "add vdc3 rc=$?"
mdadm /dev/md1 --add /dev/vdc4; echo "add vdc4 rc=$?"
mdadm --wait /dev/md0 /dev/md1
cat /proc/mdstat
`,
	})
	golden.Contains(t, res.Output,
		"shrunk", "clone 4kn rc=0", "clone 512e rc=0",
		"add vdb3 rc=0", "add vdb4 rc=0", "add vdc3 rc=0", "add vdc4 rc=0",
		"vdb4[2]", "vdc4[3](S)",
	)
	m := regexp.MustCompile(`vda4 (\d+) vdb4 (\d+) vdc4 (\d+)`).FindStringSubmatch(res.Output)
	if m == nil || atoi(m[2]) >= atoi(m[1]) || atoi(m[3]) >= atoi(m[1]) {
		t.Errorf("partition 4 sizes (512-byte units) %v: both targets should be smaller than the source", m)
	}
	if n := strings.Count(res.Output, "[2/2] [UU]"); n != 2 {
		t.Errorf("%d arrays with both mirrors in sync, want 2", n)
	}
}

// TestVMOldMBRLogicalMdAdd: a pre-2010 DOS layout (sector 63, cylinder boundaries, logical
// partitions 63 sectors after their EBRs) with a 0.90 member in a logical partition and a
// 1.2 member in a primary, cloned onto a 512e disk: starts move to 4 KiB boundaries, the
// kernel's own DOS parser follows the EBR chain raidswap wrote, and md takes both members.
func TestVMOldMBRLogicalMdAdd(t *testing.T) {
	vmtest.Require(t)
	bin := testbin.Raidswap(t)
	res := vmtest.RunT(t, vmtest.Config{
		Disks: []vmtest.Disk{
			{Serial: "OLD-512", SizeBytes: 1 << 30},
			{Serial: "NEW-512E", SizeBytes: 1 << 30, PhysicalBlockSize: 4096},
		},
		Env:     map[string]string{"RS": bin},
		Timeout: 4 * time.Minute,
		Script: `
modprobe raid1
C=16065
printf 'label: dos\nunit: sectors\n\nstart=63, size=%d, type=83, bootable\nstart=%d, size=%d, type=fd\nstart=%d, size=%d, type=5\nstart=%d, size=%d, type=82\nstart=%d, size=%d, type=fd\n' \
  $((C*8-63)) $((C*8)) $((C*30)) $((C*38)) $((C*50)) $((C*38+63)) $((C*10-63)) $((C*48+63)) $((C*30-63)) | sfdisk -q /dev/vda
udevadm settle
mdadm --create /dev/md0 --level=1 --raid-devices=2 --metadata=0.90 --run /dev/vda6 missing 2>/dev/null
mdadm --create /dev/md1 --level=1 --raid-devices=2 --metadata=1.2 --bitmap=none --run /dev/vda2 missing 2>/dev/null
$RS partition clone --from /dev/vda --to /dev/vdb --backup-dir /tmp/bk; echo "clone rc=$?"
sfdisk --verify /dev/vdb
fdisk -l /dev/vdb
for p in 1 2 3 5 6; do echo "vdb$p start $(cat /sys/class/block/vdb$p/start)"; done
mdadm /dev/md0 --add /dev/vdb6; echo "add vdb6 rc=$?"
mdadm /dev/md1 --add /dev/vdb2; echo "add vdb2 rc=$?"
mdadm --wait /dev/md0 /dev/md1
cat /proc/mdstat
`,
	})
	golden.Contains(t, res.Output,
		"realigned", "clone rc=0", "No errors detected",
		"add vdb6 rc=0", "add vdb2 rc=0",
		"md0 : active raid1 vdb6[", "md1 : active raid1 vdb2[",
	)
	if strings.Contains(res.Output, "does not start on physical sector boundary") {
		t.Errorf("fdisk reports misaligned partitions:\n%s", res.Output)
	}
	for _, m := range regexp.MustCompile(`vdb(\d) start (\d+)`).FindAllStringSubmatch(res.Output, -1) {
		if n := atoi(m[2]); n%8 != 0 {
			t.Errorf("kernel: vdb%s starts at sector %d, not 4 KiB aligned", m[1], n)
		}
	}
	if n := strings.Count(res.Output, "[2/2] [UU]"); n != 2 {
		t.Errorf("%d arrays with both mirrors in sync, want 2", n)
	}
}

// TestVMOddComponentOn4Kn is the evidence for the "unrepresentable" refusal: an array whose
// component size is not whole 4 KiB (an odd KiB count) is refused for a 4Kn target, while
// the same partitioning made by hand is accepted by mdadm and the kernel, and then md's write
// at the component's unaligned end fails.
func TestVMOddComponentOn4Kn(t *testing.T) {
	vmtest.Require(t)
	bin := testbin.Raidswap(t)
	res := vmtest.RunT(t, vmtest.Config{
		Disks: []vmtest.Disk{
			{Serial: "SRC-512", SizeBytes: 512 << 20},
			{Serial: "TGT-4KN", SizeBytes: 512 << 20, LogicalBlockSize: 4096},
		},
		Env:     map[string]string{"RS": bin},
		Timeout: 3 * time.Minute,
		Script: `
modprobe raid1
sgdisk -n1:2048:+200M -t1:fd00 /dev/vda >/dev/null
udevadm settle
mdadm --create /dev/md1 --level=1 --raid-devices=2 --metadata=1.2 --bitmap=none --size=100001 --run /dev/vda1 missing 2>/dev/null
$RS partition clone --from /dev/vda --to /dev/vdb --backup-dir /tmp/bk --allow-sector-size-change; echo "clone rc=$?"
sgdisk -n1:256:+51200 -t1:fd00 /dev/vdb >/dev/null
udevadm settle
mdadm /dev/md1 --add /dev/vdb1; echo "add rc=$?"
mdadm --wait /dev/md1
sync
dmesg | grep -c "I/O error, dev vdb" | sed 's/^/io errors: /'
`,
	})
	golden.Contains(t, res.Output, "not whole 4096-byte sectors", "clone rc=65", "add rc=0")
	if m := regexp.MustCompile(`io errors: (\d+)`).FindStringSubmatch(res.Output); m == nil || m[1] == "0" {
		t.Errorf("expected md's write past the last whole 4 KiB sector to fail; output:\n%s", res.Output)
	}
}

// TestVMTargetDataAndLastCopy: what the target holds, on a real kernel with md.
//   - A disk holding a minix file system (raidswap's own list does not know it; libblkid
//     does) is refused without --wipe and left byte-identical.
//   - A survivor named by its by-id link is refused with its own serial.
//   - In a "rescue boot" (arrays stopped, mdadm.conf naming them), the survivor of a failed
//     mirror is refused even with --wipe: its superblocks are the newest copies. The failed
//     disk's older superblocks of the same arrays are wiped.
//   - A disk holding a member of an array this host never knew is wiped with --wipe.
//   - The failed disk's stale superblocks (1.2 at a partition's start, 0.90 at its end) are
//     gone after the clone: mdadm --examine finds none on the new partitions.
//
// It also prints mdadm's and sysfs's UUIDs for a 1.2 and a 0.90 array, which the test
// compares with raidswap's own reading.
func TestVMTargetDataAndLastCopy(t *testing.T) {
	vmtest.Require(t)
	bin := testbin.Raidswap(t)
	res := vmtest.RunT(t, vmtest.Config{
		Disks: []vmtest.Disk{
			{Serial: "SRC", SizeBytes: 256 << 20},
			{Serial: "SURV", SizeBytes: 256 << 20},
			{Serial: "OLD", SizeBytes: 256 << 20},
			{Serial: "FOREIGN", SizeBytes: 256 << 20},
			{Serial: "MINIX", SizeBytes: 256 << 20},
		},
		// udev would assemble the stopped arrays again (mdadm -I) and make the survivor
		// busy: it runs only for the by-id check.
		NoUdev:  true,
		Env:     map[string]string{"RS": bin},
		Timeout: 4 * time.Minute,
		Script: `
modprobe raid1
for d in vda vdb vdc vdd; do sgdisk -n1:2048:+100M -t1:fd00 -n2:0:0 -t2:fd00 /dev/$d >/dev/null; done
mdadm --create /dev/md0 --level=1 --raid-devices=2 --metadata=1.2 --bitmap=none --run /dev/vdb1 /dev/vdc1 2>/dev/null
mdadm --create /dev/md1 --level=1 --raid-devices=2 --metadata=0.90 --run /dev/vdb2 /dev/vdc2 2>/dev/null
mdadm --wait /dev/md0 /dev/md1
echo "examine md0: $(mdadm --examine /dev/vdb1 | grep 'Array UUID' | awk '{print $NF}')"
echo "sysfs md0: $(cat /sys/block/md0/md/uuid)"
echo "examine md1: $(mdadm --examine /dev/vdb2 | grep ' UUID :' | awk '{print $3}')"
echo "sysfs md1: $(cat /sys/block/md1/md/uuid)"
$RS partition clone --from /dev/vdb --to /dev/vda --dry-run --json | grep '"array_uuid"' | sed 's/^ */raidswap: /'
mkdir -p /etc/mdadm
mdadm --detail --scan > /etc/mdadm/mdadm.conf
cat /etc/mdadm/mdadm.conf

/lib/systemd/systemd-udevd --daemon; udevadm trigger --action=add; udevadm settle
$RS partition clone --from /dev/disk/by-id/virtio-OLD --to /dev/disk/by-id/virtio-SURV --dry-run; echo "byid rc=$?"
udevadm control --exit; sleep 1

mdadm /dev/md0 --fail /dev/vdc1 --remove /dev/vdc1 2>/dev/null
mdadm /dev/md1 --fail /dev/vdc2 --remove /dev/vdc2 2>/dev/null
echo data > /dev/md0; sync
mdadm --stop /dev/md0 /dev/md1 2>/dev/null
ls /sys/block | grep -c '^md' | sed 's/^/arrays left: /'
before=$(sha256sum < /dev/vdb)
$RS partition clone --from /dev/vdc --to /dev/vdb --wipe --backup-dir /tmp/bk; echo "survivor rc=$?"
[ "$(sha256sum < /dev/vdb)" = "$before" ] && echo "survivor byte-identical"
mdadm --examine /dev/vdb1 >/dev/null 2>&1 && mdadm --examine /dev/vdb2 >/dev/null 2>&1 && echo "survivor superblocks intact"
mdadm --examine /dev/vdc1 >/dev/null 2>&1 && mdadm --examine /dev/vdc2 >/dev/null 2>&1 && echo "stale 1.2 and 0.90 superblocks before"
$RS partition clone --from /dev/vdb --to /dev/vdc --wipe --backup-dir /tmp/bk; echo "stale rc=$?"
# The clone zeroes both ends of every new partition (WriteReport.ClearedEnds), where these
# partitions held a 1.2 superblock (at 4 KiB) and a 0.90 one (at the end): the executor skips
# mdadm --zero-superblock after its own clone on that ground.
mdadm --examine /dev/vdc1 >/dev/null 2>&1 || mdadm --examine /dev/vdc2 >/dev/null 2>&1 || echo "stale superblocks gone after the clone"

mdadm --create /dev/md9 --level=1 --raid-devices=2 --metadata=1.2 --bitmap=none --run /dev/vdd1 missing 2>/dev/null
mdadm --stop /dev/md9 2>/dev/null
for i in $(seq 50); do [ -e /sys/block/md9 ] || break; sleep 0.1; done
mdadm --examine /dev/vdd1 >/dev/null 2>&1 && echo "foreign member before"
$RS partition clone --from /dev/vda --to /dev/vdd --wipe --backup-dir /tmp/bk; echo "foreign rc=$?"
mdadm --examine /dev/vdd1 >/dev/null 2>&1 || echo "foreign member wiped"

mkfs.minix /dev/vde >/dev/null
before=$(sha256sum < /dev/vde)
$RS partition clone --from /dev/vda --to /dev/vde --backup-dir /tmp/bk; echo "minix rc=$?"
[ "$(sha256sum < /dev/vde)" = "$before" ] && echo "minix byte-identical"
`,
	})
	golden.Contains(t, res.Output,
		"refusing to write /dev/disk/by-id/virtio-SURV (SURV): it holds md0 member vdb1", "byid rc=65",
		"arrays left: 0",
		"refusing to write /dev/vdb (SURV): it holds md 1.2 superblock of array", "may be the array's last copy", "/etc/mdadm/mdadm.conf", "survivor rc=65",
		"survivor byte-identical", "survivor superblocks intact",
		"stale 1.2 and 0.90 superblocks before", "verified: the table reads back as planned", "stale rc=0", "stale superblocks gone after the clone",
		"foreign member before", "foreign rc=0", "foreign member wiped",
		"refusing to write /dev/vde (MINIX): it already holds data: minix file system", "minix rc=65", "minix byte-identical",
	)
	// The same arrays in mdadm's, sysfs's and raidswap's notation.
	get := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(res.Output)
		if m == nil {
			t.Errorf("output lacks %s", re)
			return ""
		}
		return m[1]
	}
	ex0, sys0 := get(`examine md0: (\S+)`), get(`sysfs md0: (\S+)`)
	ex1, sys1 := get(`examine md1: (\S+)`), get(`sysfs md1: (\S+)`)
	if normalizeUUID(ex0) == "" || normalizeUUID(ex0) != normalizeUUID(sys0) {
		t.Errorf("1.2: mdadm %s, sysfs %s: want the same bytes in the same order", ex0, sys0)
	}
	if normalizeUUID(ex1) == "" || normalizeUUID(ex1) != swapUUIDWords(normalizeUUID(sys1)) {
		t.Errorf("0.90: mdadm %s, sysfs %s: want sysfs's words byte-swapped", ex1, sys1)
	}
	for _, u := range []string{ex0, ex1} {
		if !strings.Contains(res.Output, `raidswap: "array_uuid": "`+u+`"`) {
			t.Errorf("raidswap does not read UUID %s as mdadm prints it", u)
		}
	}
}
