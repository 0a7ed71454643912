package bootloader_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// uefiPrelude and uefiLayout build a two-disk RAID1 server booting by UEFI: on each disk an ESP (partition
// 1, FAT32) and partition 2 of md0 (RAID1, metadata 1.0) holding /boot with the kernel and
// the marker initramfs. GRUB x86_64-efi is installed on each ESP as Debian does
// (EFI/debian/grubx64.efi, boot entries made by efibootmgr); the survivor's ESP lacks the
// removable fallback path, which only the failed disk's has. The survivor's ESP is mounted
// at /boot/efi, as on a Debian server. Then vdb fails, and raidswap replaces it with WD-NEW.
const uefiPrelude = `
set -eu
` + vmtest.GuestLib

const uefiLayout = `
for d in vda vdb; do
	sgdisk -Z /dev/$d >/dev/null
	sgdisk -n1:2048:+64M -t1:ef00 -n2:0:0 -t2:fd00 /dev/$d >/dev/null
	partx -a /dev/$d 2>/dev/null || partx -u /dev/$d
done
udevadm settle
mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --metadata=1.0 /dev/vda2 /dev/vdb2 >/dev/null 2>&1
mdadm --wait /dev/md0 || true
mkfs.ext4 -q -F -L boot /dev/md0
mkdir -p /boot && mount /dev/md0 /boot
cp "$KERNEL" /boot/vmlinuz
cp /mnt/share/marker.img /boot/marker.img
cat >/boot/grub.cfg.in <<CFG
set timeout=0
search --no-floppy --label boot --set=root
linux /vmlinuz console=ttyS0 panic=-1 loglevel=3
initrd /marker.img
boot
CFG
mkdir -p /boot/efi
for d in vda vdb; do
	mkfs.vfat -F 32 -n ESP /dev/${d}1 >/dev/null
	mount /dev/${d}1 /boot/efi
	grub-install --target=x86_64-efi --efi-directory=/boot/efi --boot-directory=/boot --bootloader-id=debian --no-nvram \
		--modules="part_gpt mdraid1x ext2" /dev/$d >/dev/null 2>&1
	[ $d = vdb ] && grub-install --target=x86_64-efi --efi-directory=/boot/efi --boot-directory=/boot --removable --no-nvram \
		--modules="part_gpt mdraid1x ext2" /dev/$d >/dev/null 2>&1
	umount /boot/efi
	efibootmgr --create --disk /dev/$d --part 1 --label debian --loader '\EFI\debian\grubx64.efi' >/dev/null
done
cp /boot/grub.cfg.in /boot/grub/grub.cfg
mount /dev/vda1 /boot/efi
test ! -e /boot/efi/EFI/BOOT/BOOTX64.EFI && echo "SURVIVOR HAS NO FALLBACK"
blkid -p -o value -s PART_ENTRY_UUID /dev/vda1 > /mnt/share/surv.partuuid
blkid -p -o value -s PART_ENTRY_UUID /dev/vdb1 > /mnt/share/old.partuuid
efibootmgr -v
sync
# The survivor as it was: the negative control of the fallback boot.
dd if=/dev/vda of=/mnt/share/surv-before.img bs=4M status=none && echo "SURVIVOR IMAGE SAVED"
`

// uefiReplace fails vdb and replaces it with WD-NEW by `raidswap replace --yes`: the boot
// steps come from what raidswap detects (an ESP per disk; UEFI or, from a rescue system
// started by BIOS, the rescue variant).
const uefiReplace = `
say "fail and replace"
mdadm /dev/md0 --fail /dev/vdb2 >/dev/null
# udev re-reads the file systems, as a booted server's udev knows them (FAT version, label).
udevadm trigger --action=change --subsystem-match=block; udevadm settle
$RS --plan --failed WD-OLD --new WD-NEW
( await_journal started await-removal; /run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null; sleep 1; /run/vmtest/bin/vmtest-hotplug plug WD-NEW >/dev/null ) &
$RS replace --failed WD-OLD --new WD-NEW --yes --plain --wait-timeout 3m > /run/rs.out 2>&1 || { cat /run/rs.out; exit 1; }
cat /run/rs.out
wait
NEW=$(for f in /sys/block/*/serial; do [ "$(cat $f)" = WD-NEW ] && basename $(dirname $f); done)
blkid -p -o value -s PART_ENTRY_UUID /dev/${NEW}1 > /mnt/share/new.partuuid
test -e /boot/efi/EFI/BOOT/BOOTX64.EFI && echo "SURVIVOR HAS FALLBACK"
mkdir -p /mnt/newesp && mount -o ro /dev/${NEW}1 /mnt/newesp
diff -r /boot/efi /mnt/newesp && echo "ESP TREES IDENTICAL"
umount /mnt/newesp
mdadm --wait /dev/md0 || true
grep -q '\[UU\]' /proc/mdstat && echo "REDUNDANT OK"
umount /boot/efi /boot
sync
`

// uefiStatus runs status after the replacement with /boot and the survivor's ESP mounted
// as on the server (status finds the loader there), and records the firmware's Boot####
// variables as efivarfs shows them.
const uefiStatus = `
say "status"
mount /dev/md0 /boot && mount /dev/vda1 /boot/efi
$RS status --json > /mnt/share/status.json || echo "status --json exit $?"
$RS status || echo "status exit $?"
mkdir -p /mnt/share/efivars && cp /sys/firmware/efi/efivars/Boot[0-9A-F][0-9A-F][0-9A-F][0-9A-F]-8be4df61-93ca-11d2-aa0d-00e098032b8c /mnt/share/efivars/
umount /boot/efi /boot
sync
`

// TestVMUEFIBootAlone is the UEFI proof: after raidswap replaced the failed disk, the next
// boot with the same firmware variables reads back one boot entry per disk (and none for
// the failed disk's ESP), and each disk boots alone under OVMF, both by its own boot entry
// (a copy of the variables) and by the removable fallback path (fresh variables).
func TestVMUEFIBootAlone(t *testing.T) {
	vmtest.Require(t)
	kernel, err := vmtest.Assets()
	if err != nil {
		t.Fatal(err)
	}
	const marker = "raidswap-uefi-marker: booted alone"
	dir, share, vars, surv, old, nw := newUEFIRig(t, marker)
	res := vmtest.RunT(t, vmtest.Config{Disks: []vmtest.Disk{surv, old, nw}, Firmware: vmtest.UEFI, UEFIVars: vars, Share: share,
		Timeout: 8 * time.Minute, Env: map[string]string{"KERNEL": kernel, "RS": testbin.Raidswap(t)},
		Script: uefiPrelude + uefiLayout + uefiReplace + uefiStatus})
	if testing.Verbose() || res.ExitCode != 0 {
		t.Logf("guest output:\n%s", res.Output)
	}
	if res.ExitCode != 0 {
		t.Fatalf("setup and replacement failed (%d)", res.ExitCode)
	}
	checkStatusBoot(t, share, "WD-SURV", "WD-NEW")
	golden.Contains(t, res.Output, "SURVIVOR HAS NO FALLBACK", "SURVIVOR IMAGE SAVED", "wrote EFI/BOOT/BOOTX64.EFI on the survivor's ESP", "each verified by SHA-256",
		"SURVIVOR HAS FALLBACK", "ESP TREES IDENTICAL", "REDUNDANT OK", "done: every step of plan")
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(share, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	survID, oldID, newID := read("surv.partuuid"), read("old.partuuid"), read("new.partuuid")
	if survID == "" || newID == "" || survID == newID || oldID == newID {
		t.Fatalf("PARTUUIDs: survivor %q, old %q, new %q", survID, oldID, newID)
	}
	nw.Unplugged = false

	// The harness's negative: before raidswap, the survivor's ESP had no fallback path, and
	// with fresh variables it did not boot alone.
	t.Run("WD-SURV-before/fallback", func(t *testing.T) {
		before := vmtest.Disk{Serial: "WD-SURV", Image: filepath.Join(share, "surv-before.img")}
		boot, err := vmtest.BootDisk(t.Context(), vmtest.BootConfig{Disks: []vmtest.Disk{before}, Firmware: vmtest.UEFI, Marker: marker, Timeout: 30 * time.Second})
		if !errors.Is(err, vmtest.ErrNoMarker) {
			t.Errorf("the survivor without a fallback path booted alone with fresh variables: %v", err)
		} else {
			t.Logf("without the fallback path: no marker after %.1fs", boot.Duration.Seconds())
		}
		os.Remove(before.Image)
	})

	// The next boot, with the same variables, reads the entries back.
	next := vmtest.RunT(t, vmtest.Config{Disks: []vmtest.Disk{surv, nw}, Firmware: vmtest.UEFI, UEFIVars: vars, Share: share,
		Script: "efibootmgr -v"})
	if next.ExitCode != 0 {
		t.Fatalf("efibootmgr -v in the next boot: %d\n%s", next.ExitCode, next.Output)
	}
	t.Logf("boot entries read back in the next boot:\n%s", next.Output)
	bv, err := bootloader.ParseBootVars([]byte(next.Output))
	if err != nil {
		t.Fatal(err)
	}
	loader := `\EFI\debian\grubx64.efi`
	se, ne := bv.EntryFor(survID, loader), bv.EntryFor(newID, loader)
	if se == nil || ne == nil {
		t.Fatalf("entries: survivor %v, new disk %v in\n%s", se, ne, next.Output)
	}
	if ne.Label != "raidswap WD-NEW" {
		t.Errorf("new disk's entry is labelled %q", ne.Label)
	}
	// The layout made the failed disk's entry last, so BootOrder put it first: the new disk's
	// entry takes its place, and the survivor's keeps its own (issue 18, item 4).
	if len(bv.Order) < 2 || bv.Order[0] != ne.Num || bv.Order[1] != se.Num {
		t.Errorf("BootOrder %v, want %s (new disk, in the failed disk's place), %s (survivor) first", bv.Order, ne.Num, se.Num)
	}
	for _, e := range bv.Entries {
		if e.PARTUUID == oldID {
			t.Errorf("the failed disk's entry Boot%s is still there", e.Num)
		}
	}

	// Each disk alone: by its own entry (a copy of the variables per run), and by the
	// fallback path (fresh variables).
	for _, tc := range []struct {
		disk  vmtest.Disk
		entry *bootloader.BootEntry
	}{{surv, se}, {nw, ne}} {
		for _, byEntry := range []bool{true, false} {
			name := tc.disk.Serial + "/fallback"
			cfg := vmtest.BootConfig{Disks: []vmtest.Disk{tc.disk}, Firmware: vmtest.UEFI, Marker: marker}
			if byEntry {
				name = tc.disk.Serial + "/entry"
				cfg.UEFIVars = filepath.Join(dir, "vars-"+tc.disk.Serial+".fd")
				if err := vmtest.CopyFile(cfg.UEFIVars, vars); err != nil {
					t.Fatal(err)
				}
			}
			t.Run(name, func(t *testing.T) { bootAloneUEFI(t, name, cfg, tc.entry, loader, byEntry) })
		}
	}
}

// bootAloneUEFI boots the one disk of cfg under OVMF and wants the marker: byEntry, by the
// disk's own boot entry (entry, booting loader from its ESP; cfg.UEFIVars a copy of the
// variables), else by the removable-media path (fresh variables, no file booted by a
// partition's device path).
func bootAloneUEFI(t *testing.T, name string, cfg vmtest.BootConfig, entry *bootloader.BootEntry, loader string, byEntry bool) {
	t.Helper()
	boot, err := vmtest.BootDiskT(t, cfg)
	if err != nil {
		t.Fatalf("%s did not boot alone: %v", name, err)
	}
	// OVMF says which boot option it starts: `BdsDxe: starting Boot0001 "debian" from
	// HD(1,GPT,<PARTUUID>,...)/\EFI\debian\grubx64.efi` for an entry, and for the
	// removable path an option it made itself for the device, with no file node.
	started := regexp.MustCompile(`BdsDxe: starting (Boot[0-9A-F]{4}) "([^"]*)" from (\S+)`).FindAllStringSubmatch(boot.Console, -1)
	if len(started) == 0 {
		t.Fatalf("OVMF did not say which boot option it started:\n%s", boot.Console)
	}
	last := started[len(started)-1]
	t.Logf("%s: marker after %.1fs; OVMF started %s %q from %s", name, boot.Duration.Seconds(), last[1], last[2], last[3])
	path := strings.ToLower(last[3])
	ownEntry := strings.Contains(path, strings.ToLower(entry.PARTUUID)) && strings.Contains(path, strings.ToLower(loader))
	if byEntry && (last[1] != "Boot"+entry.Num || !ownEntry) {
		t.Errorf("booted by %s %q from %s, not by the disk's own entry Boot%s", last[1], last[2], last[3], entry.Num)
	}
	if !byEntry && (strings.Contains(path, "hd(") || strings.Contains(path, ".efi")) {
		t.Errorf("fresh variables, yet it booted a file by a partition's device path: %s %q from %s", last[1], last[2], last[3])
	}
}

// TestVMUEFIRescueFromBIOS: the same server, but the replacement runs in a system started by
// BIOS (a rescue system): the disks say UEFI, the firmware cannot show it. raidswap syncs the
// ESPs anyway, writes no boot entry and prints the efibootmgr commands for the next UEFI
// boot; each disk then boots alone by the fallback path under OVMF.
func TestVMUEFIRescueFromBIOS(t *testing.T) {
	vmtest.Require(t)
	kernel, err := vmtest.Assets()
	if err != nil {
		t.Fatal(err)
	}
	const marker = "raidswap-uefi-marker: rescued disk booted alone"
	_, share, vars, surv, old, nw := newUEFIRig(t, marker)
	env := map[string]string{"KERNEL": kernel, "RS": testbin.Raidswap(t)}
	setup := vmtest.RunT(t, vmtest.Config{Disks: []vmtest.Disk{surv, old}, Firmware: vmtest.UEFI, UEFIVars: vars, Share: share,
		Timeout: 5 * time.Minute, Env: env, Script: uefiPrelude + uefiLayout + "umount /boot/efi /boot\nmdadm --stop /dev/md0\nsync\necho LAYOUT DONE\n"})
	if setup.ExitCode != 0 || !strings.Contains(setup.Output, "LAYOUT DONE") {
		t.Fatalf("setup failed (%d):\n%s", setup.ExitCode, setup.Output)
	}
	os.Remove(filepath.Join(share, "surv-before.img"))
	// The rescue system: SeaBIOS, no efivars.
	res := vmtest.RunT(t, vmtest.Config{Disks: []vmtest.Disk{surv, old, nw}, Firmware: vmtest.BIOS, Share: share,
		Timeout: 8 * time.Minute, Env: env, Script: uefiPrelude + `
test -d /sys/firmware/efi || echo "BOOTED BY BIOS"
mdadm --stop --scan >/dev/null 2>&1 || true
mdadm --assemble /dev/md0 /dev/vda2 /dev/vdb2 >/dev/null
mkdir -p /boot && mount /dev/md0 /boot && mkdir -p /boot/efi && mount /dev/vda1 /boot/efi
` + uefiReplace})
	if testing.Verbose() || res.ExitCode != 0 {
		t.Logf("guest output:\n%s", res.Output)
	}
	if res.ExitCode != 0 {
		t.Fatalf("the replacement from the rescue system failed (%d)", res.ExitCode)
	}
	golden.Contains(t, res.Output, "BOOTED BY BIOS", "wrote EFI/BOOT/BOOTX64.EFI on the survivor's ESP", "each verified by SHA-256",
		"the firmware's boot entries cannot be written now", "efibootmgr --create-only --disk /dev/vda --part 1 --label 'raidswap WD-SURV'",
		"boots by the fallback path", "SURVIVOR HAS FALLBACK", "ESP TREES IDENTICAL", "REDUNDANT OK", "done: every step of plan")
	if strings.Contains(res.Output, "efi-boot-entry") || strings.Contains(res.Output, "] a firmware boot entry for") {
		t.Error("a boot entry step ran in a system booted by BIOS")
	}
	nw.Unplugged = false
	for _, d := range []vmtest.Disk{surv, nw} {
		t.Run(d.Serial+"/fallback", func(t *testing.T) {
			boot, err := vmtest.BootDiskT(t, vmtest.BootConfig{Disks: []vmtest.Disk{d}, Firmware: vmtest.UEFI, Marker: marker})
			if err != nil {
				t.Fatalf("%s did not boot alone by the fallback path: %v", d.Serial, err)
			}
			t.Logf("%s: marker after %.1fs", d.Serial, boot.Duration.Seconds())
		})
	}
}

// checkStatusBoot reads the status --json the guest wrote and wants each serial's BOOT
// state ok, judged from its own ESP and a boot entry; with -update it keeps the recorded
// Boot#### variables as fixtures (testdata/efivars/ovmf).
func checkStatusBoot(t *testing.T, share string, serials ...string) {
	t.Helper()
	wantStatusBootEntries(t, share, serials...)
	if golden.Update() {
		recordEFIVars(t, share)
	}
}

// wantStatusBootEntries reads the status --json the guest wrote and wants each serial's BOOT
// state ok, judged from its own ESP and a boot entry.
func wantStatusBootEntries(t *testing.T, share string, serials ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(share, "status.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Disks []struct {
			Name   string                `json:"name"`
			Serial string                `json:"serial"`
			Boot   *bootloader.Readiness `json:"boot"`
		} `json:"disks"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, b)
	}
	for _, want := range serials {
		found := false
		for _, d := range st.Disks {
			if d.Serial != want {
				continue
			}
			found = true
			t.Logf("status: %s (%s) boot %+v", d.Name, d.Serial, d.Boot)
			if d.Boot == nil || d.Boot.State != bootloader.BootOK || !strings.Contains(d.Boot.Reason, "boot entry Boot") {
				t.Errorf("status says %s (%s) boot %+v, want ok by a boot entry", d.Name, d.Serial, d.Boot)
			}
		}
		if !found {
			t.Errorf("status lists no disk %s:\n%s", want, b)
		}
	}
}

// recordEFIVars keeps the Boot#### variables the guest recorded as fixtures
// (testdata/efivars/ovmf).
func recordEFIVars(t *testing.T, share string) {
	t.Helper()
	vars, _ := filepath.Glob(filepath.Join(share, "efivars", "Boot*"))
	if len(vars) == 0 {
		t.Fatal("the guest recorded no Boot#### variables")
	}
	os.RemoveAll("testdata/efivars/ovmf")
	if err := os.MkdirAll("testdata/efivars/ovmf", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		if err := vmtest.CopyFile(filepath.Join("testdata/efivars/ovmf", filepath.Base(v)), v); err != nil {
			t.Fatal(err)
		}
	}
	// The PARTUUIDs the entries name, for the unit test of the recorded bytes.
	for _, n := range []string{"surv.partuuid", "new.partuuid"} {
		if err := vmtest.CopyFile(filepath.Join("testdata/efivars/ovmf", n), filepath.Join(share, n)); err != nil {
			t.Fatal(err)
		}
	}
}

// newUEFIRig makes what every UEFI replacement test starts from: a temporary directory, the
// share holding the marker initramfs that proves a boot, three 256 MiB disks (the survivor,
// the failing disk, the new disk unplugged for now) and fresh OVMF variables.
func newUEFIRig(t *testing.T, marker string) (dir, share, vars string, surv, old, nw vmtest.Disk) {
	t.Helper()
	dir = t.TempDir()
	share = filepath.Join(dir, "share")
	if err := os.Mkdir(share, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := vmtest.WriteMarkerInitramfs(filepath.Join(share, "marker.img"), marker); err != nil {
		t.Fatal(err)
	}
	image := func(name string) string {
		p := filepath.Join(dir, name+".img")
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 256<<20); err != nil {
			t.Fatal(err)
		}
		return p
	}
	surv = vmtest.Disk{Serial: "WD-SURV", Image: image("surv")}
	old = vmtest.Disk{Serial: "WD-OLD", Image: image("old")}
	nw = vmtest.Disk{Serial: "WD-NEW", Image: image("new"), Unplugged: true}
	vars = filepath.Join(dir, "vars.fd")
	if err := vmtest.NewUEFIVars(vars); err != nil {
		t.Fatal(err)
	}
	return dir, share, vars, surv, old, nw
}
