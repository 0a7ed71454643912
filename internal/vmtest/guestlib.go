package vmtest

// GuestLib is the shell the VM tests' guest scripts share, put in a script where its
// functions are first needed: say prints a section heading, every background job is killed
// when the script exits, and await_journal EVENT ACTION [LIMIT] waits (LIMIT seconds, 180 by
// default) until raidswap's journal has a record of EVENT for a step whose ID ends in ACTION
// (a regular expression), else stops the script. Tests synchronise the hands of the operator
// (pull, plug) on the journal, never on sleeps.
const GuestLib = `
say() { echo "== $*"; }
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
await_journal() {
	local event=$1 action=$2 limit=${3:-180} start=$SECONDS
	until cat /var/lib/raidswap/journal/*.jsonl 2>/dev/null | grep -F "\"event\":\"$event\"" | grep -qE "\"step\":\"[0-9]+-$action\""; do
		if [ $(( SECONDS - start )) -ge "$limit" ]; then
			echo "TIMEOUT: after ${limit}s no journal record {\"event\":\"$event\",\"step\":\"NN-$action\"} in /var/lib/raidswap/journal" >&2
			kill -TERM $$
			exit 1
		fi
		sleep 0.1
	done
}
`
