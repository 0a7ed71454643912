package exec

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

const configDatEFI = `Name: grub-efi/install_devices
Template: grub-efi/install_devices
Value: /dev/disk/by-id/virtio-WD-OLD-part1
Owners: grub-efi-amd64-signed
Flags: seen
`

// TestDebconfEFIInstallDevices: Ubuntu's grub-efi/install_devices is set to the survivor's
// and the new disk's ESP partitions (by-id names with -partN), under the question's owner,
// and read back.
func TestDebconfEFIInstallDevices(t *testing.T) {
	f := newUEFIFixture(t, rwEFIVars)
	f.r.w.sys.Root = f.root
	dat := filepath.Join(f.root, "var/cache/debconf/config.dat")
	os.MkdirAll(filepath.Dir(dat), 0o755)
	if err := os.WriteFile(dat, []byte(configDatEFI), 0o644); err != nil {
		t.Fatal(err)
	}
	want := "/dev/disk/by-id/virtio-" + plantest.Survivor + "-part1, /dev/disk/by-id/virtio-" + plantest.New + "-part1"
	var line string
	f.fake.Add(hosttest.Expect{Argv: []string{host.DebconfSetSelections, plan.DebconfSelectionsFile}, Do: func() {
		b, _ := os.ReadFile(plan.DebconfSelectionsFile)
		line = string(b)
		os.WriteFile(dat, []byte(strings.Replace(configDatEFI, "/dev/disk/by-id/virtio-WD-OLD-part1", want, 1)), 0o644)
	}})
	s := plan.Step{ID: "13-debconf-efi-install-devices", Action: plan.ActionDebconfDevices, Target: plan.Target{UEFI: &plan.UEFITarget{Part: 1}}}
	argv, err := plan.Derive(host.Profile{}, f.r.p, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.r.debconfStep(context.Background(), s, argv); err != nil {
		t.Fatal(err)
	}
	if wantLine := "grub-efi-amd64-signed grub-efi/install_devices multiselect " + want + "\n"; line != wantLine {
		t.Errorf("selection %q, want %q", line, wantLine)
	}
	if said := strings.Join(*f.say, "\n"); !strings.Contains(said, "grub-efi/install_devices is now "+want) {
		t.Errorf("said %q", said)
	}
	// Already set: nothing runs (the fake runner fails on any command).
	if err := f.r.debconfStep(context.Background(), s, argv); err != nil {
		t.Fatal(err)
	}
}
