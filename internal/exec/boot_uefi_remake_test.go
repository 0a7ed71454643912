package exec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// The only ESP was on the failed disk (issue 17, item 14): esp-grub-install runs the
// distribution's grub-install into the new ESP at its private mount, then writes the
// fallback path; a resumed step finds the loader and runs nothing; an ESP the esp-mkfs step
// did not make is refused before anything is mounted. efi-boot-order then puts the new
// disk's entry in the failed one's place with no survivor entry to keep.
func TestUEFIInstallIntoTheRemadeESP(t *testing.T) {
	f := newUEFIFixture(t, rwEFIVars)
	u := &plan.UEFITarget{Part: 1, BootloaderID: "debian", Loader: "EFI/debian/grubx64.efi", VolumeID: "EEA3-787A"}
	s := plan.Step{ID: "20-esp-grub-install-new", Action: plan.ActionESPInstall, Target: plan.Target{Device: "{new:1}", Serial: plantest.New, UEFI: u}}
	argv, err := plan.Derive(host.Profile{}, &plan.Plan{}, s)
	if err != nil {
		t.Fatal(err)
	}
	dir := uefiRoot.Path(bootloader.ESPMountDir(plantest.New, "vdc1"))
	want := bootloader.GrubInstallEFIArgv(dir, "debian", false)
	var fallback string
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vdc1"), Stdout: blkid("FAT32", newUUID)})
	f.fake.Add(f.mount("/dev/vdc1", plantest.New, false, nil)...)
	f.fake.Add(hosttest.Expect{Argv: want, Do: func() {
		p := filepath.Join(dir, "EFI/debian/grubx64.efi")
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("grub core"), 0o644)
	}}, hosttest.Expect{Argv: []string{host.Umount, dir}, Do: func() {
		b, _ := os.ReadFile(filepath.Join(dir, bootloader.FallbackPath))
		fallback = string(b)
		os.RemoveAll(filepath.Join(dir, "EFI"))
	}})
	if err := f.r.doUEFI(context.Background(), s, argv); err != nil {
		t.Fatal(err)
	}
	if fallback != "grub core" {
		t.Errorf("the fallback path holds %q, not the loader grub-install wrote", fallback)
	}
	said := strings.Join(*f.say, "\n")
	if !strings.Contains(said, "installed GRUB into the new ESP /dev/vdc1") || !strings.Contains(said, "wrote "+bootloader.FallbackPath) {
		t.Errorf("said %q", said)
	}
	// Resumed: the loader is there; grub-install does not run again (the fake Runner fails
	// the test on any command it does not expect).
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vdc1"), Stdout: blkid("FAT32", newUUID)})
	f.fake.Add(f.mount("/dev/vdc1", plantest.New, false, map[string]string{"EFI/debian/grubx64.efi": "grub core", bootloader.FallbackPath: "grub core"})...)
	f.fake.Add(f.umount("/dev/vdc1", plantest.New))
	if err := f.r.doUEFI(context.Background(), s, argv); err != nil {
		t.Fatal(err)
	}
	// A file system esp-mkfs did not make.
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vdc1"), Stdout: strings.Replace(blkid("FAT32", newUUID), "EEA3-787A", "1234-5678", 1)})
	err = f.r.doUEFI(context.Background(), s, argv)
	var re *RefusedError
	if !errors.As(err, &re) || re.Serial != plantest.New || !strings.Contains(err.Error(), "does not hold the FAT file system the esp-mkfs step made") {
		t.Errorf("foreign FS: %v", err)
	}

	// efi-boot-order with no survivor ESP: the new entry takes the failed one's place.
	const loader = `\EFI\debian\grubx64.efi`
	vars := "BootCurrent: 0002\nBootOrder: 0004,0002,0000\n" +
		"Boot0000* UiApp\tFvVol(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(462caa21-7614-4503-836e-8ab6f4662331)\n" +
		"Boot0002* debian\tHD(1,GPT," + deadUUID + ",0x800,0x20000)/File(" + loader + ")\n" +
		"Boot0003* raidswap WD-NEW\tHD(1,GPT," + newUUID + ",0x800,0x20000)/File(" + loader + ")\n" +
		"Boot0004* Other OS\tHD(2,GPT,0cccc000-0000-4000-8000-00000000cccc,0x800,0x20000)/File(\\EFI\\other\\boot.efi)\n"
	order := plan.Step{ID: "22-efi-boot-order", Action: plan.ActionEFIBootOrder, Target: plan.Target{
		UEFI: &plan.UEFITarget{Part: 1, Loader: "EFI/debian/grubx64.efi", Serials: []string{plantest.Survivor, plantest.New}, Failed: plantest.Old, FailedPARTUUID: deadUUID, OnlyNew: true}}}
	f.fake.Add(hosttest.Expect{Argv: bootloader.ProbeESPArgv("/dev/vdc1"), Stdout: blkid("FAT32", newUUID)},
		hosttest.Expect{Argv: bootloader.ListArgv(), Stdout: vars},
		hosttest.Expect{Argv: bootloader.BootOrderArgv([]string{"0004", "0003", "0000"})},
		hosttest.Expect{Argv: bootloader.DeleteEntryArgv("0002")})
	if err := f.r.doUEFI(context.Background(), order, nil); err != nil {
		t.Fatal(err)
	}
	if said := strings.Join(*f.say, "\n"); !strings.Contains(said, "BootOrder 0004,0003,0000 (was 0004,0002,0000; new disk 0003; the survivor has no ESP)") {
		t.Errorf("said %q", said)
	}
}
