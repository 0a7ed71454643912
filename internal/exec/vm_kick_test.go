package exec_test

import (
	"testing"

	"github.com/raidswap/raidswap/internal/golden"
)

// TestVMKickRestartsFrozenRecovery: both arrays are frozen (sync_action), as an mdadm killed
// between freezing and thawing an array leaves them, before raidswap adds the new disk. md
// then holds the new members as spares and recovers nothing; the rebuild wait sees each array
// degraded with a spare and no sync for the plan's grace, writes "recover" to its sync_action
// (journalled as recovery_started), and the recoveries run to the end.
func TestVMKickRestartsFrozenRecovery(t *testing.T) {
	res := runVM(t, vmDisks(), prologue+operator+`
$RS simulate fail --disk vdb >/dev/null
echo frozen > /sys/block/md0/md/sync_action
echo frozen > /sys/block/md1/md/sync_action
# The hands look at md while raidswap waits for the rebuild, before any kick can have come
# (the kick waits a full look and the grace): frozen, the new member a spare, no recovery.
hands() {
	await_journal started await-rebuild
	for md in md0 md1; do
		a=$(cat /sys/block/$md/md/sync_action)
		d=$(cat /sys/block/$md/md/degraded)
		echo "$md at the wait: sync_action=$a degraded=$d"
		[ "$a" = frozen ] && [ "$d" = 1 ] && grep -A2 "^$md " /proc/mdstat | grep -q '(S)' && echo "$md FROZEN WITH A SPARE"
	done
	grep -A3 '^md' /proc/mdstat
}
operator &
hands &
say "replace"
$RS replace --failed WD-OLD --new WD-NEW --yes --plain --wait-timeout 3m > /run/rs.out 2>&1 || { cat /run/rs.out; exit 1; }
cat /run/rs.out
wait
for md in md0 md1; do
	grep -hF '"recovery_started":"'$md'"' /var/lib/raidswap/journal/*.jsonl | grep -q '"step":"[0-9]*-await-rebuild"' && echo "$md KICK JOURNALLED"
	echo "$md after: sync_action=$(cat /sys/block/$md/md/sync_action) degraded=$(cat /sys/block/$md/md/degraded)"
done
`+epilogue)
	golden.Contains(t, res.Output, append(allChecks,
		"md0 FROZEN WITH A SPARE", "md1 FROZEN WITH A SPARE",
		"md0 has a spare but no recovery running: asking md to recover (sync_action=recover)",
		"md1 has a spare but no recovery running: asking md to recover (sync_action=recover)",
		"md0 KICK JOURNALLED", "md1 KICK JOURNALLED",
		"md0 after: sync_action=idle degraded=0", "md1 after: sync_action=idle degraded=0",
		"done: every step of plan")...)
	if res.ExitCode != 0 {
		t.Errorf("guest script exit %d", res.ExitCode)
	}
}
