package bootloader

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/host/hosttest"
)

func verifyFixture(t *testing.T, mounts string) (*host.Root, string) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "proc/self"), 0o755)
	os.WriteFile(filepath.Join(dir, "proc/self/mounts"), []byte(mounts), 0o644)
	os.MkdirAll(filepath.Join(dir, "sys/firmware/efi"), 0o755)
	return host.NewRoot(dir), dir
}

func mountExpect(root *host.Root, e ESPRef, files map[string]string) []hosttest.Expect {
	dir := root.Path(ESPMountDir(e.Serial, strings.TrimPrefix(e.Dev, "/dev/")))
	return []hosttest.Expect{
		{Argv: []string{host.Mount, "-t", "vfat", "-o", "ro,nodev,nosuid,noexec", e.Dev, dir}, Do: func() { writeESPTree(nil, dir, files) }},
		{Argv: []string{host.Umount, dir}, Do: func() { os.RemoveAll(filepath.Join(dir, "EFI")) }},
	}
}

func TestVerifyUEFI(t *testing.T) {
	a := ESPRef{Disk: "vda", Serial: "WD-A", Dev: "/dev/vda1", PARTUUID: "c9f42866-ee88-4004-a032-2dbf3696c113"}
	b := ESPRef{Disk: "vdb", Serial: "WD-B", Dev: "/dev/vdb1", PARTUUID: "7a4006c6-5042-4cf5-b2e5-f5a86e21c793"}
	entries := string(mustRead(t, "testdata/efibootmgr/ovmf-two-entries-v17.txt"))
	// The recorded entries boot grubx64.efi from A and shimx64.efi from B.
	loader := "EFI/debian/grubx64.efi"
	good := map[string]string{"EFI/debian/grubx64.efi": "grub", "EFI/BOOT/BOOTX64.EFI": "grub"}
	for name, tc := range map[string]struct {
		bFiles  map[string]string
		list    hosttest.Expect
		state   [2]BootState
		reasonB string
	}{
		"B has no entry": {good, hosttest.Expect{Stdout: entries}, [2]BootState{BootOK, BootMissing}, "no firmware boot entry"},
		"B differs": {map[string]string{"EFI/debian/grubx64.efi": "older grub", "EFI/BOOT/BOOTX64.EFI": "grub"}, hosttest.Expect{Stdout: entries},
			[2]BootState{BootOK, BootMissing}, "differs from vda (WD-A)'s: EFI/debian/grubx64.efi has"},
		"B has no fallback": {map[string]string{"EFI/debian/grubx64.efi": "grub"}, hosttest.Expect{Stdout: entries}, [2]BootState{BootOK, BootMissing}, "no removable fallback path"},
		"efivars unreadable": {good, hosttest.Expect{Stdout: "EFI variables are not supported on this system.\n", Exit: 2},
			[2]BootState{BootOK, BootOK}, "boots by the fallback path; boot entries not readable (efivarfs is not mounted"},
	} {
		t.Run(name, func(t *testing.T) {
			root, _ := verifyFixture(t, "")
			r := hosttest.NewFakeRunner(t, mountExpect(root, a, good)...)
			r.Add(mountExpect(root, b, tc.bFiles)...)
			tc.list.Argv = ListArgv()
			r.Add(tc.list)
			got := VerifyUEFI(context.Background(), r, root, []ESPRef{a, b}, loader)
			if got[0].State != tc.state[0] || got[1].State != tc.state[1] || !strings.Contains(got[1].Reason, tc.reasonB) {
				t.Errorf("got %+v", got)
			}
			if name == "B has no entry" && got[0].Entry != "Boot0001" {
				t.Errorf("A's entry: %+v", got[0])
			}
		})
	}
	t.Run("mount fails", func(t *testing.T) {
		root, _ := verifyFixture(t, "")
		dir := root.Path(ESPMountDir(a.Serial, "vda1"))
		r := hosttest.NewFakeRunner(t, hosttest.Expect{Argv: []string{host.Mount, "-t", "vfat", "-o", "ro,nodev,nosuid,noexec", a.Dev, dir}, Exit: 32, Stderr: "wrong fs type"})
		r.Add(mountExpect(root, b, good)...)
		r.Add(hosttest.Expect{Argv: ListArgv(), Stdout: entries})
		got := VerifyUEFI(context.Background(), r, root, []ESPRef{a, b}, loader)
		if got[0].State != BootUnknown || !strings.Contains(got[0].Reason, "the ESP /dev/vda1 of vda (WD-A) could not be mounted") || got[1].State != BootUnknown {
			t.Errorf("got %+v", got)
		}
	})
}

func TestMountESPBindsAMountedESPReadOnly(t *testing.T) {
	root, _ := verifyFixture(t, "/dev/vda1 /boot/efi vfat rw,relatime 0 0\n")
	e := ESPRef{Disk: "vda", Serial: "WD-A", Dev: "/dev/vda1"}
	dir := root.Path(ESPMountDir("WD-A", "vda1"))
	r := hosttest.NewFakeRunner(t, hosttest.Expect{Argv: []string{host.Mount, "--bind", "-o", "ro", root.Path("/boot/efi"), dir}},
		hosttest.Expect{Argv: []string{host.Umount, dir}})
	got, release, err := MountESP(context.Background(), r, root, e, true)
	if err != nil || got != dir {
		t.Fatalf("%q %v", got, err)
	}
	if err := release(); err != nil {
		t.Error(err)
	}
}
