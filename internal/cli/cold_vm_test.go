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

// coldBefore is the first boot of the swap with the power off: the seed layout with a
// bootable /boot (the VM's kernel, a marker initramfs, a grub.cfg that loads them),
// raidswap's directory on the root array (/var/lib/raidswap bound from md1, as on a server
// whose / is md1: the journal, the plan key and the inventory survive the power-off), the
// failed disk's members failed, then `raidswap --cold` in a terminal: one answer, phase 1,
// the power-off screen, exit 75. The script then does what `systemctl poweroff` does to md:
// swap off, unmount, stop the arrays cleanly, and keeps what a server keeps in /etc
// (fstab, mdadm.conf's ARRAY lines) and the canaries' sums in the share.
const coldBefore = wizardPrologue + vmtest.MarkerBoot + `mkdir -p /mnt/root/var-lib-raidswap /var/lib/raidswap
mount --bind /mnt/root/var-lib-raidswap /var/lib/raidswap
$RS simulate fail --disk vdb >/dev/null

say "raidswap --cold"
wizard dumb --cold
await_screen "Type its last 4 characters to go ahead"
type_keys "-OLD"
await_screen "sudo systemctl poweroff"
await_rc
screen | sed -n '/^Phase 1:/,$p' | grep -v '^RC=' > /mnt/share/cold-1.screen
cat /mnt/share/cold-1.screen
ls /var/lib/raidswap/journal/*.jsonl >/dev/null && echo "JOURNAL ON md1"
cat /proc/mdstat | grep -E '^md|blocks'

say "power off"
cp /run/canary.sum /mnt/share/canary.sum
echo "$OLDSWAP" > /mnt/share/oldswap
cp /etc/fstab /mnt/share/fstab
mdadm --detail --scan > /mnt/share/mdadm-arrays
tmux kill-server 2>/dev/null || true
swapoff -a
umount /var/lib/raidswap /mnt/root /boot
mdadm --stop --scan
sync
echo "POWERED OFF"
`

// coldAfter is the boot after the swap: WD-OLD is out, WD-NEW is in. The arrays are
// assembled degraded (what the initramfs does: mdadm --assemble --scan --run, with the ARRAY
// lines of the server's mdadm.conf), / (md1) and /boot mounted, the survivor's swap on; then
// `raidswap` in a terminal finds the open journal and continues it to the end. The boot
// named the disks the other way round (the new disk vda, the survivor vdb): the run finds
// the survivor by its serial.
const coldAfter = `
set -eu
say() { echo "== $*"; }
` + wizardHelpers + `
say "boot with the new disk"
for d in /sys/block/vd*; do echo "$(basename $d) $(cat $d/serial)"; done
cat /mnt/share/mdadm-arrays >> /etc/mdadm/mdadm.conf
mdadm --stop --scan >/dev/null 2>&1 || true
mdadm --assemble --scan --run
udevadm settle || true
grep -E '^md' /proc/mdstat
mkdir -p /boot /mnt/root /var/lib/raidswap
mount /dev/md0 /boot
mount /dev/md1 /mnt/root
mount --bind /mnt/root/var-lib-raidswap /var/lib/raidswap
cp /mnt/share/fstab /etc/fstab
cp /mnt/share/canary.sum /run/canary.sum
OLDSWAP=$(cat /mnt/share/oldswap)
swapon /dev/$(disk_of WD-SURV)3
$RS status > /run/status.txt || true
grep -E '^(OK|WARNING|CRITICAL|NEXT)' /run/status.txt | sed 's/^/STATUS: /'

say "raidswap after the boot"
wizard dumb ""
await_screen "An unfinished replacement is open"
await_screen "to go ahead"
type_keys "-NEW"
await_rc
screen | grep -v '^RC=' > /mnt/share/cold-2.screen
cat /mnt/share/cold-2.screen
checks WD-NEW
grep -q '"event":"finished"' /var/lib/raidswap/journal/*.jsonl && echo "JOURNAL FINISHED"
$RS status | grep -E '^(OK|WARNING|CRITICAL)' | sed 's/^/STATUS AFTER: /'
swapoff -a
umount /var/lib/raidswap /mnt/root /boot
mdadm --stop --scan
sync
echo "SWAP DONE"
`

// TestVMColdSwap: the swap with the power off (issue 20, item 3), on two boots of the same
// disk images. The first boot runs `raidswap --cold`, which takes WD-OLD out of its arrays
// and stops (exit 75) saying to power off, swap and boot; the second boots with WD-OLD gone
// and WD-NEW in its place (named first, so the survivor's kernel name changes from vda to
// vdb) and runs `raidswap`, which continues the open journal on the root
// array to the end: both arrays redundant, the canaries intact, the swap partition's UUID
// kept, and then the new disk and the survivor each boot alone (SeaBIOS, GRUB from the disk,
// the kernel and a marker initramfs from /boot on md0).
func TestVMColdSwap(t *testing.T) {
	vmtest.Require(t)
	kernel, err := vmtest.Assets()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	share := filepath.Join(dir, "share")
	if err := os.Mkdir(share, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := "raidswap-boot-proof: cold swap booted alone"
	if err := vmtest.WriteMarkerInitramfs(filepath.Join(share, "marker.img"), marker); err != nil {
		t.Fatal(err)
	}
	image := func(serial string) vmtest.Disk {
		p := filepath.Join(dir, serial+".img")
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 256<<20); err != nil {
			t.Fatal(err)
		}
		return vmtest.Disk{Serial: serial, Image: p}
	}
	surv, old, nw := image("WD-SURV"), image("WD-OLD"), image("WD-NEW")
	env := map[string]string{"RS": testbin.Raidswap(t), "KERNEL": kernel}
	start := time.Now()

	first := vmtest.RunT(t, vmtest.Config{Disks: []vmtest.Disk{surv, old}, Share: share, Timeout: 5 * time.Minute,
		MemoryMB: 1024, Env: env, Script: coldBefore})
	t.Logf("first boot (%s):\n%s", first.Duration.Round(time.Second), first.Output)
	if first.ExitCode != 0 {
		t.Fatalf("first boot: guest script exit %d", first.ExitCode)
	}
	golden.Contains(t, first.Output, "RC=75", "sudo systemctl poweroff", "Take out the disk with serial WD-OLD",
		"Keep the disk with serial WD-SURV", "sudo raidswap", "JOURNAL ON md1", "POWERED OFF")
	for _, s := range []string{"Pull the disk with serial", "Insert the new disk"} {
		if strings.Contains(first.Output, s) {
			t.Errorf("the cold session said %q", s)
		}
	}

	// The new disk is attached first: the boot names it vda and the survivor vdb, the names
	// the other way round from the plan's.
	second := vmtest.RunT(t, vmtest.Config{Disks: []vmtest.Disk{nw, surv}, Share: share, Timeout: 6 * time.Minute,
		MemoryMB: 1024, Env: env, Script: coldAfter})
	t.Logf("second boot (%s):\n%s", second.Duration.Round(time.Second), second.Output)
	if second.ExitCode != 0 {
		t.Fatalf("second boot: guest script exit %d", second.ExitCode)
	}
	golden.Contains(t, second.Output, "vda WD-NEW", "vdb WD-SURV", "An unfinished replacement is open",
		"Type the last 4 characters of the serial of the new disk (WD-NEW)", "the survivor vda (WD-SURV) is now named vdb",
		"grub-install --target=i386-pc '--modules=part_gpt mdraid1x ext2' /dev/vdb", "partition table of /dev/vdb (WD-SURV) copied onto /dev/vda (WD-NEW)", "RC=0", "done: every step of plan", "REDUNDANT OK", "CANARY OK",
		"SWAP UUID KEPT on WD-NEW", "GRUB ON WD-NEW", "JOURNAL FINISHED", "SWAP DONE")
	for _, d := range []vmtest.Disk{nw, surv} {
		boot, err := vmtest.BootDiskT(t, vmtest.BootConfig{Disks: []vmtest.Disk{{Serial: d.Serial, Image: d.Image}}, Firmware: vmtest.BIOS, Marker: marker})
		if err != nil {
			t.Errorf("%s did not boot alone: %v\n%s", d.Serial, err, boot.Console)
			continue
		}
		t.Logf("%s booted alone (SeaBIOS) in %s", d.Serial, boot.Duration.Round(100*time.Millisecond))
	}
	t.Logf("the swap with the power off, both boots and both boot proofs: %s", time.Since(start).Round(time.Second))
}
