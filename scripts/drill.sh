#!/bin/bash
# drill.sh — runs inside the VM that `make drill` boots: `raidswap drill --auto` on the guest's
# real md, loop and dm drivers (the drill builds its own throw-away disks on loop devices over
# sparse files), then shows that nothing of it is left. Exit code: the drill's.
# DRILL_ARGS adds arguments, e.g. `make drill DRILL_ARGS="--scenario all"`.
set -u
raidswap=${RAIDSWAP:-$(dirname "$0")/../bin/raidswap}
[ -x "$raidswap" ] || raidswap=$(cd "$(dirname "$0")/.." && pwd)/bin/raidswap
# The guest boots with md, loop and dm as modules, unloaded (a server with arrays has them loaded).
# raidswap drill loads md_mod, raid1, loop and dm_mod itself when they are modules not yet loaded.
# shellcheck disable=SC2086 # DRILL_ARGS is a list of words
# The drill's own "Next:" line names `raidswap drill`; under `make drill` the one line this
# script ends with names `make drill` instead, so only that one is shown.
"$raidswap" drill --auto ${DRILL_ARGS:-} 2>&1 | grep --line-buffered -v '^Next: '
rc=${PIPESTATUS[0]}
printf '\nleft behind: %s loop devices, %s md arrays, %s dm tables\n' \
	"$(losetup -a | wc -l)" "$(awk '/^md/ { n++ } END { print n + 0 }' /proc/mdstat 2>/dev/null)" "$(dmsetup ls 2>/dev/null | grep -vc '^No devices found')"
echo "(raidswap drill exit code $rc)"
if [ "$rc" = 0 ]; then
	echo "Next: \`make drill DRILL_ARGS=\"--scenario all\"\` rehearses every case; on a real server run \`raidswap status\`, then \`sudo raidswap\`"
else
	echo "Next: read the score card's FAIL lines above; \`make drill DRILL_ARGS=\"--scenario NAME\"\` runs that scenario alone"
fi
exit $rc
