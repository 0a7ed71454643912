package event_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// TestVMEventLightsOnlyWhatMdReportsFailed (issue 18): on a real RAID1, `raidswap event Fail`
// naming the in-sync survivor does not try its fault LED and says why in the audit log and
// syslog; naming the member md really failed tries it (the VM's virtio disks have no LED, so
// "tried" is the LED error in the audit line), and so does naming it once md has removed it
// from the still degraded array.
func TestVMEventLightsOnlyWhatMdReportsFailed(t *testing.T) {
	vmtest.Require(t)
	res := vmtest.RunT(t, vmtest.Config{
		Disks:   []vmtest.Disk{{Serial: "WD-SURV", SizeBytes: 64 << 20}, {Serial: "WD-GONE", SizeBytes: 64 << 20}},
		Timeout: 5 * time.Minute, Env: map[string]string{"RS": testbin.Raidswap(t)},
		Script: `
set -eu
A=/var/lib/raidswap/audit.jsonl
modprobe raid1
busybox syslogd -n -O /run/syslog.txt &
until [ -S /dev/log ]; do sleep 0.1; done
mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 --metadata=1.2 /dev/vda /dev/vdb
mdadm --wait /dev/md0 || true
udevadm settle || true
echo "STATE vda $(cat /sys/block/md0/md/dev-vda/state) vdb $(cat /sys/block/md0/md/dev-vdb/state)"
$RS event Fail /dev/md0 /dev/vda; echo "SURVIVOR EXIT $?"
mdadm /dev/md0 --fail /dev/vdb
echo "STATE vdb $(cat /sys/block/md0/md/dev-vdb/state)"
$RS event Fail /dev/md0 /dev/vda; echo "SURVIVOR AGAIN EXIT $?"
$RS event Fail /dev/md0 /dev/vdb; echo "FAILED EXIT $?"
mdadm /dev/md0 --remove /dev/vdb
echo "DEGRADED $(cat /sys/block/md0/md/degraded)"
$RS event Fail /dev/md0 /dev/vdb; echo "GONE EXIT $?"
sleep 1
kill %1 || true
cp $A /run/syslog.txt /mnt/share/
`})
	if testing.Verbose() || res.ExitCode != 0 {
		t.Logf("guest output:\n%s", res.Output)
	}
	if res.ExitCode != 0 {
		t.Fatalf("guest script exit %d", res.ExitCode)
	}
	golden.Contains(t, res.Output, "STATE vda in_sync vdb in_sync", "SURVIVOR EXIT 0", "STATE vdb faulty",
		"SURVIVOR AGAIN EXIT 0", "FAILED EXIT 0", "DEGRADED 1", "GONE EXIT 0")
	lines := readAudit(t, filepath.Join(res.Share, "audit.jsonl"))
	if len(lines) != 4 {
		t.Fatalf("%d audit lines, want 4", len(lines))
	}
	if lines[0]["led"] != nil || lines[0]["disks"] != nil {
		t.Errorf("survivor event on a whole array: an LED was tried: %v", lines[0])
	}
	for i, l := range lines[:2] {
		if strings.Contains(strings.Join(anyStrings(l["led"]), ","), "vda") || strings.Contains(strings.Join(anyStrings(l["disks"]), ","), "vda") {
			t.Errorf("survivor event %d: its fault LED was tried: %v", i, l)
		}
		if why := strings.Join(anyStrings(l["led_not_lit"]), "|"); !strings.Contains(why, "not vda (WD-SURV): md reports vda in_sync in md0, not faulty") {
			t.Errorf("survivor event %d: no reason given: %v", i, l)
		}
	}
	// Once vdb failed, the survivor's event still leaves vda alone but tries vdb, which md
	// reports faulty in md0.
	if led := strings.Join(anyStrings(lines[1]["led"]), "|"); !strings.HasPrefix(led, "vdb") || strings.Contains(led, "vda") {
		t.Errorf("second survivor event: LED %q, want vdb's only", led)
	}
	for i, l := range lines[2:] {
		if led := strings.Join(anyStrings(l["led"]), "|"); !strings.HasPrefix(led, "vdb") || l["led_not_lit"] != nil ||
			!strings.Contains(strings.Join(anyStrings(l["disks"]), ","), "vdb (WD-GONE)") {
			t.Errorf("failed member event %d: %v", i, l)
		}
	}
	syslog := readFile(t, filepath.Join(res.Share, "syslog.txt"))
	if !strings.Contains(syslog, "no fault LED lit: not vda (WD-SURV): md reports vda in_sync in md0, not faulty") {
		t.Errorf("syslog does not say why no LED was lit:\n%s", syslog)
	}
}

// TestVMEventBurst (issue 18): 100 `raidswap event` processes at once (every array on a
// failing disk reports at the same moment), with the default bound and then with a bound
// most of them miss, leave one audit line and one syslog line each and no temporary textfile.
func TestVMEventBurst(t *testing.T) {
	vmtest.Require(t)
	res := vmtest.RunT(t, vmtest.Config{
		Disks:    []vmtest.Disk{{Serial: "WD-BRA", SizeBytes: 64 << 20}, {Serial: "WD-BRB", SizeBytes: 64 << 20}},
		MemoryMB: 2048, Timeout: 15 * time.Minute, Env: map[string]string{"RS": testbin.Raidswap(t)},
		Script: `
set -eu
A=/var/lib/raidswap/audit.jsonl
modprobe raid1
busybox syslogd -n -O /run/syslog.txt &
until [ -S /dev/log ]; do sleep 0.1; done
mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 --metadata=1.2 /dev/vda /dev/vdb
mdadm --wait /dev/md0 || true
udevadm settle || true
mdadm /dev/md0 --fail /dev/vdb
burst() {
	local pids="" i ok=0 failed=0
	for i in $(seq 100); do $RS event "$@" Fail /dev/md0 /dev/vdb >/dev/null 2>&1 & pids="$pids $!"; done
	for p in $pids; do if wait $p; then ok=$((ok+1)); else failed=$((failed+1)); fi; done
	echo "BURST $* ok=$ok failed=$failed"
}
count() {
	echo "AUDIT LINES $(grep -c '"mdadm_event":"Fail"' $A)"
	echo "AUDIT GAVE UP $(grep -c 'gave up after' $A || true)"
	echo "SYSLOG LINES $(cat /run/syslog.txt* | grep -c 'raidswap\[[0-9]*\]: mdadm Fail on /dev/md0')"
	echo "TEMP FILES $(find / -xdev -name '.raidswap.prom.*' 2>/dev/null | wc -l)"
	echo "INVENTORY TEMP FILES $(find /var/lib/raidswap -name '.inventory-*' 2>/dev/null | wc -l)"
	echo "PROBLEMS:"; grep -o '"problems":\[[^]]*\]' $A | grep -o '\(syslog\|audit log\|saving inventory\)[^";]*' | sort | uniq -c || true
}
t0=$SECONDS
burst
echo "FIRST BURST TOOK $((SECONDS - t0)) s"
sleep 2
count
burst --timeout 300ms
sleep 2
count
kill %1 || true
`})
	if testing.Verbose() || res.ExitCode != 0 {
		t.Logf("guest output:\n%s", res.Output)
	}
	if res.ExitCode != 0 {
		t.Fatalf("guest script exit %d", res.ExitCode)
	}
	golden.Contains(t, res.Output, "AUDIT LINES 100\n", "SYSLOG LINES 100\n", "AUDIT LINES 200\n", "SYSLOG LINES 200\n")
	if n := len(regexp.MustCompile(`(?m)^(INVENTORY )?TEMP FILES 0$`).FindAllString(res.Output, -1)); n != 4 {
		t.Errorf("temporary files left (%d of 4 counts are 0)", n)
	}
	for _, l := range strings.Split(res.Output, "\n") {
		if strings.HasPrefix(l, "BURST") || strings.HasPrefix(l, "AUDIT GAVE UP") || strings.HasPrefix(l, "FIRST BURST") || strings.Contains(l, "TEMP FILES") || strings.Contains(l, "PROBLEMS") {
			t.Log(l)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
