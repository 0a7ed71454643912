package vmtest

// GuestLib is the shell the VM tests' guest scripts share, put in a script where its
// functions are first needed: every background job is killed when the script exits, and
// GuestJournal's functions.
const GuestLib = `
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT` + GuestJournal

// GuestJournal is GuestLib without the exit trap, for shell a script evals where a trap of
// its own would end the script's background jobs early: say prints a section heading, and
// await_journal EVENT ACTION [LIMIT] waits (LIMIT seconds, 180 by default) until raidswap's
// journal has a record of EVENT for a step whose ID ends in ACTION (a regular expression),
// else stops the script. Tests synchronise the hands of the operator (pull, plug) on the
// journal, never on sleeps.
const GuestJournal = `
say() { echo "== $*"; }
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

// MarkerBoot is the guest shell that makes the mounted /boot boot the marker initramfs
// (WriteMarkerInitramfs, in the share as marker.img) with the kernel $KERNEL: both copied in,
// and a grub.cfg that finds /boot by its file system label "boot" (through md with
// mdraid1x) and boots them with the console on the serial port, where BootDisk looks for
// the marker.
const MarkerBoot = `
cp "$KERNEL" /boot/vmlinuz
cp ` + GuestShare + `/marker.img /boot/marker.img
mkdir -p /boot/grub
cat >/boot/grub/grub.cfg <<CFG
set timeout=0
insmod mdraid1x
search --no-floppy --label boot --set=root
linux /vmlinuz console=ttyS0 panic=-1 loglevel=3
initrd /marker.img
boot
CFG
`
