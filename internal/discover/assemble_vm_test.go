package discover_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// assembleScript stops md0 and brings it back, first member by member with `mdadm
// --incremental` (inactive in between), then five times with `mdadm --assemble`, while
// `raidswap status --json` is sampled in a tight loop. Each sample is a pair of files in
// samples/: N.json and N.rc.
const assembleScript = `
part vda; part vdb
mk md0 1.2 /dev/vda2 /dev/vdb2
mdadm --wait /dev/md0 || true
raidswap status >/dev/null || true
mdadm --stop /dev/md0
set +e
mdadm --incremental /dev/vda2 >/dev/null 2>&1
raidswap status --json > inactive.json; echo $? > inactive.rc
mdadm --incremental /dev/vdb2 >/dev/null 2>&1
mdadm --wait /dev/md0
mkdir -p /dev/shm/samples
(
	n=0
	while [ ! -e /dev/shm/stop ]; do
		n=$((n+1))
		raidswap status --json > /dev/shm/samples/$n.json 2>/dev/null; echo $? > /dev/shm/samples/$n.rc
	done
) &
for round in 1 2 3 4 5; do
	sleep 0.5
	mdadm --stop /dev/md0 >/dev/null 2>&1
	sleep 0.3
	mdadm --assemble /dev/md0 /dev/vda2 /dev/vdb2 >/dev/null 2>&1
done
sleep 1
touch /dev/shm/stop
wait
cp -r /dev/shm/samples .
grep -A2 '^md0' /proc/mdstat
exit 0
`

// TestVMStatusAssemble: while md0 is stopped, inactive or being assembled, no status may say
// OK unless it shows md0 clean with both members in sync; and every sample's exit code is
// its verdict's.
func TestVMStatusAssemble(t *testing.T) {
	vmtest.Require(t)
	bin := testbin.Raidswap(t)
	res := vmtest.RunT(t, vmtest.Config{
		Disks:   []vmtest.Disk{{Serial: serialA, SizeBytes: 128 << 20}, {Serial: serialB, SizeBytes: 128 << 20}},
		Script:  "export PATH=" + filepath.Dir(bin) + ":$PATH\n" + prelude + assembleScript,
		Timeout: 4 * time.Minute,
	})
	if res.ExitCode != 0 {
		t.Fatalf("script exit %d:\n%s", res.ExitCode, res.Output)
	}
	load := func(base string) (*discover.System, int) {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join(res.Share, base+".json"))
		if err != nil {
			t.Fatal(err)
		}
		rcText, err := os.ReadFile(filepath.Join(res.Share, base+".rc"))
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := strconv.Atoi(strings.TrimSpace(string(rcText)))
		var s discover.System
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: %v: %q", base, err, raw)
		}
		if rc != s.Verdict.ExitCode() {
			t.Errorf("%s: exit %d but verdict %s", base, rc, s.Verdict)
		}
		return &s, rc
	}

	inactive, _ := load("inactive")
	if a := inactive.Array("md0"); inactive.Verdict != discover.Critical || a == nil || a.State != discover.ArrayInactive {
		t.Errorf("md0 with one of two members added: verdict %s (%s), md0 %+v", inactive.Verdict, inactive.Summary, a)
	}

	samples, _ := filepath.Glob(filepath.Join(res.Share, "samples", "*.json"))
	if len(samples) < 20 {
		t.Fatalf("only %d samples", len(samples))
	}
	kinds := map[string]int{}
	for _, p := range samples {
		s, _ := load(strings.TrimSuffix(p, ".json")[len(res.Share)+1:])
		a := s.Array("md0")
		kind := string(s.Verdict)
		if a != nil {
			kind += "/" + string(a.State)
		}
		kinds[kind]++
		if s.Verdict != discover.OK {
			continue
		}
		if a == nil || a.State != discover.ArrayClean || a.RaidDisks != 2 || a.ActiveDisks != 2 || len(a.Members) != 2 {
			t.Errorf("%s says OK (%s) with md0 %+v", filepath.Base(p), s.Summary, a)
		}
	}
	t.Logf("%d samples: %v", len(samples), kinds)
	if kinds["ok/clean"] == 0 || kinds["ok/clean"] == len(samples) {
		t.Errorf("the samples did not see md0 both down and whole: %v", kinds)
	}
}
