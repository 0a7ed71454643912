package exec_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// The seed scenario of vm_test.go on real buses: the same layout, failure, operator and
// checks, on sdX disks (SATA survivor, SCSI failed and new disk: AHCI does not hot-plug in
// QEMU) and on NVMe namespaces (nvme0n1, partitions nvme0n1p3). The prologue and epilogue
// are vm_test.go's, with the device names the buses give instead of vda/vdb.

// onBus rewrites a vm_test.go script for disks found by serial: $SURV and $OLD are their
// kernel names, ${SURV_P}N and ${OLD_P}N their partitions (nvme0n1 -> nvme0n1p3), and the
// new disk is found by serial on any bus. It fails the test when the script still names a
// virtio disk, so a change to vm_test.go cannot make these tests silently use vdX names.
func onBus(t *testing.T, script string) string {
	t.Helper()
	s := strings.NewReplacer(
		"/dev/vda3", "/dev/${SURV_P}3", "/dev/vdb3", "/dev/${OLD_P}3",
		"/dev/vda", "/dev/$SURV", "/dev/vdb", "/dev/$OLD",
		`NEW=$(for f in /sys/block/*/serial; do [ "$(cat $f)" = WD-NEW ] && basename $(dirname $f); done)`,
		`NEW=$(vmtest-disk WD-NEW); NEW_P=$(pp $NEW)`,
		"/dev/${NEW}3", "/dev/${NEW_P}3",
	).Replace(script)
	for _, bad := range []string{"/dev/vd", "/sys/block/*/serial", "${NEW}3"} {
		if strings.Contains(s, bad) {
			t.Fatalf("the shared script still has %q: adapt onBus to vm_test.go", bad)
		}
	}
	return `
# pp DISK: the prefix of DISK's partition names (sda -> sda, nvme0n1 -> nvme0n1p).
pp() { case $1 in *[0-9]) echo "${1}p" ;; *) echo "$1" ;; esac; }
SURV=$(vmtest-disk WD-SURV); SURV_P=$(pp $SURV)
OLD=$(vmtest-disk WD-OLD); OLD_P=$(pp $OLD)
echo "disks: survivor $SURV, failed $OLD"
` + s
}

// busOperator is vm_test.go's operator, and while the failed disk is out of its bay (raidswap
// waits for the new one) it records what status and --plan say of it: it must still be named
// from the inventory.
const busOperator = `
operator() {
	await_journal started await-removal
	/run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null
	$RS status --json > /mnt/share/status-pulled.json 2>/mnt/share/status-pulled.err || true
	$RS --plan --failed WD-OLD > /mnt/share/plan-pulled.txt 2>&1 || true
	sleep 1
	/run/vmtest/bin/vmtest-hotplug plug WD-NEW >/dev/null
}
`

// busScript is TestVMReplaceSeed's script on the buses, with status --json of the intact
// system saved before the failure.
func busScript(t *testing.T) string {
	return onBus(t, prologue+busOperator+`
$RS status --json > /mnt/share/status-before.json || true
$RS simulate fail --disk $OLD >/dev/null
operator &
say "replace"
$RS replace --failed WD-OLD --new WD-NEW --yes --plain --wait-timeout 3m > /run/rs.out 2>&1 || { cat /run/rs.out; exit 1; }
cat /run/rs.out
wait
$RS status --json > /mnt/share/status-after.json || true
`+epilogue)
}

// identity is what status --json must say of a disk.
type identity struct {
	transport, model, wwn, byID, byPath string
}

func checkBusRun(t *testing.T, res *vmtest.Result, want map[string]identity) {
	t.Helper()
	golden.Contains(t, res.Output, append(allChecks, "done: every step of plan")...)
	if res.ExitCode != 0 {
		t.Errorf("guest script exit %d", res.ExitCode)
	}
	load := func(name string) *discover.System {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(res.Share, name))
		if err != nil {
			t.Fatal(err)
		}
		var s discover.System
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		return &s
	}
	find := func(s *discover.System, serial string) *discover.Disk {
		for i := range s.Disks {
			if s.Disks[i].Serial == serial {
				return &s.Disks[i]
			}
		}
		return nil
	}
	check := func(what string, d *discover.Disk, w identity, present bool) {
		t.Helper()
		if d == nil {
			t.Errorf("%s: disk missing", what)
			return
		}
		hasID := false
		for _, l := range d.ByID {
			hasID = hasID || l == w.byID
		}
		if d.Transport != w.transport || d.Model != w.model || !strings.HasPrefix(d.WWN, w.wwn) || d.ByPath != w.byPath || !hasID || d.Present != present || d.IdentityProblem != "" {
			b, _ := json.MarshalIndent(d, "", " ")
			t.Errorf("%s: status --json says\n%s\nwant %+v, present %v", what, b, w, present)
		}
	}
	before, after, pulled := load("status-before.json"), load("status-after.json"), load("status-pulled.json")
	for _, serial := range []string{"WD-SURV", "WD-OLD"} {
		check("before: "+serial, find(before, serial), want[serial], true)
	}
	for _, serial := range []string{"WD-SURV", "WD-NEW"} {
		check("after: "+serial, find(after, serial), want[serial], true)
	}
	// Pulled: named from the inventory, with what it was last seen as.
	check("pulled: WD-OLD", find(pulled, "WD-OLD"), want["WD-OLD"], false)
	plan, _ := os.ReadFile(filepath.Join(res.Share, "plan-pulled.txt"))
	if testing.Verbose() {
		t.Logf("--plan with WD-OLD pulled:\n%s", plan)
	}
	w := want["WD-OLD"]
	for _, s := range []string{"WD-OLD", w.byPath} {
		if !strings.Contains(string(plan), strings.TrimPrefix(s, "/dev/disk/by-path/")) {
			t.Errorf("--plan with WD-OLD pulled does not name %q:\n%s", s, plan)
		}
	}
}

// TestVMReplaceSeedSdX: the seed's replacement on sdX disks: the survivor on SATA (AHCI), the
// failed and the new disk on SCSI, pulled and inserted through QMP.
func TestVMReplaceSeedSdX(t *testing.T) {
	disks := []vmtest.Disk{
		{Bus: vmtest.BusSATA, Serial: "WD-SURV", Model: "WDC WD40EFRX-68N32N0", WWN: "0x50014ee2b1a2c301", SizeBytes: 256 << 20},
		{Bus: vmtest.BusSCSI, Serial: "WD-OLD", Vendor: "SEAGATE", Model: "ST4000NM0023", WWN: "0x5000c500a1b2c302", SizeBytes: 256 << 20},
		{Bus: vmtest.BusSCSI, Serial: "WD-NEW", Vendor: "SEAGATE", Model: "ST4000NM0023", WWN: "0x5000c500a1b2c303", SizeBytes: 256 << 20, Unplugged: true},
	}
	res := runVM(t, disks, busScript(t))
	checkBusRun(t, res, map[string]identity{
		"WD-SURV": {"sata", "WDC WD40EFRX-68N32N0", "0x50014ee2b1a2c301", "/dev/disk/by-id/ata-WDC_WD40EFRX-68N32N0_WD-SURV", "/dev/disk/by-path/pci-0000:00:02.0-ata-1"},
		"WD-OLD":  {"scsi", "ST4000NM0023", "0x5000c500a1b2c302", "/dev/disk/by-id/wwn-0x5000c500a1b2c302", "/dev/disk/by-path/pci-0000:00:03.0-scsi-0:0:0:0"},
		"WD-NEW":  {"scsi", "ST4000NM0023", "0x5000c500a1b2c303", "/dev/disk/by-id/wwn-0x5000c500a1b2c303", "/dev/disk/by-path/pci-0000:00:03.0-scsi-0:0:1:0"},
	})
	golden.Contains(t, res.Output, "disks: survivor sd", ", failed sd")
}

// TestVMReplaceSeedNVMe: the seed's replacement on NVMe namespaces; the new controller may
// come back under the pulled one's nvmeN number, which is why plans bind to serials.
func TestVMReplaceSeedNVMe(t *testing.T) {
	disks := []vmtest.Disk{
		{Bus: vmtest.BusNVMe, Serial: "WD-SURV", SizeBytes: 256 << 20},
		{Bus: vmtest.BusNVMe, Serial: "WD-OLD", SizeBytes: 256 << 20},
		{Bus: vmtest.BusNVMe, Serial: "WD-NEW", SizeBytes: 256 << 20, Unplugged: true},
	}
	res := runVM(t, disks, busScript(t))
	checkBusRun(t, res, map[string]identity{
		"WD-SURV": {"nvme", "QEMU NVMe Ctrl", "nvme.1b36-", "/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_WD-SURV", "/dev/disk/by-path/pci-0000:00:08.0-nvme-1"},
		"WD-OLD":  {"nvme", "QEMU NVMe Ctrl", "nvme.1b36-", "/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_WD-OLD", "/dev/disk/by-path/pci-0000:00:09.0-nvme-1"},
		"WD-NEW":  {"nvme", "QEMU NVMe Ctrl", "nvme.1b36-", "/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_WD-NEW", "/dev/disk/by-path/pci-0000:00:0a.0-nvme-1"},
	})
	golden.Contains(t, res.Output, "disks: survivor nvme0n1, failed nvme1n1", "mdadm /dev/md0 --fail /dev/nvme1n1p")
}

// TestVMTwinSerialsRefused: two new disks report the same serial (one on SCSI, one on NVMe,
// as behind a cheap bridge): status says which, and --plan and replace refuse to write,
// naming both disks and what tells them apart; neither twin is touched.
func TestVMTwinSerialsRefused(t *testing.T) {
	vmtest.Require(t)
	disks := []vmtest.Disk{
		{Serial: "WD-SURV", SizeBytes: 256 << 20},
		{Serial: "WD-OLD", SizeBytes: 256 << 20},
		{Bus: vmtest.BusSCSI, Serial: "WD-NEW", WWN: "0x5000c500000000e1", SizeBytes: 256 << 20},
		{Bus: vmtest.BusNVMe, Serial: "WD-NEW", SizeBytes: 256 << 20},
	}
	res := vmtest.RunT(t, vmtest.Config{Disks: disks, DuplicateSerials: true, Timeout: 8 * time.Minute,
		Env: map[string]string{"RS": testbin.Raidswap(t)}, Script: prologue + `
$RS simulate fail --disk vdb >/dev/null
twins=$(vmtest-disk --all WD-NEW | sort | tr '\n' ' ')
echo "twins: $twins"
sums() { for d in $twins; do dd if=/dev/$d bs=1M count=4 status=none | sha256sum; dd if=/dev/$d bs=1M skip=252 status=none | sha256sum; done; }
sums > /run/twins.before
set +e
$RS status > /run/st.txt; grep -A1 '^IDENTITY' /run/st.txt
$RS status --json > /mnt/share/status-twins.json
$RS --plan --failed WD-OLD --new WD-NEW > /run/plan.out 2>&1; echo "plan exit $?"; cat /run/plan.out
$RS replace --failed WD-OLD --new WD-NEW --yes --plain --wait-timeout 1m > /run/rs.out 2>&1; echo "replace exit $?"; cat /run/rs.out
nv=$(for d in $twins; do case $d in nvme*) echo $d ;; esac; done)
$RS replace --failed WD-OLD --new /dev/$nv --yes --plain --wait-timeout 1m > /run/rs2.out 2>&1; echo "replace by name exit $?"; cat /run/rs2.out
set -e
sums > /run/twins.after
cmp -s /run/twins.before /run/twins.after && echo "TWINS UNTOUCHED"
grep -q 'vdb2\[' /proc/mdstat && grep -q 'vdb4\[' /proc/mdstat && echo "FAILED DISK NOT DETACHED"
`})
	if testing.Verbose() {
		t.Logf("guest output:\n%s", res.Output)
	}
	if res.ExitCode != 0 {
		t.Errorf("guest script exit %d", res.ExitCode)
	}
	golden.Contains(t, res.Output, "twins: nvme0n1 sd",
		`IDENTITY: 2 disks report serial "WD-NEW" (`,
		"plan exit 65\n", `WD-NEW: names more than one disk: 2 disks report serial "WD-NEW"`,
		"tell them apart by WWN (", "0x5000c500000000e1", "by-path (", "pci-0000:00:03.0-scsi-0:0:0:0", "or size (",
		"replace exit 65\n", "replace by name exit 65\n", "refusing to write to a disk that cannot be identified",
		"TWINS UNTOUCHED", "FAILED DISK NOT DETACHED")
	b, err := os.ReadFile(filepath.Join(res.Share, "status-twins.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s discover.System
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range s.Disks {
		if d.Serial == "WD-NEW" {
			n++
			if !strings.Contains(d.IdentityProblem, `2 disks report serial "WD-NEW"`) {
				t.Errorf("%s: identity_problem %q", d.Name, d.IdentityProblem)
			}
		} else if d.IdentityProblem != "" {
			t.Errorf("%s (%s): identity_problem %q", d.Name, d.Serial, d.IdentityProblem)
		}
	}
	if n != 2 {
		t.Errorf("status --json lists %d disks with serial WD-NEW, want 2", n)
	}
}
