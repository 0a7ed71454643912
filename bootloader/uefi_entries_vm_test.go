package bootloader_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// uefiReplaceSerials is uefiReplace for the serials in $SURVS, $OLDS and $NEWS (they may hold
// spaces, '/' and '+'), leaving the firmware's variables as efibootmgr -v shows them in
// after.txt.
const uefiReplaceSerials = `
say "fail and replace"
mdadm /dev/md0 --fail /dev/vdb2 >/dev/null
udevadm trigger --action=change --subsystem-match=block; udevadm settle
$RS --plan --failed "$OLDS" --new "$NEWS"
( await_journal started await-removal; vmtest-hotplug unplug "$OLDS" >/dev/null; sleep 1; vmtest-hotplug plug "$NEWS" >/dev/null ) &
$RS replace --failed "$OLDS" --new "$NEWS" --yes --plain --wait-timeout 3m > /run/rs.out 2>&1 || { cat /run/rs.out; exit 1; }
cat /run/rs.out
wait
NEW=$(vmtest-disk "$NEWS")
blkid -p -o value -s PART_ENTRY_UUID /dev/${NEW}1 > /mnt/share/new.partuuid
mdadm --wait /dev/md0 || true
grep -q '\[UU\]' /proc/mdstat && echo "REDUNDANT OK"
efibootmgr -v > /mnt/share/after.txt
umount /boot/efi /boot
sync
`

// uefiVM runs script on the uefiLayout server (survivor, failed disk, the new disk unplugged,
// and extra disks) under OVMF, and returns the share directory.
func uefiVM(t *testing.T, surv, old, nw string, extra []vmtest.Disk, script string, env map[string]string) string {
	t.Helper()
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
	if err := vmtest.WriteMarkerInitramfs(filepath.Join(share, "marker.img"), "raidswap-uefi-marker"); err != nil {
		t.Fatal(err)
	}
	image := func(name string, size int64) string {
		p := filepath.Join(dir, name+".img")
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, size); err != nil {
			t.Fatal(err)
		}
		return p
	}
	disks := []vmtest.Disk{{Serial: surv, Image: image("surv", 256<<20)}, {Serial: old, Image: image("old", 256<<20)},
		{Serial: nw, Image: image("new", 256<<20), Unplugged: true}}
	for i, d := range extra {
		d.Image = image("extra"+string(rune('a'+i)), 64<<20)
		disks = append(disks, d)
	}
	vars := filepath.Join(dir, "vars.fd")
	if err := vmtest.NewUEFIVars(vars); err != nil {
		t.Fatal(err)
	}
	e := map[string]string{"KERNEL": kernel, "RS": testbin.Raidswap(t), "SURVS": surv, "OLDS": old, "NEWS": nw}
	for k, v := range env {
		e[k] = v
	}
	res := vmtest.RunT(t, vmtest.Config{Disks: disks, Firmware: vmtest.UEFI, UEFIVars: vars, Share: share,
		Timeout: 8 * time.Minute, Env: e, Script: uefiPrelude + uefiLayout + script})
	if testing.Verbose() || res.ExitCode != 0 {
		t.Logf("guest output:\n%s", res.Output)
	}
	if res.ExitCode != 0 {
		t.Fatalf("setup and replacement failed (%d)", res.ExitCode)
	}
	golden.Contains(t, res.Output, "REDUNDANT OK", "done: every step of plan")
	return share
}

func readShare(t *testing.T, share, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(share, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestVMUEFIKeepsOtherSystems: issue 18, item 4, on OVMF with real efivars. The
// administrator boots "Other OS" first; "Other Debian" boots \EFI\debian\grubx64.efi, the
// same path as this system's loader, from a disk that is unplugged for now. The failed disk's
// entry comes second. After the replacement both other entries are there, "Other OS" is
// still first, the failed disk's entry is gone and the new disk's entry is in its place.
func TestVMUEFIKeepsOtherSystems(t *testing.T) {
	const others = `
say "other systems"
O=$(vmtest-disk OTHER)
sgdisk -Z /dev/$O >/dev/null
sgdisk -n1:2048:+8M -t1:ef00 -n2:0:+8M -t2:ef00 /dev/$O >/dev/null
partx -a /dev/$O 2>/dev/null || partx -u /dev/$O
udevadm settle
efibootmgr --create-only --disk /dev/$O --part 1 --label 'Other OS' --loader '\EFI\other\boot.efi' >/dev/null
efibootmgr --create-only --disk /dev/$O --part 2 --label 'Other Debian' --loader '\EFI\debian\grubx64.efi' >/dev/null
num() { efibootmgr | awk -v l="$1" 'substr($0, 11) == l { print substr($1, 5, 4) }'; }
bypart() { efibootmgr -v | grep -iF "$1" | cut -c5-8; }
OS=$(num 'Other OS'); OD=$(num 'Other Debian')
SV=$(bypart "$(cat /mnt/share/surv.partuuid)"); OLD=$(bypart "$(cat /mnt/share/old.partuuid)")
efibootmgr --bootorder $OS,$OLD,$SV,$OD >/dev/null
echo "$OS $OLD $SV $OD" > /mnt/share/nums
efibootmgr -v
vmtest-hotplug unplug OTHER >/dev/null && echo "OTHER UNPLUGGED"
`
	share := uefiVM(t, "WD-SURV", "WD-OLD", "WD-NEW", []vmtest.Disk{{Serial: "OTHER"}}, others+uefiReplaceSerials, nil)
	nums := strings.Fields(readShare(t, share, "nums"))
	if len(nums) != 4 {
		t.Fatalf("entry numbers %q", nums)
	}
	otherOS, oldNum, survNum, otherDebian := nums[0], nums[1], nums[2], nums[3]
	after := readShare(t, share, "after.txt")
	t.Logf("before: BootOrder %s,%s,%s,%s (Other OS, failed disk, survivor, Other Debian); after:\n%s", otherOS, oldNum, survNum, otherDebian, after)
	v, err := bootloader.ParseBootVars([]byte(after))
	if err != nil {
		t.Fatal(err)
	}
	for num, label := range map[string]string{otherOS: "Other OS", otherDebian: "Other Debian"} {
		if e := v.Entry(num); e == nil || e.Label != label {
			t.Errorf("another system's entry Boot%s %q is gone: %+v", num, label, e)
		}
	}
	oldID, newID := readShare(t, share, "old.partuuid"), readShare(t, share, "new.partuuid")
	for _, e := range v.Entries {
		if e.PARTUUID == oldID {
			t.Errorf("the failed disk's entry Boot%s %q is still there", e.Num, e.Label)
		}
	}
	ne := v.EntryFor(newID, `\EFI\debian\grubx64.efi`)
	if ne == nil {
		t.Fatalf("no entry for the new disk's ESP %s", newID)
	}
	if want := []string{otherOS, ne.Num, survNum, otherDebian}; !slices.Equal(v.Order, want) {
		t.Errorf("BootOrder %v, want %v (Other OS first, the new disk's entry in the failed one's place)", v.Order, want)
	}
}

// TestVMUEFISerialLabel: issue 18, item 13, on OVMF. Disks whose serials hold a space, '/'
// and '+' (QEMU's virtio serial= carries all three) are replaced end to end: the plan builds,
// each boot entry is labelled with the serial's safe form, and status finds each disk's
// entry.
func TestVMUEFISerialLabel(t *testing.T) {
	const surv, old, nw = "WD S/1+A", "WD O/3+C", "WD N/2+B"
	// Without the installer's entry for the survivor, raidswap makes one for it too.
	const dropSurvivorEntry = `
efibootmgr -b "$(efibootmgr -v | grep -iF "$(cat /mnt/share/surv.partuuid)" | cut -c5-8)" -B >/dev/null
cat /sys/block/vda/serial; echo
`
	share := uefiVM(t, surv, old, nw, nil, dropSurvivorEntry+uefiReplaceSerials+uefiStatus, nil)
	after := readShare(t, share, "after.txt")
	t.Logf("after:\n%s", after)
	v, err := bootloader.ParseBootVars([]byte(after))
	if err != nil {
		t.Fatal(err)
	}
	loader := `\EFI\debian\grubx64.efi`
	newID := readShare(t, share, "new.partuuid")
	ne := v.EntryFor(newID, loader)
	if ne == nil {
		t.Fatalf("no entry for the new disk's ESP %s", newID)
	}
	if want := "raidswap WD%20N%2F2%2BB"; ne.Label != want || ne.Label != bootloader.EntryLabel(nw) {
		t.Errorf("new disk's entry is labelled %q, want %q", ne.Label, want)
	}
	if se := v.EntryFor(readShare(t, share, "surv.partuuid"), loader); se == nil || se.Label != bootloader.EntryLabel(surv) {
		t.Errorf("survivor's entry %+v, want one labelled %q", se, bootloader.EntryLabel(surv))
	}
	checkStatusBoot(t, share, surv, nw)
}
