package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// TestPlanProfile: the plan names each program as the system's distribution profile does,
// shows the preflight first with every program it runs (and those not found now, with their
// package), and says that a family without debconf keeps no list of GRUB's disks.
func TestPlanProfile(t *testing.T) {
	rhelOS := host.OSRelease{ID: "rhel", IDLike: []string{"fedora"}, Name: "Red Hat Enterprise Linux 9.4"}
	for _, tc := range []struct {
		name         string
		prof         host.Profile
		has, hasNot  []string
		firstIsCheck bool
	}{
		{name: "debian, nothing found (a capture)", prof: host.Profile{Family: host.FamilyDebian},
			has:    []string{"01-preflight: check that every program this plan runs exists and is executable: /sbin/swapoff, /sbin/mdadm, /sbin/mkswap, /sbin/swapon, /usr/sbin/grub-install (debian family)", "$ /usr/sbin/grub-install --target=i386-pc"},
			hasNot: []string{"Not found now", "keeps no list"}},
		{name: "rhel, found", prof: host.Profile{Family: host.FamilyRHEL, OS: rhelOS, Live: true, Programs: map[string]string{
			host.Mdadm: "/usr/sbin/mdadm", host.Swapoff: "/usr/sbin/swapoff", host.Swapon: "/usr/sbin/swapon", host.Mkswap: "/usr/sbin/mkswap", host.GrubInstall: "/usr/sbin/grub2-install"}},
			has: []string{"exists and is executable: /usr/sbin/swapoff, /usr/sbin/mdadm, /usr/sbin/mkswap, /usr/sbin/swapon, /usr/sbin/grub2-install (Red Hat Enterprise Linux 9.4, rhel family)",
				"$ /usr/sbin/grub2-install --target=i386-pc '--modules=part_gpt mdraid1x ext2' /dev/vda", "files under /boot/grub2;",
				"boot: the rhel family keeps no list of the disks GRUB is installed on (Debian's debconf grub-pc/install_devices): nothing to update there"},
			hasNot: []string{"Not found now", "/usr/sbin/grub-install"}},
		{name: "rhel, grub2-install not found now", prof: host.Profile{Family: host.FamilyRHEL, OS: rhelOS, Live: true, Programs: map[string]string{
			host.Mdadm: "/usr/sbin/mdadm", host.Swapoff: "/usr/sbin/swapoff", host.Swapon: "/usr/sbin/swapon", host.Mkswap: "/usr/sbin/mkswap"}},
			has: []string{"Not found now: /usr/sbin/grub2-install, which this plan runs, does not exist or is not executable: install grub2-tools (rhel family) and run raidswap again"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := plantest.Seed()
			sys.Host.Profile = tc.prof
			p, err := Build(sys, Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS,
				Swap: []SwapPartition{{Partition: 4, UUID: plantest.SwapUUID, Active: true}}}, Options{Version: "test", Now: time.Unix(0, 0), Key: []byte("k")})
			if err != nil {
				t.Fatal(err)
			}
			if p.Steps[0].Action != ActionPreflight || p.Steps[0].Argv != nil || !p.Steps[0].InProcess || p.Steps[0].Destructive {
				t.Errorf("first step: %+v", p.Steps[0])
			}
			var all []string
			for _, s := range p.Steps {
				all = append(all, s.ID+": "+s.Reason, "$ "+Command(s.Argv))
			}
			text := strings.Join(append(all, p.Notes...), "\n")
			for _, h := range tc.has {
				if !strings.Contains(text, h) {
					t.Errorf("missing %q in\n%s", h, text)
				}
			}
			for _, h := range tc.hasNot {
				if strings.Contains(text, h) {
					t.Errorf("unexpected %q in\n%s", h, text)
				}
			}
			if err := p.CheckSteps(tc.prof); err != nil {
				t.Errorf("the plan does not check against its own profile: %v", err)
			}
		})
	}
}

// TestPlanDebconfEFI: on Ubuntu, a UEFI plan whose system keeps grub-efi/install_devices
// points it at both ESPs; Debian's and RHEL's plans have no such step; the step's target
// takes nothing but the ESP's partition number.
func TestPlanDebconfEFI(t *testing.T) {
	for _, tc := range []struct {
		name string
		fam  host.Family
		has  bool
	}{{"ubuntu", host.FamilyUbuntu, true}, {"rhel", host.FamilyRHEL, false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := uefiFacts()
			f.DebconfGrubEFI, f.EFIInstallDevices = tc.has, []string{"/dev/disk/by-id/virtio-WD-OLD-part1"}
			sys := plantest.Seed()
			sys.Host.Profile = host.Profile{Family: tc.fam}
			p, err := uefiPlan(t, sys, uefiSeedReq, f, bootloader.UEFIESPEveryDisk)
			if err != nil {
				t.Fatal(err)
			}
			s, ok := stepNamed(p, "debconf-efi-install-devices")
			if ok != tc.has {
				t.Fatalf("debconf step present %t, want %t", ok, tc.has)
			}
			if !ok {
				return
			}
			if Command(s.Argv) != "/usr/bin/debconf-set-selections "+DebconfSelectionsFile || s.Target.UEFI == nil || s.Target.UEFI.Part != 1 ||
				!strings.Contains(s.Reason, "grub-efi/install_devices is /dev/disk/by-id/virtio-WD-OLD-part1; it is set to the /dev/disk/by-id names of partition 1 (the ESP)") {
				t.Errorf("step %+v", s)
			}
			for _, forged := range []Target{{Device: "vda", UEFI: &UEFITarget{Part: 1}}, {UEFI: &UEFITarget{Part: 0}}, {UEFI: &UEFITarget{Part: 1, Loader: "EFI/x"}}} {
				q := s
				q.Target = forged
				if _, err := Derive(host.Profile{}, p, q); err == nil {
					t.Errorf("forged target %+v derived", forged)
				}
			}
		})
	}
}
