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
					t.Logf("%s: %s in %.1fs (%v), %d answers, %d mistakes refused; %s", sc, c.Result, c.Seconds, c.Phases, c.Answers, len(c.Mistakes), c.RealCost)
				}
			}
		})
	}
}

// TestVMDrillKillCleanup: a drill ended by SIGTERM mid-scenario tears its lab down (exit
// 143); one killed with SIGKILL leaves it, and `raidswap drill --cleanup` removes it.
func TestVMDrillKillCleanup(t *testing.T) {
	vmtest.Require(t)
	script := drillPrologue + `
mid_drill() { # start a drill and wait until its arrays exist
	$RS drill --auto --scenario failed-member > /run/$1.out 2>&1 &
	P=$!
	local start=$SECONDS
	until grep -qE '^md1[0-9][0-9] :' /proc/mdstat 2>/dev/null; do
		[ $(( SECONDS - start )) -ge 120 ] && { echo "TIMEOUT: no drill array"; cat /run/$1.out; exit 1; }
		sleep 0.1
	done
	sleep 1
}
mid_drill term
kill -TERM $P; wait $P; echo "RC TERM=$?"
tail -n 3 /run/term.out
check_clean TERM
mid_drill kill
kill -KILL $P; wait $P; echo "RC KILL=$?"
leftovers | sed 's/^/KILLED LEFT: /'
$RS drill --cleanup; echo "RC CLEANUP=$?"
check_clean KILL
`
	res := vmtest.RunT(t, vmtest.Config{Timeout: 8 * time.Minute, MemoryMB: 1024, Script: script,
		Env: map[string]string{"RS": testbin.Raidswap(t)}})
	t.Logf("guest output:\n%s", res.Output)
	golden.Contains(t, res.Output, "RC TERM=143", "CLEAN after TERM", "RC KILL=137", "KILLED LEFT: ", "RC CLEANUP=0", "leftovers of earlier drills: ", "CLEAN after KILL")
}

// TestVMDrillAllowlist: with a real array on the guest's own disks (vda, vdb; vdb's members
// failed), a drill never lists or touches them: their mdstat lines are unchanged, the score
// card never names them, and the drill passes.
func TestVMDrillAllowlist(t *testing.T) {
	vmtest.Require(t)
	script := drillPrologue + `
set -e
$RS simulate build /dev/vda /dev/vdb >/dev/null
$RS simulate fail --disk vdb >/dev/null
HOSTMD="md0|md1"
grep -A2 -E '^md[01] :' /proc/mdstat > /run/before
set +e
drill_auto failed-member
grep -A2 -E '^md[01] :' /proc/mdstat > /run/after
cmp -s /run/before /run/after && echo "HOST ARRAYS UNCHANGED"
cat /run/after
grep -qE 'vd[ab]|WD-HOST' /mnt/share/failed-member.json /mnt/share/failed-member.err || echo "HOST DISKS NEVER NAMED"
# --like-host copies the host's layout (GPT, md0 1.0, swap, md1 1.2) onto the drill's disks.
$RS drill --auto --like-host --scenario failed-member --json > /mnt/share/like-host.json 2> /mnt/share/like-host.err
echo "RC like-host=$?"
check_clean like-host
grep -m1 -o 'layout of host: vd[ab] (serial WD-HOST[AB])' /mnt/share/like-host.err
grep -A2 -E '^md[01] :' /proc/mdstat > /run/after2
cmp -s /run/before /run/after2 && echo "HOST ARRAYS STILL UNCHANGED"
`
	res := vmtest.RunT(t, vmtest.Config{Timeout: 12 * time.Minute, MemoryMB: 1024, Script: script,
		Disks: []vmtest.Disk{{Serial: "WD-HOSTA", SizeBytes: 256 << 20}, {Serial: "WD-HOSTB", SizeBytes: 256 << 20}},
		Env:   map[string]string{"RS": testbin.Raidswap(t)}})
	t.Logf("guest output:\n%s", res.Output)
	golden.Contains(t, res.Output, "RC failed-member=0 in", "CLEAN after failed-member", "HOST ARRAYS UNCHANGED", "HOST DISKS NEVER NAMED",
		"RC like-host=0", "CLEAN after like-host", "layout of host: vda (serial WD-HOSTA)", "HOST ARRAYS STILL UNCHANGED")
	card(t, res.Share, "failed-member")
}

// TestVMDrillInteractive drives `raidswap drill` in a real pseudo-terminal (tmux, TERM=dumb:
// the plain prompter) with typed answers: one wrong serial, refused and counted, then the
// right ones read off the screen as an operator reads the labels.
func TestVMDrillInteractive(t *testing.T) {
	vmtest.Require(t)
	script := drillPrologue + `
screen() { tmux capture-pane -p -J -S -5000 -t d; }
await_screen() {
	local start=$SECONDS
	until screen | grep -qF -- "$1"; do
		[ $(( SECONDS - start )) -ge 180 ] && { echo "TIMEOUT: the screen does not show: $1"; screen; exit 1; }
		sleep 0.2
	done
}
type_keys() { tmux send-keys -t d -l -- "$1"; tmux send-keys -t d Enter; }
tmux new-session -d -s d -x 120 -y 40 "env TERM=dumb $RS drill --scenario failed-member; echo RC=\$? > /run/d.rc; sleep 3600"
await_screen "Type its last 4 characters to go ahead"
FAILED=$(screen | grep -oE 'Find the disk with serial DRILL-[A-Z0-9]+' | tail -n 1 | awk '{print $NF}')
type_keys "XXXX"
await_screen "try 2 of 3"
type_keys "${FAILED: -4}"
await_screen "Type its last 4 characters to write to it"
NEW=$(screen | grep -oE "new disk's serial is DRILL-[A-Z0-9]+" | tail -n 1 | awk '{print $NF}')
type_keys "${NEW: -4}"
start=$SECONDS
until [ -s /run/d.rc ]; do [ $(( SECONDS - start )) -ge 300 ] && { echo "TIMEOUT: the drill did not end"; screen; exit 1; }; sleep 0.2; done
screen
cat /run/d.rc
check_clean interactive
`
	res := vmtest.RunT(t, vmtest.Config{Timeout: 8 * time.Minute, MemoryMB: 1024, Script: script,
		Env: map[string]string{"RS": testbin.Raidswap(t)}})
	t.Logf("guest output:\n%s", res.Output)
	golden.Contains(t, res.Output, `"XXXX" does not match the label of the disk asked for`, "failed-member          PASS",
		"answers given     3", "mistakes refused  1", `typed "XXXX"`, "RC=0", "CLEAN after interactive")
}

// TestVMDrillKeepCleanup: after `drill --keep`, `drill --cleanup` removes everything the drill
// made in its lab (the engine's plan key, audit log, inventory, lock, journal and backups
// too, the marker last) and exits 0. Then issue 18's look-alike: a directory under the drill
// base without a marker, two files named like lab images on loops, a RAID1 on them, ext4
// mounted with a file: neither `drill --cleanup` nor the cleanup a drill runs first touches
// it, and each says so.
func TestVMDrillKeepCleanup(t *testing.T) {
	vmtest.Require(t)
	script := drillPrologue + `
$RS drill --auto --scenario failed-member --keep --json > /mnt/share/failed-member.json 2> /mnt/share/failed-member.err
echo "RC keep=$?"
for l in /var/lib/raidswap/drill/*/; do ls -A $l | sed 's/^/KEPT: /'; done
$RS drill --cleanup; echo "RC CLEANUP=$?"
check_clean cleanup
V=/var/lib/raidswap/drill/drill-20261206-000000-aaaa
mkdir -p $V /mnt/victim
for s in DRILL-A0001 DRILL-B0002; do truncate -s 64M $V/raidswap-drill-$s.img; done
L0=$(losetup --find --show $V/raidswap-drill-DRILL-A0001.img)
L1=$(losetup --find --show $V/raidswap-drill-DRILL-B0002.img)
mdadm --create /dev/md60 --level=1 --raid-devices=2 --metadata=1.2 --run $L0 $L1 >/dev/null 2>&1
mkfs.ext4 -q /dev/md60 && mount /dev/md60 /mnt/victim
echo "precious $(date +%s%N)" > /mnt/victim/data; sync
SUM=$(sha256sum /mnt/victim/data)
victim() {
	mountpoint -q /mnt/victim && grep -q '^md60 : active raid1' /proc/mdstat && [ "$(ls $V | wc -l)" = 2 ] &&
		[ "$(losetup -a | grep -c $V/)" = 2 ] && [ "$(sha256sum /mnt/victim/data)" = "$SUM" ] && echo "VICTIM INTACT after $1"
}
$RS drill --cleanup > /run/victim.out 2>&1; echo "RC VICTIM CLEANUP=$?"
sed 's/^/SAID: /' /run/victim.out
victim cleanup
HOSTMD=md60 drill_auto failed-member
grep -c "leaving $V alone" /mnt/share/failed-member.err | sed 's/^/DRILL SAID: /'
victim drill
umount /mnt/victim; mdadm --stop /dev/md60 >/dev/null 2>&1; losetup -d $L0 $L1; rm -rf $V
check_clean all
`
	res := vmtest.RunT(t, vmtest.Config{Timeout: 14 * time.Minute, MemoryMB: 1024, Script: script,
		Env: map[string]string{"RS": testbin.Raidswap(t)}})
	t.Logf("guest output:\n%s", res.Output)
	golden.Contains(t, res.Output, "RC keep=0", "KEPT: plan.key", "KEPT: journal", "KEPT: audit.jsonl", "KEPT: inventory.json",
		"KEPT: raidswap.lock", "KEPT: raidswap-drill.json", "RC CLEANUP=0", "CLEAN after cleanup",
		"RC VICTIM CLEANUP=66", "SAID: raidswap: removing leftovers of earlier drills: leaving /var/lib/raidswap/drill/drill-20261206-000000-aaaa alone (/dev/loop",
		"VICTIM INTACT after cleanup", "RC failed-member=0 in", "DRILL SAID: 1", "VICTIM INTACT after drill", "CLEAN after all")
	if strings.Contains(res.Output, "md60 (") || strings.Contains(res.Output, "/mnt/victim\"") {
		t.Errorf("a cleanup named the victim's array or mount as removed")
	}
}
