package drill_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/drill"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// The drill's VM tests run the raidswap binary in a guest with a real kernel (md, loop, dm);
// after every drill the guest checks that nothing of it is left: no loop over a drill file,
// no dm table, no md array that the test did not build itself.

// drillPrologue loads the modules the drill uses and defines the after-drill check.
const drillPrologue = `
set -u
modprobe -a loop dm-mod dm-flakey raid1 2>/dev/null || true
say() { echo "== $*"; }
# leftovers: loops over drill files, dm tables, md arrays other than the host's own ($HOSTMD).
leftovers() {
	{ losetup -a | grep -F raidswap-drill || true
	  dmsetup ls 2>/dev/null | grep -v '^No devices found' || true
	  grep -E '^md[0-9]+ :' /proc/mdstat | grep -vE "^(${HOSTMD:-none}) :" || true
	  ls -A /var/lib/raidswap/drill 2>/dev/null || true; }
}
check_clean() {
	local l; l=$(leftovers)
	if [ -z "$l" ]; then echo "CLEAN after $1"; else echo "LEFT after $1:"; echo "$l"; fi
}
# drill_auto NAME: one scenario with --auto --json; its card goes to the share.
drill_auto() {
	local start=$SECONDS
	$RS drill --auto --scenario "$1" --json > /mnt/share/$1.json 2> /mnt/share/$1.err
	echo "RC $1=$? in $(( SECONDS - start ))s"
	check_clean "$1"
}
`

// card reads a scenario's score card from the share.
func card(t *testing.T, share, name string) *drill.Card {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(share, name+".json"))
	if err != nil {
		t.Errorf("%s: no score card: %v", name, err)
		return nil
	}
	var doc struct {
		Scenarios []*drill.Card `json:"scenarios"`
		AllMet    bool          `json:"all_met"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Scenarios) != 1 {
		t.Errorf("%s: score card %q: %v", name, b, err)
		return nil
	}
	errb, _ := os.ReadFile(filepath.Join(share, name+".err"))
	c := doc.Scenarios[0]
	if !doc.AllMet || c.Result != c.Expected {
		t.Errorf("%s: %s (expected %s): %s\n%s\nnarration:\n%s", name, c.Result, c.Expected, c.Reason, b, errb)
	}
	return c
}

// TestVMDrillAuto runs every scenario with --auto, three VMs of three or four scenarios, and
// checks after each that nothing of the drill is left.
func TestVMDrillAuto(t *testing.T) {
	vmtest.Require(t)
	bin := testbin.Raidswap(t)
	groups := [][]string{
		{"failed-member", "partially-failed", "larger-replacement", "dirty-replacement"},
		{"vanished-disk", "4kn-replacement", "interrupted"},
		{"survivor-read-errors", "wrong-disk", "predictive"},
	}
	if only := os.Getenv("RAIDSWAP_DRILL_SCENARIOS"); only != "" {
		groups = [][]string{strings.Split(only, ",")}
	}
	for _, g := range groups {
		t.Run(strings.Join(g, "+"), func(t *testing.T) {
			script := drillPrologue
			for _, sc := range g {
				script += "drill_auto " + sc + "\n"
			}
			res := vmtest.RunT(t, vmtest.Config{Timeout: 15 * time.Minute, MemoryMB: 1024, Script: script,
				Env: map[string]string{"RS": bin}})
			t.Logf("guest output:\n%s", res.Output)
			for _, sc := range g {
				golden.Contains(t, res.Output, "RC "+sc+"=0 in", "CLEAN after "+sc)
				if c := card(t, res.Share, sc); c != nil {
					t.Logf("%s: %s in %.1fs, %d answers, %d mistakes refused; %s", sc, c.Result, c.Seconds, c.Answers, len(c.Mistakes), c.RealCost)
				}
			}
		})
	}
}
