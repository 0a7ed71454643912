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

// TestVMStatusResyncPending: after a power cut (pendingSetup) md1 comes up read-auto owing a
// resync (mdadm --detail: "resyncing (PENDING)"); status is a warning that says why and what
// starts it, in text, JSON and Prometheus. After `mdadm --readwrite` and the resync, OK.
func TestVMStatusResyncPending(t *testing.T) {
	vmtest.Require(t)
	bin := testbin.Raidswap(t)
	script := "export PATH=" + filepath.Dir(bin) + ":$PATH\n" + prelude + pendingSetup + `
set +e
mdadm --detail /dev/md1 > pending.detail
cat /proc/mdstat > pending.mdstat
cat /sys/block/md1/md/array_state > pending.state
cat /sys/block/md1/md/resync_start > pending.resync_start
raidswap status > pending.txt
raidswap status --json > pending.json; echo $? > pending.rc
raidswap status --format prometheus > pending.prom
mdadm --readwrite /dev/md1
mdadm --wait /dev/md1
cat /sys/block/md1/md/resync_start > done.resync_start
cat /proc/mdstat > done.mdstat
raidswap status --json > done.json; echo $? > done.rc
raidswap status > done.txt
exit 0
`
	res := vmtest.RunT(t, vmtest.Config{
		Disks:   []vmtest.Disk{{Serial: serialA, SizeBytes: 128 << 20}, {Serial: serialB, SizeBytes: 128 << 20}},
		Script:  script,
		Timeout: 4 * time.Minute,
	})
	if res.ExitCode != 0 {
		t.Fatalf("script exit %d:\n%s", res.ExitCode, res.Output)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(res.Share, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	load := func(base string) (*discover.System, int) {
		var s discover.System
		if err := json.Unmarshal([]byte(read(base+".json")), &s); err != nil {
			t.Fatalf("%s.json: %v", base, err)
		}
		rc, _ := strconv.Atoi(strings.TrimSpace(read(base + ".rc")))
		return &s, rc
	}
	t.Logf("pending: mdadm --detail:\n%s\n/proc/mdstat:\n%s\nstatus:\n%s", read("pending.detail"), read("pending.mdstat"), read("pending.txt"))

	// The state md was in is the one the field report saw.
	if !strings.Contains(read("pending.detail"), "resyncing (PENDING)") || strings.TrimSpace(read("pending.state")) != "read-auto" ||
		!strings.Contains(read("pending.mdstat"), "resync=PENDING") || strings.TrimSpace(read("pending.resync_start")) == "none" {
		t.Fatalf("the setup did not leave md1 read-auto with a pending resync: state %q resync_start %q", read("pending.state"), read("pending.resync_start"))
	}
	s, rc := load("pending")
	if s.Verdict != discover.Warning || rc != 1 {
		t.Errorf("pending: verdict %s exit %d (%s), want warning, exit 1", s.Verdict, rc, s.Summary)
	}
	if !strings.Contains(s.Summary, "md1: resync pending: md has not yet checked") || !strings.Contains(s.Summary, "`mdadm --readwrite /dev/md1`") {
		t.Errorf("pending: summary %q does not say why and what starts the resync", s.Summary)
	}
	if md1 := s.Array("md1"); md1 == nil || md1.Sync == nil || !md1.Sync.Pending || md1.State != discover.ArrayResyncing {
		t.Errorf("pending: md1 %+v, want resyncing with a pending sync", md1)
	}
	if md0 := s.Array("md0"); md0 == nil || md0.State != discover.ArrayClean {
		t.Errorf("pending: md0 (stopped cleanly, read-auto) %+v, want clean", md0)
	}
	if txt := read("pending.txt"); !strings.HasPrefix(txt, "WARNING: md1: resync pending") || !strings.Contains(txt, "resync pending: md has not started it") {
		t.Errorf("pending: text status:\n%s", txt)
	}
	if prom := read("pending.prom"); !strings.Contains(prom, `raidswap_array_sync_pending{array="md1"} 1`) || !strings.Contains(prom, `raidswap_array_sync_pending{array="md0"} 0`) {
		t.Errorf("pending: Prometheus output lacks raidswap_array_sync_pending for md1=1, md0=0")
	}

	s, rc = load("done")
	t.Logf("after --readwrite and the resync: resync_start %s\n%s", read("done.resync_start"), read("done.txt"))
	if strings.TrimSpace(read("done.resync_start")) != "none" {
		t.Fatalf("md1's resync did not finish: resync_start %q\n%s", read("done.resync_start"), read("done.mdstat"))
	}
	if s.Verdict != discover.OK || rc != 0 {
		t.Errorf("after the resync: verdict %s exit %d (%s), want ok", s.Verdict, rc, s.Summary)
	}
}
