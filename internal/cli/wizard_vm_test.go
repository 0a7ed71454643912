package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// wizardPrologue builds the seed layout (as internal/exec's VM tests do: /boot on md0, / on
// md1, swap in fstab by UUID, GRUB on both disks, canaries) and the helpers that drive the
// wizard in a real terminal: tmux gives it a pseudo-terminal of 100x30, send-keys types, and
// capture-pane reads the screen.
const wizardPrologue = `
set -eu
say() { echo "== $*"; }
$RS simulate build --canary /dev/vda /dev/vdb >/dev/null
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
sync
sha256sum /mnt/root/canary.bin /mnt/root/CANARY > /run/canary.sum
` + wizardHelpers

// wizardHelpers drive the wizard in tmux and check a finished swap (checks reads OLDSWAP and
// /run/canary.sum, which the prologue sets).
const wizardHelpers = `
screen() { tmux capture-pane -p -J -S -5000 -t w; }
# await_screen TEXT [SECONDS]: wait until TEXT is on the wizard's screen; else show the
# screen and end the script.
await_screen() {
	local limit=${2:-180} start=$SECONDS
	until screen | grep -qF -- "$1"; do
		if [ $(( SECONDS - start )) -ge "$limit" ]; then
			echo "TIMEOUT: after ${limit}s the screen does not show: $1"; screen; exit 1
		fi
		sleep 0.2
	done
}
# wizard TERM ARGS: start raidswap (no command) in a fresh terminal; its exit code goes to
# /run/w.rc.
wizard() {
	tmux kill-server 2>/dev/null || true
	rm -f /run/w.rc
	tmux new-session -d -s w -x ${COLS:-100} -y ${ROWS:-30} "env TERM=$1 $RS $2; echo RC=\$? > /run/w.rc; sleep 3600"
}
type_keys() { tmux send-keys -t w -l -- "$1"; tmux send-keys -t w Enter; }
await_rc() {
	local start=$SECONDS
	until [ -s /run/w.rc ]; do
		if [ $(( SECONDS - start )) -ge 300 ]; then echo "TIMEOUT: the wizard did not end"; screen; exit 1; fi
		sleep 0.2
	done
	cat /run/w.rc
}
# disk_of SERIAL: the kernel name of the disk with SERIAL (status 0 whichever disk sorts last,
# so that NEW=$(disk_of ...) under set -e does not end the script).
disk_of() { for f in /sys/block/*/serial; do [ "$(cat $f)" = "$1" ] && basename $(dirname $f); done; true; }
checks() {
	mdadm --wait /dev/md0 /dev/md1 || true
	grep -c '\[UU\]' /proc/mdstat | grep -qx 2 && echo "REDUNDANT OK"
	echo 3 > /proc/sys/vm/drop_caches
	sha256sum -c --quiet /run/canary.sum && echo "CANARY OK"
	NEW=$(disk_of $1)
	[ "$(blkid -o value -s UUID /dev/${NEW}3)" = "$OLDSWAP" ] && echo "SWAP UUID KEPT on $1"
	dd if=/dev/$NEW bs=440 count=1 status=none | grep -qa GRUB && echo "GRUB ON $1"
}
`

// TestVMWizard drives `raidswap` with no arguments in a real pseudo-terminal (tmux), in one
// boot: a wrong confirmation is refused and nothing runs; the seed's swap with TERM=dumb
// (the plain prompter: no escape code), the disk hot-unplugged and the new one hot-plugged
// through QMP as the screen asks, typed confirmations, the rebuild to the end; then, on a
// capable terminal (survey), Ctrl-C after the detach and `raidswap resume` finishing it; and
// a whole survey session whose rebuild shows as mpb bars. In both whole sessions the operator
// presses Enter while the disk is still in, which must not answer the next question.
func TestVMWizard(t *testing.T) {
	vmtest.Require(t)
	script := wizardPrologue + `
$RS simulate fail --disk vdb >/dev/null

say "wrong confirmation"
wizard dumb ""
await_screen "Type its last 4 characters to go ahead"
screen | grep -F "vda" | grep -vqF "<== this disk" && echo "SURVIVOR NOT MARKED"
type_keys "XOLD"
await_screen "try 2 of 3"
type_keys ""
type_keys "xold"
await_screen "try 3 of 3"
type_keys "OLDX"
await_rc
screen | grep -F "nothing was done"
screen | grep -qF -- '"-OLD"' && echo "THE ANSWER WAS ECHOED"
ls /var/lib/raidswap/journal/*.jsonl >/dev/null 2>&1 || echo "NO JOURNAL: NOTHING RAN"

say "seed swap, TERM=dumb"
wizard dumb ""
await_screen "Type its last 4 characters to go ahead"
type_keys "-OLD"
await_screen "Pull the disk with serial WD-OLD"
tmux send-keys -t w Enter # an Enter while the disk is still in: a look, not an answer
sleep 0.5
/run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null
await_screen "Insert the new disk"
/run/vmtest/bin/vmtest-hotplug plug WD-NEW >/dev/null
await_screen "Type its last 4 characters to write to it"
type_keys "-NEW"
await_rc
screen > /run/plain.screen
cat /run/plain.screen
LC_ALL=C grep -q $'\x1b' /run/plain.screen || echo "PLAIN: NO ESCAPE CODE"
checks WD-NEW

say "Ctrl-C after the detach, TERM=xterm-256color (survey), then resume"
$RS simulate fail --disk $(disk_of WD-NEW) >/dev/null
wizard xterm-256color ""
await_screen "Type its last 4 characters to go ahead"
type_keys "-NEW"
await_screen "Pull the disk with serial WD-NEW"
screen | grep -qF "? Find the disk with serial WD-NEW" && echo "SURVEY PROMPT"
tmux send-keys -t w C-c
await_rc
screen | tail -n 8
/run/vmtest/bin/vmtest-hotplug unplug WD-NEW >/dev/null
( sleep 2; /run/vmtest/bin/vmtest-hotplug plug WD-NEW2 >/dev/null ) &
$RS resume --yes --plain --wait-timeout 3m > /run/resume.out 2>&1 || { cat /run/resume.out; exit 1; }
tail -n 3 /run/resume.out
wait
checks WD-NEW2

say "a whole session on a capable terminal (survey, mpb bars) of 80x24, a serial console's size"
$RS simulate fail --disk $(disk_of WD-NEW2) >/dev/null
COLS=80 ROWS=24 wizard xterm-256color ""
await_screen "Type its last 4 characters to go ahead"
type_keys "NEW2"
await_screen "Pull the disk with serial WD-NEW2"
tmux send-keys -t w Enter # typed ahead during the wait: flushed, never the next answer
sleep 0.5
/run/vmtest/bin/vmtest-hotplug unplug WD-NEW2 >/dev/null
await_screen "Insert the new disk"
/run/vmtest/bin/vmtest-hotplug plug WD-NEW3 >/dev/null
await_screen "Type its last 4 characters to write to it"
type_keys "NEW3"
await_rc
screen | grep -E "^md[01] " | sed 's/^/BAR: /'
screen | grep -F "DONE in" | sed 's/^/SURVEY: /'
# capture-pane -J joins the lines the terminal wrapped: a line wider than 80 is one it broke,
# wherever it fell (inside a word). raidswap breaks its own lines at spaces.
screen | awk 'length > 80 { n++; print "WIDER THAN 80: " $0 } END { if (!n) print "EVERY LINE FITS 80" }'
checks WD-NEW3
`
	res := vmtest.RunT(t, vmtest.Config{Disks: []vmtest.Disk{
		{Serial: "WD-SURV", SizeBytes: 256 << 20},
		{Serial: "WD-OLD", SizeBytes: 256 << 20},
		{Serial: "WD-NEW", SizeBytes: 256 << 20, Unplugged: true},
		{Serial: "WD-NEW2", SizeBytes: 256 << 20, Unplugged: true},
		{Serial: "WD-NEW3", SizeBytes: 256 << 20, Unplugged: true},
	}, Timeout: 12 * time.Minute, MemoryMB: 1024, Env: map[string]string{"RS": testbin.Raidswap(t)}, Script: script})
	t.Logf("guest output:\n%s", res.Output)
	if dir := os.Getenv("RAIDSWAP_WIZARD_SCREEN"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "vm-output.txt"), []byte(res.Output), 0o644)
	}
	golden.Contains(t, res.Output,
		"SURVIVOR NOT MARKED", `3 answers did not match the disk's label (last: "OLDX"): nothing was done`, "RC=65", "NO JOURNAL: NOTHING RAN",
		"Pull the disk with serial WD-OLD", "New disk: ", "checks: ok", "DONE in", "RC=0", "boots alone  vdb (WD-NEW): ok", "PLAIN: NO ESCAPE CODE",
		"REDUNDANT OK", "CANARY OK", "SWAP UUID KEPT on WD-NEW", "GRUB ON WD-NEW",
		"SURVEY PROMPT", "raidswap resume", "RC=130", "done: every step of plan", "SWAP UUID KEPT on WD-NEW2", "GRUB ON WD-NEW2",
		"BAR: md0", "BAR: md1", "SURVEY: DONE in", "EVERY LINE FITS 80", "SWAP UUID KEPT on WD-NEW3", "GRUB ON WD-NEW3")
	if strings.Contains(res.Output, "THE ANSWER WAS ECHOED") {
		t.Error("a refused confirmation showed the expected answer")
	}
	if res.ExitCode != 0 {
		t.Errorf("guest script exit %d", res.ExitCode)
	}
	if strings.Count(res.Output, "REDUNDANT OK") != 3 {
		t.Errorf("the arrays were not redundant after all three swaps")
	}
}
