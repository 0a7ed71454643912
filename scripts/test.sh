#!/bin/bash
# test.sh — run every test, phase by phase: check-tools, the unit tests, the tool tests
# (tests named TestTool*, which drive external tools: ansible, promtool, systemd-analyze,
# dpkg-deb, lintian, dpkg), the VM suite (tests named TestVM*, which boot a real Debian kernel
# under QEMU) and the race detector. --install runs scripts/install-deps.sh first, as a phase
# of its own (`make test` does). Under CI=true a VM suite that skipped or did not run fails
# the run. Prints each package's result, each phase's time and a closing "N passed, N failed"
# line.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH CGO_ENABLED=0
mkdir -p .cache
log=.cache/test.log
start=$(date +%s)
rc=0
phases=()
# phase NAME CMD... runs one phase and records how long it took.
phase() {
	local name=$1 t0 prc secs
	shift
	t0=$(date +%s)
	"$@"
	prc=$?
	secs=$(($(date +%s) - t0))
	phases+=("$(printf '%-12s %5ds%s' "$name" "$secs" "$([ "$prc" = 0 ] || echo "  (exit $prc)")")")
	echo "phase $name: ${secs}s"
	return $prc
}
if [ "${1:-}" = "--install" ]; then
	shift
	phase install bash scripts/install-deps.sh || rc=1
fi
# Every tool the project and its tests run must come from a package the set-up installs.
phase check-tools bash scripts/check-tools.sh
tools_rc=$?
: >"$log"
gotest() { go test -count=1 -v "$@" >>"$log" 2>&1; }
phase unit gotest -timeout 30m -skip '^(TestVM|TestTool)' "$@" ./... || rc=1
phase tool-tests gotest -timeout 30m -run '^TestTool' "$@" ./... || rc=1
phase vm-suite gotest -timeout 85m -run '^TestVM' "$@" ./... || rc=1
# The race detector needs cgo (gcc, from install-deps.sh): the packages whose goroutines
# share a terminal (progress bars, step lines, signals) or a run's record stream (the rebuild
# follower beside the steps) run again under -race.
race_pkgs=(./internal/view/ ./internal/cli/ ./internal/exec/ ./internal/stream/)
# TestLockWaitsForOrphanedCommand closes the lock file once the child it was handed to has
# started, which it learns from a file the child makes: an order the race detector cannot see.
race_skip='TestVM|TestLockWaitsForOrphanedCommand'
race() {
	CGO_ENABLED=1 go test -race -count=1 -timeout 20m -skip "$race_skip" -v "${race_pkgs[@]}" >"$log.race" 2>&1
}
if command -v gcc >/dev/null; then
	phase race race || rc=1
	grep -E '^(ok|FAIL|panic:)|^\s*--- FAIL|WARNING: DATA RACE' "$log.race" | sed 's/^/race: /'
else
	echo "race: gcc is missing (scripts/install-deps.sh installs it): -race tests not run"
	[ "${CI:-}" = "true" ] && rc=1
fi
grep -E '^(ok|FAIL|---|panic:)|^\s+--- (FAIL|SKIP)|_test.go:[0-9]+:' "$log" | grep -v -- '--- PASS' | grep -v '^=== ' | head -400
passed=$(grep -cE '^\s*--- PASS: ' "$log")
failed=$(grep -cE '^\s*--- FAIL: ' "$log")
skipped=$(grep -cE '^\s*--- SKIP: ' "$log")
vm_passed=$(grep -cE '^\s*--- PASS: TestVM' "$log")
vm_skipped=$(grep -cE '^\s*--- SKIP: TestVM' "$log")
echo "VM suite: $vm_passed passed, $vm_skipped skipped; whole run $(( $(date +%s) - start ))s; full log in $log"
if [ "${CI:-}" = "true" ] && { [ "$vm_passed" -eq 0 ] || [ "$vm_skipped" -gt 0 ]; }; then
	grep -E -A3 -- '--- SKIP: TestVM' "$log" | head -20
	echo "CI: the VM suite must run; it did not (passed $vm_passed, skipped $vm_skipped)"
	rc=1
fi
# CI installs everything the tests need, so a skipped test there hides a missing piece.
if [ "${CI:-}" = "true" ] && [ "$skipped" -gt 0 ]; then
	grep -E -A2 -- '--- SKIP: ' "$log" | head -20
	echo "CI: $skipped test(s) skipped; under CI every test must run"
	rc=1
fi
if [ "$tools_rc" != 0 ]; then
	echo "check-tools: a tool comes from a package the set-up does not install (see the first lines)"
	rc=1
fi
echo "phases:"
printf '  %s\n' "${phases[@]}"
echo "tests: $passed passed, $failed failed, $skipped skipped"
# The failures again, last, where a truncated CI log still shows them.
{
	grep -E '^\s*--- FAIL: ' "$log"
	[ -f "$log.race" ] && grep -E '^\s*--- FAIL: |^FAIL\s|WARNING: DATA RACE' "$log.race" | sed 's/^/race: /'
} | sort | uniq -c | sed 's/^ *\([0-9]*\) /failed (x\1): /' | head -40
exit $rc
