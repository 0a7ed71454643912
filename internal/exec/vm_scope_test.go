package exec_test

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
)

// TestVMScopeRefusesHostDisk: on a real kernel, the host's seed arrays on vda/vdb (vdb
// failed) next to a drill lab made by hand (marker, two sparse files on loop devices, an
// array on them). The host's plan, sealed with the guest's key, applied with the executor
// confined to the lab, is refused at its first step after the preflight check (step 02) naming /dev/vdb… and WD-OLD; wired as
// the drill wires it (engine.Env.Scope), the plan does not even match the drill's view.
// mdstat is unchanged and the failed member is still in md0. Scoped discovery lists only
// the lab's disks and array; the host's status shows the drill's array but does not judge it.
func TestVMScopeRefusesHostDisk(t *testing.T) {
	scope := testbin.Build(t, "./internal/exec/testdata/scopeapply", "scopeapply")
	res := runVMEnv(t, vmDisks(), map[string]string{"SCOPE": scope}, prologue+`
$RS simulate fail --disk vdb >/dev/null
modprobe loop
LAB=/var/lib/raidswap/drill/drill-20261201-180000-ab12
mkdir -p -m 0700 $LAB
printf '{"id":"drill-20261201-180000-ab12","pid":%d,"created":"2026-12-01T18:00:00Z","disks":[]}\n' $$ > $LAB/raidswap-drill.json
for s in DRILL-A0001 DRILL-B0002; do truncate -s 64M $LAB/raidswap-drill-$s.img; done
L0=$(losetup --find --show --partscan $LAB/raidswap-drill-DRILL-A0001.img)
L1=$(losetup --find --show --partscan $LAB/raidswap-drill-DRILL-B0002.img)
echo "lab loops $L0 $L1"
mdadm --create /dev/md100 --level=1 --raid-devices=2 --metadata=1.2 --run $L0 $L1 >/dev/null 2>&1
mdadm --wait /dev/md100 >/dev/null 2>&1 || true
set +e
$RS --plan --failed WD-OLD --new WD-NEW --out /run/p.json >/run/plan.txt 2>&1; echo "plan exit $?"
cat /proc/mdstat > /run/mdstat.before
say "the executor alone, confined to the lab"
$SCOPE -mode exec -lab $LAB -plan /run/p.json; echo "exec mode exit $?"
say "as the drill wires it"
$SCOPE -mode engine -lab $LAB -plan /run/p.json; echo "engine mode exit $?"
cat /proc/mdstat > /run/mdstat.after
cmp -s /run/mdstat.before /run/mdstat.after && echo "MDSTAT UNCHANGED"
mdadm --detail /dev/md0 | grep -q "faulty.*/dev/vdb2" && echo "VDB2 STILL IN MD0"
grep -q "^/dev/vdb3 " /proc/swaps && echo "VDB3 SWAP STILL ON"
say "scoped discovery"
$SCOPE -mode discover -lab $LAB
say "host status"
$RS status >/run/status.txt; echo "status exit $?"
cat /run/status.txt
$RS status --format prometheus | grep -c md100 | sed 's/^/md100 in textfile: /'
mdadm --stop /dev/md100 >/dev/null; losetup -d $L0 $L1
`)
	out := res.Output
	golden.Contains(t, out,
		"plan exit 0",
		"not one of this drill's disks (lab /var/lib/raidswap/drill/drill-20261201-180000-ab12)",
		"REFUSED step=02-", "serial=WD-OLD", "exec mode exit 1",
		"saved plan is stale", "engine mode exit 1",
		"MDSTAT UNCHANGED", "VDB2 STILL IN MD0", "VDB3 SWAP STILL ON",
		"drill=/var/lib/raidswap/drill/drill-20261201-180000-ab12 present=true",
		"array md100 clean drill=/var/lib/raidswap/drill/drill-20261201-180000-ab12",
		"status exit 2", "(drill, not judged)", "md100 in textfile: 0")
	if i := strings.Index(out, "REFUSED step=02-"); i >= 0 {
		line := out[i:]
		if j := strings.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		if !strings.Contains(line, "device=/dev/vdb") {
			t.Errorf("refusal does not name /dev/vdb…: %s", line)
		}
	}
	_, d, _ := strings.Cut(out, "== scoped discovery")
	d, _, _ = strings.Cut(d, "== host status")
	if strings.Contains(d, "disk vd") || !strings.Contains(d, "disk loop") || strings.Contains(d, "array md0") || strings.Contains(d, "array md1 ") {
		t.Errorf("scoped discovery does not list exactly the lab:\n%s", d)
	}
}
