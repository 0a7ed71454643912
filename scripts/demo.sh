#!/bin/bash
# demo.sh — runs inside the VM that `make demo` boots (two virtio disks with serials): builds a
# two-disk RAID1 like a real server's (md0 metadata 1.0 for /boot, a swap partition, md1
# metadata 1.2 for /), shows it healthy, fails every member of the second disk the way the
# seed's disk failed, shows what `raidswap status` says then, and the plan that replaces it.
set -u
raidswap=${RAIDSWAP:-$(dirname "$0")/../bin/raidswap}
[ -x "$raidswap" ] || raidswap=$(cd "$(dirname "$0")/.." && pwd)/bin/raidswap
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
# Every end of the demo says what to do next: after the plan, the rehearsal and the real
# commands; after a step that failed, how to see why.
finished=0
next() {
	if [ "$finished" = 1 ]; then
		echo "Next: \`make drill\` rehearses this replacement end to end on throw-away disks; on a real server run \`raidswap status\`, then \`sudo raidswap\` (the wizard) or \`raidswap --plan --failed SERIAL\`"
	else
		echo "Next: the demo stopped before its end (see the error above); \`make deps\` installs what the VM needs, then \`make demo\` again"
	fi
}
trap next EXIT

step "Building the seed layout on vda and vdb: GPT, BIOS boot, md0 (1.0, /boot), swap, md1 (1.2, /)"
"$raidswap" simulate build --canary vda vdb || exit 1
cat /proc/mdstat
# A real server has GRUB on both disks and names /boot in its fstab (here /boot is not
# mounted, as after a rescue boot: the plan mounts it privately to reinstall GRUB on both).
mkdir -p /run/demo-boot && mount /dev/md0 /run/demo-boot &&
	for d in vda vdb; do grub-install --target=i386-pc --boot-directory=/run/demo-boot /dev/$d >/dev/null 2>&1 || echo "grub-install $d failed"; done
umount /run/demo-boot 2>/dev/null
echo "/dev/md0 /boot ext4 defaults 0 2" >> /etc/fstab

step "raidswap status on the healthy server"
"$raidswap" status; echo "(exit code $?)"

step "Disk vdb fails: every member of it goes faulty, as in the seed's /proc/mdstat"
"$raidswap" simulate fail --disk vdb || exit 1
cat /proc/mdstat

step "raidswap status now (exit 2 = CRITICAL for monitoring)"
"$raidswap" status; rc=$?; echo "(exit code $rc)"

step "The same as Prometheus metrics (node_exporter textfile collector)"
"$raidswap" status --format prometheus | grep -E '^raidswap_(status_verdict|disk_failed|array_degraded)'
step "The replacement as a plan for review (changes nothing): raidswap --plan --failed WD-DEMO-B"
"$raidswap" --plan --failed WD-DEMO-B --format text || exit 1
[ "$rc" = 2 ] || exit 1
finished=1
