package exec

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// The UEFI handlers against a fake Runner: mount fills the private mount directory from a
// fixture tree (what the kernel would show), umount empties it; blkid and efibootmgr answer
// recorded outputs.

const (
	survUUID = "c9f42866-ee88-4004-a032-2dbf3696c113"
	newUUID  = "7a4006c6-5042-4cf5-b2e5-f5a86e21c793"
	deadUUID = "deadbeef-0000-4000-8000-00000000dead"
)

type uefiFixture struct {
	t    *testing.T
	root string
	fake *hosttest.FakeRunner
	r    *run
	say  *[]string
}

type uefiSayView struct {
	nopView
	said *[]string
}

func (v uefiSayView) Say(s string) { *v.said = append(*v.said, s) }

func newUEFIFixture(t *testing.T, efivars string) *uefiFixture {
	root := t.TempDir()
	old := uefiRoot
	uefiRoot = host.NewRoot(root)
	t.Cleanup(func() { uefiRoot = old })
	os.MkdirAll(filepath.Join(root, "proc/self"), 0o755)
	os.WriteFile(filepath.Join(root, "proc/self/mounts"), []byte(efivars), 0o644)
	os.MkdirAll(filepath.Join(root, "sys/firmware/efi/efivars"), 0o755)
	sys := plantest.Seed()
	sys.Disks = append(sys.Disks, plantest.Disk("vdc", plantest.New))
	j, err := journal.Open(t.TempDir(), "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	fake := hosttest.NewFakeRunner(t)
	said := &[]string{}
	p := &plan.Plan{Disks: plan.Disks{Survivor: plan.DiskRef{Device: "vda", Serial: plantest.Survivor}, New: plan.NewDisk{Serial: plantest.New}}}
	r := &run{p: p, o: Options{Runner: fake, View: uefiSayView{said: said}}, j: j, res: &Result{},
		w: &world{sys: sys, newSerial: plantest.New}}
	r.wire(io.Discard)
	return &uefiFixture{t: t, root: root, fake: fake, r: r, say: said}
}

const rwEFIVars = "efivarfs /sys/firmware/efi/efivars efivarfs rw,nosuid,nodev,noexec,relatime 0 0\n"

func blkid(fat, partuuid string) string {
	s := "PART_ENTRY_UUID=" + partuuid + "\nPART_ENTRY_TYPE=" + bootloader.ESPTypeGUID + "\nPART_ENTRY_NUMBER=1\nPART_ENTRY_SIZE=131072\n"
	if fat != "" {
		s = "TYPE=vfat\nVERSION=" + fat + "\nLABEL=ESP\nUUID=EEA3-787A\n" + s
	}
	return s
}

// mount expects the mount of dev at its private directory, filling it with files.
func (f *uefiFixture) mount(dev, serial string, ro bool, files map[string]string) []hosttest.Expect {
	dir := uefiRoot.Path(bootloader.ESPMountDir(serial, strings.TrimPrefix(dev, "/dev/")))
	opts := "rw,nodev,nosuid,noexec"
	if ro {
		opts = "ro,nodev,nosuid,noexec"
	}
	return []hosttest.Expect{{Argv: []string{host.Mount, "-t", "vfat", "-o", opts, dev, dir}, Do: func() {
		for p, c := range files {
			full := filepath.Join(dir, p)
			os.MkdirAll(filepath.Dir(full), 0o755)
			os.WriteFile(full, []byte(c), 0o644)
		}
	}}}
}

func (f *uefiFixture) umount(dev, serial string) hosttest.Expect {
	dir := uefiRoot.Path(bootloader.ESPMountDir(serial, strings.TrimPrefix(dev, "/dev/")))
	return hosttest.Expect{Argv: []string{host.Umount, dir}, Do: func() {
		es, _ := os.ReadDir(dir)
		for _, e := range es {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}}
}

var grubESP = map[string]string{"EFI/debian/grubx64.efi": "grub core", "EFI/BOOT/BOOTX64.EFI": "grub core"}

func TestUEFISyncCopiesAndRefusesForeignFS(t *testing.T) {
	f := newUEFIFixture(t, rwEFIVars)
	s := plan.Step{ID: "12-esp-sync-new", Action: plan.ActionESPSync, Target: plan.Target{Device: "{new:1}",
		UEFI: &plan.UEFITarget{Part: 1, From: "vda1", FromSerial: plantest.Survivor, VolumeID: "EEA3-787A"}}}
	var copied map[string]string
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vdc1"), Stdout: blkid("FAT32", newUUID)})
	f.fake.Add(f.mount("/dev/vda1", plantest.Survivor, true, grubESP)...)
	newDir := uefiRoot.Path(bootloader.ESPMountDir(plantest.New, "vdc1"))
	f.fake.Add(f.mount("/dev/vdc1", plantest.New, false, nil)...)
	f.fake.Add(hosttest.Expect{Argv: []string{host.Umount, newDir}, Do: func() {
		copied = map[string]string{}
		for p := range grubESP {
			b, _ := os.ReadFile(filepath.Join(newDir, p))
			copied[p] = string(b)
		}
	}}, f.umount("/dev/vda1", plantest.Survivor))
	if err := f.r.doUEFI(context.Background(), s, nil); err != nil {
		t.Fatal(err)
	}
	for p, c := range grubESP {
		if copied[p] != c {
			t.Errorf("%s on the new ESP = %q, want %q", p, copied[p], c)
		}
	}
	if !strings.Contains(strings.Join(*f.say, "\n"), "copied 2 files") {
		t.Errorf("said %q", *f.say)
	}
	// A file system the esp-mkfs step did not make is refused before anything is mounted.
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vdc1"), Stdout: strings.Replace(blkid("FAT32", newUUID), "EEA3-787A", "1234-5678", 1)})
	err := f.r.doUEFI(context.Background(), s, nil)
	var re *RefusedError
	if !errors.As(err, &re) || re.Device != "/dev/vdc1" || re.Serial != plantest.New || !strings.Contains(err.Error(), "does not hold the FAT file system the esp-mkfs step made") {
		t.Errorf("foreign FS: %v", err)
	}
}

func TestUEFIFormatRefusesDataAndSkipsItsOwn(t *testing.T) {
	f := newUEFIFixture(t, rwEFIVars)
	argv, _ := bootloader.MkfsESP("/dev/vdc1", 32, "ESP", "EEA3-787A")
	s := plan.Step{ID: "11-esp-mkfs-new", Action: plan.ActionESPFormat, Target: plan.Target{Device: "{new:1}",
		UEFI: &plan.UEFITarget{Part: 1, FATBits: 32, Label: "ESP", VolumeID: "EEA3-787A"}}}
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vdc1"), Stdout: "TYPE=ext4\nUUID=0c6b\n" + blkid("", newUUID)})
	err := f.r.doUEFI(context.Background(), s, argv)
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "holds a ext4 file system") || re.Serial != plantest.New {
		t.Errorf("ext4 on the new ESP: %v", err)
	}
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vdc1"), Stdout: blkid("", newUUID)},
		hosttest.Expect{Argv: argv},
		hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vdc1"), Stdout: blkid("FAT32", newUUID)})
	if err := f.r.doUEFI(context.Background(), s, argv); err != nil {
		t.Fatal(err)
	}
	// Resumed: the file system is the one raidswap made; mkfs does not run again.
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vdc1"), Stdout: blkid("FAT32", newUUID)})
	if err := f.r.doUEFI(context.Background(), s, argv); err != nil {
		t.Fatal(err)
	}
	// Not an ESP by its partition type.
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vdc1"), Stdout: strings.Replace(blkid("", newUUID), bootloader.ESPTypeGUID, "a19d880f-05fc-4d3b-a006-743f0f84911e", 1)})
	if err := f.r.doUEFI(context.Background(), s, argv); err == nil || !strings.Contains(err.Error(), "not an EFI System Partition") {
		t.Errorf("wrong partition type: %v", err)
	}
}

func TestUEFIEntriesAndOrder(t *testing.T) {
	f := newUEFIFixture(t, rwEFIVars)
	loader := `\EFI\debian\grubx64.efi`
	before := "BootCurrent: 0001\nBootOrder: 0001,0002,0000\n" +
		"Boot0000* UiApp\tFvVol(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(462caa21-7614-4503-836e-8ab6f4662331)\n" +
		"Boot0001* debian\tHD(1,GPT," + survUUID + ",0x800,0x20000)/File(" + loader + ")\n" +
		"Boot0002* debian\tHD(1,GPT," + deadUUID + ",0x800,0x20000)/File(" + loader + ")\n"
	withNew := before + "Boot0003* raidswap WD-NEW\tHD(1,GPT," + newUUID + ",0x800,0x20000)/File(" + loader + ")\n"
	survEntry := plan.Step{ID: "13-efi-boot-entry-vda", Action: plan.ActionEFIEntry, Target: plan.Target{Device: "vda", Serial: plantest.Survivor,
		UEFI: &plan.UEFITarget{Part: 1, Loader: "EFI/debian/grubx64.efi", PARTUUID: survUUID}}}
	// The survivor's entry exists (made by the installer): nothing is created.
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vda1"), Stdout: blkid("FAT32", survUUID)},
		hosttest.Expect{Argv: bootloader.ListArgv(), Stdout: before})
	if err := f.r.doUEFI(context.Background(), survEntry, nil); err != nil {
		t.Fatal(err)
	}
	newEntry := plan.Step{ID: "14-efi-boot-entry-new", Action: plan.ActionEFIEntry, Target: plan.Target{Device: "{new}",
		UEFI: &plan.UEFITarget{Part: 1, Loader: "EFI/debian/grubx64.efi"}}}
	argv, err := plan.Derive(host.Profile{}, &plan.Plan{}, newEntry)
	if err != nil {
		t.Fatal(err)
	}
	argv, _ = plan.Expand(argv, "vdc")
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vdc1"), Stdout: blkid("FAT32", newUUID)},
		hosttest.Expect{Argv: bootloader.ListArgv(), Stdout: before},
		hosttest.Expect{Argv: bootloader.CreateEntryArgv("/dev/vdc", 1, bootloader.EntryLabel(plantest.New), loader)},
		hosttest.Expect{Argv: bootloader.ListArgv(), Stdout: withNew})
	if err := f.r.doUEFI(context.Background(), newEntry, argv); err != nil {
		t.Fatal(err)
	}
	order := plan.Step{ID: "15-efi-boot-order", Action: plan.ActionEFIBootOrder, Target: plan.Target{
		UEFI: &plan.UEFITarget{Part: 1, Loader: "EFI/debian/grubx64.efi", Serials: []string{plantest.Survivor, plantest.New}, Failed: plantest.Old, FailedPARTUUID: deadUUID}}}
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vda1"), Stdout: blkid("FAT32", survUUID)},
		hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vdc1"), Stdout: blkid("FAT32", newUUID)},
		hosttest.Expect{Argv: bootloader.ListArgv(), Stdout: withNew})
	f.fake.Add(hosttest.Expect{Argv: bootloader.BootOrderArgv([]string{"0001", "0003", "0000"})},
		hosttest.Expect{Argv: bootloader.DeleteEntryArgv("0002")})
	if err := f.r.doUEFI(context.Background(), order, nil); err != nil {
		t.Fatal(err)
	}
	said := strings.Join(*f.say, "\n")
	for _, want := range []string{`Boot0001 "debian" already boots`, `Boot0003 "raidswap WD-NEW" boots`, "removed Boot0002", "BootOrder 0001,0003,0000 (was 0001,0002,0000"} {
		if !strings.Contains(said, want) {
			t.Errorf("missing %q in\n%s", want, said)
		}
	}
}

// TestUEFIBootOrderKeepsOtherSystems: issue 18, item 4. The administrator boots "Other OS"
// first; "Other Debian" boots the same loader path from a disk unplugged for now. Only the
// failed disk's entries go (the one on its ESP and raidswap's own for its serial), and the
// new disk's entry takes the failed one's place: Other OS stays first.
func TestUEFIBootOrderKeepsOtherSystems(t *testing.T) {
	const loader = `\EFI\debian\grubx64.efi`
	const otherDebian = "0dddd000-0000-4000-8000-00000000dddd"
	vars := "BootCurrent: 0001\nBootOrder: 0004,0002,0001,0005,0006\n" +
		"Boot0001* debian\tHD(1,GPT," + survUUID + ",0x800,0x20000)/File(" + loader + ")\n" +
		"Boot0002* debian\tHD(1,GPT," + deadUUID + ",0x800,0x20000)/File(" + loader + ")\n" +
		"Boot0003* raidswap WD-NEW\tHD(1,GPT," + newUUID + ",0x800,0x20000)/File(" + loader + ")\n" +
		"Boot0004* Other OS\tHD(2,GPT,0cccc000-0000-4000-8000-00000000cccc,0x800,0x20000)/File(\\EFI\\other\\boot.efi)\n" +
		"Boot0005* Other Debian\tHD(1,GPT," + otherDebian + ",0x800,0x20000)/File(" + loader + ")\n" +
		"Boot0006* " + bootloader.EntryLabel(plantest.Old) + "\tHD(1,GPT,0bbbb000-0000-4000-8000-00000000bbbb,0x800,0x20000)/File(" + loader + ")\n"
	order := plan.Step{ID: "15-efi-boot-order", Action: plan.ActionEFIBootOrder, Target: plan.Target{
		UEFI: &plan.UEFITarget{Part: 1, Loader: "EFI/debian/grubx64.efi", Serials: []string{plantest.Survivor, plantest.New}, Failed: plantest.Old, FailedPARTUUID: deadUUID}}}
	f := newUEFIFixture(t, rwEFIVars)
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vda1"), Stdout: blkid("FAT32", survUUID)},
		hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vdc1"), Stdout: blkid("FAT32", newUUID)},
		hosttest.Expect{Argv: bootloader.ListArgv(), Stdout: vars},
		// The fake Runner fails the test on any other command: no deletion of 0005 or 0004.
		hosttest.Expect{Argv: bootloader.BootOrderArgv([]string{"0004", "0003", "0001", "0005"})},
		hosttest.Expect{Argv: bootloader.DeleteEntryArgv("0002")},
		hosttest.Expect{Argv: bootloader.DeleteEntryArgv("0006")})
	if err := f.r.doUEFI(context.Background(), order, nil); err != nil {
		t.Fatal(err)
	}
	said := strings.Join(*f.say, "\n")
	for _, want := range []string{`removed Boot0002 "debian": it boots from the failed disk's ESP`, `removed Boot0006 "raidswap WD-OLD": raidswap's entry for the failed disk`} {
		if !strings.Contains(said, want) {
			t.Errorf("missing %q in\n%s", want, said)
		}
	}
}

func TestUEFIEntryRefusesWithoutWritableEFIVars(t *testing.T) {
	for name, mounts := range map[string]string{
		"read-only":   strings.Replace(rwEFIVars, "rw,", "ro,", 1),
		"not mounted": "proc /proc proc rw 0 0\n",
	} {
		f := newUEFIFixture(t, mounts)
		s := plan.Step{ID: "13-efi-boot-entry-vda", Action: plan.ActionEFIEntry, Target: plan.Target{Device: "vda", Serial: plantest.Survivor,
			UEFI: &plan.UEFITarget{Part: 1, Loader: "EFI/debian/grubx64.efi"}}}
		f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vda1"), Stdout: blkid("FAT32", survUUID)})
		err := f.r.doUEFI(context.Background(), s, nil)
		var re *RefusedError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "mount") || !strings.Contains(err.Error(), "then resume") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestUEFIFallbackWritesOnlyTheFallback(t *testing.T) {
	f := newUEFIFixture(t, rwEFIVars)
	s := plan.Step{ID: "10-esp-fallback-vda1", Action: plan.ActionESPFallback, Target: plan.Target{Device: "vda1", Serial: plantest.Survivor,
		UEFI: &plan.UEFITarget{Part: 1, Loader: "EFI/debian/grubx64.efi"}}}
	dir := uefiRoot.Path(bootloader.ESPMountDir(plantest.Survivor, "vda1"))
	var tree []bootloader.File
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vda1"), Stdout: blkid("FAT32", survUUID)})
	f.fake.Add(f.mount("/dev/vda1", plantest.Survivor, false, map[string]string{"EFI/debian/grubx64.efi": "grub core"})...)
	f.fake.Add(hosttest.Expect{Argv: []string{host.Umount, dir}, Do: func() { tree, _ = bootloader.ReadTree(dir) }})
	if err := f.r.do(context.Background(), s, nil); err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range tree {
		if !e.Dir {
			files = append(files, e.Path)
		}
	}
	if strings.Join(files, ",") != "EFI/BOOT/BOOTX64.EFI,EFI/debian/grubx64.efi" {
		t.Errorf("the survivor's ESP after the step: %v", files)
	}
	// Through do, the safety check runs first: a survivor whose serial moved is refused.
	f.r.w.sys.Disks[0].Serial = "WD-OTHER"
	if err := f.r.do(context.Background(), s, nil); err == nil {
		t.Error("a disk with another serial was written")
	}
}

// TestUEFIFallbackOnMDWritesThroughTheArray: an ESP on md RAID1 gets its fallback path
// written through the array (md copies it to every member), never on a member partition,
// which md owns (issue 17, item 5).
func TestUEFIFallbackOnMDWritesThroughTheArray(t *testing.T) {
	f := newUEFIFixture(t, rwEFIVars)
	f.r.w.sys = plantest.ESPOnMD()
	s := plan.Step{ID: "10-esp-fallback-vda1", Action: plan.ActionESPFallback, Target: plan.Target{Device: "vda1", Serial: plantest.Survivor,
		UEFI: &plan.UEFITarget{Part: 1, Loader: "EFI/debian/grubx64.efi", MDArray: "md127"}}}
	dir := uefiRoot.Path(bootloader.ESPMountDir(plantest.Survivor, "md127"))
	var tree []bootloader.File
	member := strings.Replace(blkid("", survUUID), "PART_ENTRY_UUID", "TYPE=linux_raid_member\nPART_ENTRY_UUID", 1)
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vda1"), Stdout: member})
	f.fake.Add(f.mount("/dev/md127", plantest.Survivor, false, map[string]string{"EFI/debian/grubx64.efi": "grub core"})...)
	f.fake.Add(hosttest.Expect{Argv: []string{host.Umount, dir}, Do: func() { tree, _ = bootloader.ReadTree(dir) }})
	if err := f.r.do(context.Background(), s, nil); err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range tree {
		if !e.Dir {
			files = append(files, e.Path)
		}
	}
	if strings.Join(files, ",") != "EFI/BOOT/BOOTX64.EFI,EFI/debian/grubx64.efi" {
		t.Errorf("the ESP array after the step: %v", files)
	}
	if !strings.Contains(strings.Join(*f.say, "\n"), "/dev/md127") {
		t.Errorf("said: %q", *f.say)
	}
}
