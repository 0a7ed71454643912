package plan

import (
	"errors"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// A /boot that rests on the replaced array through LVM gets GRUB on the new disk, the chain
// named; one inside LUKS that GRUB is not set to unlock refuses the plan before any step.
func TestBootOnAStack(t *testing.T) {
	req := Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS, Swap: seedSwap()}
	lvm := bootloader.BootDir{Array: "md1", OnRoot: true, Mountpoint: "/", From: "root", FSType: "ext4", Metadata: "1.2", Device: "dm-0",
		Via: "/boot (a directory on /) → dm-0 (LVM vg0-root) → md1 → vda3, vdb3"}
	sys := plantest.Seed()
	sys.Host.Boot.Boot = lvm
	p, err := Build(sys, req, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	var grubNew *Step
	named := false
	for i, s := range p.Steps {
		if strings.HasSuffix(s.ID, "-bootloader-new") {
			grubNew = &p.Steps[i]
		}
		if strings.HasSuffix(s.ID, "-bootloader-"+sys.Disks[0].Name) {
			named = strings.Contains(s.Reason, lvm.Via)
		}
	}
	if !named {
		t.Error("no GRUB step on the survivor names the chain")
	}
	if grubNew == nil || grubNew.Target.Array != "md1" || grubNew.Target.PrivateBoot {
		t.Fatalf("no GRUB install on the new disk for md1: %+v", grubNew)
	}

	luks := lvm
	luks.Device, luks.Crypt = "dm-1", "dm-0"
	sys = plantest.Seed()
	sys.Host.Boot.Boot = luks
	var ue *UnsafeError
	if _, err := Build(sys, req, testOpts); !errors.As(err, &ue) || !strings.Contains(err.Error(), "GRUB is not set to unlock it") {
		t.Errorf("err = %v, want a refusal naming GRUB_ENABLE_CRYPTODISK", err)
	}
	luks.CryptoDisk = true
	sys.Host.Boot.Boot = luks
	if _, err := Build(sys, req, testOpts); err != nil {
		t.Errorf("with GRUB_ENABLE_CRYPTODISK=y: %v", err)
	}
}
