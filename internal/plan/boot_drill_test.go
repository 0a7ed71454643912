package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/host"
)

// TestDrillBootSteps: a drill's /boot is its array mounted at <lab>/boot (discovery under a
// discover.Scope gives these facts: BIOS, no debconf). The plan then installs GRUB on the
// survivor and the new disk with --boot-directory=<lab>/boot, mounts nothing and sets no
// debconf; the executor's derivation refuses a boot directory that is not a plain path.
func TestDrillBootSteps(t *testing.T) {
	const bootDir = "/var/lib/raidswap/drill/drill-20261201-180000-ab12/boot"
	s := seedWith(func(f *bootloader.Facts) {
		f.Boot.Mountpoint = bootDir
		f.DebconfGrubPC, f.InstallDevices = false, nil
	})()
	s.Arrays[1].Mountpoints = []string{bootDir} // md0
	p, err := Build(s, scenarios[0].req, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	var boots [][]string
	for _, st := range p.Steps {
		switch st.Action {
		case ActionMountBoot, ActionUnmountBoot, ActionDebconfDevices:
			t.Errorf("step %s (%s) in a drill's plan", st.ID, st.Action)
		case ActionBootloader:
			if st.Target.BootDir != bootDir {
				t.Errorf("step %s: BootDir %q", st.ID, st.Target.BootDir)
			}
			argv, err := Derive(host.Profile{}, p, st)
			if err != nil {
				t.Fatal(err)
			}
			boots = append(boots, argv)
		}
	}
	want := [][]string{
		{"/usr/sbin/grub-install", "--target=i386-pc", "--boot-directory=" + bootDir, "--modules=part_gpt mdraid1x ext2", "/dev/vda"},
		{"/usr/sbin/grub-install", "--target=i386-pc", "--boot-directory=" + bootDir, "--modules=part_gpt mdraid1x ext2", NewDiskToken},
	}
	if len(boots) != 2 || !slices.Equal(boots[0], want[0]) || !slices.Equal(boots[1], want[1]) {
		t.Errorf("boot steps %q, want %q", boots, want)
	}
	for _, bad := range []string{"/boot", "relative", "/x/../boot", "/x y", "/x\n--force"} {
		st := p.Steps[slices.IndexFunc(p.Steps, func(st Step) bool { return st.Action == ActionBootloader })]
		st.Target.BootDir = bad
		if _, err := Derive(host.Profile{}, p, st); err == nil || !strings.Contains(err.Error(), "boot directory") {
			t.Errorf("BootDir %q: %v", bad, err)
		}
	}
}

// TestDrillBootOnRoot: a drill copied from a host whose /boot is a directory on its root
// array (--like-host) has that array mounted at <lab>/root: GRUB goes in with
// --boot-directory=<lab>/root/boot; a host's own root array at / keeps the plain command.
func TestDrillBootOnRoot(t *testing.T) {
	const root = "/var/lib/raidswap/drill/drill-20261201-180000-ab12/root"
	for mp, want := range map[string]string{root: "--boot-directory=" + root + "/boot", "/": ""} {
		s := seedWith(func(f *bootloader.Facts) {
			f.Boot.Mountpoint, f.Boot.OnRoot = mp, true
			f.DebconfGrubPC, f.InstallDevices = false, nil
		})()
		p, err := Build(s, scenarios[0].req, testOpts)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, st := range p.Steps {
			if st.Action != ActionBootloader {
				continue
			}
			n++
			argv, err := Derive(host.Profile{}, p, st)
			if err != nil {
				t.Fatal(err)
			}
			has := want == "" && !strings.Contains(strings.Join(argv, " "), "--boot-directory") || want != "" && slices.Contains(argv, want)
			if !has {
				t.Errorf("/ at %s: %s: %q, want %q", mp, st.ID, argv, want)
			}
		}
		if n != 2 {
			t.Errorf("/ at %s: %d bootloader steps", mp, n)
		}
	}
}
