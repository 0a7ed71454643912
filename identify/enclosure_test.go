package identify

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/host/hosttest"
)

// The tree under testdata/enclosure/root is written by hand after the kernel's layout:
//
//   - drivers/misc/enclosure.c and drivers/scsi/ses.c: /sys/class/enclosure/0:0:0:0 links to
//     the SES device's enclosure directory (HPE D3700, id 0x5001438012345678); each component
//     directory ("Slot 01" .. "Slot 06") holds slot, locate, fault, status and type, and a
//     "device" link to the SCSI device in the slot; the SCSI device links back with
//     "enclosure_device:Slot 01". Slot 01 holds sda, Slot 02 sdb, Slot 03 is empty; sdc links
//     back to Slot 04, whose device link is missing; Slots 05 and 06 both claim sdd; sde is
//     in no enclosure.
//   - drivers/pci/npem.c: LED class devices "<pci>:enclosure:<pattern>" registered on the PCI
//     device, linked from /sys/class/leds. nvme0n1's controller 0000:05:00.0 has its own NPEM
//     LEDs; nvme1n1's are on its downstream port 0000:00:1d.0, which has no other device;
//     nvme2n1's port 0000:00:1e.0 also has 0000:07:00.1 below it, so it is not one bay.
//   - sdf sits behind an AHCI port whose scsi_host host1 offers SGPIO enclosure messages
//     (em_message_type "sgpio"); host0, the SAS HBA, offers none. nvme3n1 is in an Intel VMD
//     domain (pci10000:00). These are the cases where ledctl has its own way to the LED.
//   - vda is a virtio disk with no bay.
//
// Tests copy the tree (links kept) before writing LEDs into it.
func fixture(t *testing.T) (*host.Root, string) {
	t.Helper()
	src := filepath.Join("testdata", "enclosure", "root")
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, out)
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return host.NewRoot(dst), dst
}

func TestBayOf(t *testing.T) {
	root, _ := fixture(t)
	slots, problems := Enclosures(root)
	if len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
	if len(slots) != 6 {
		t.Fatalf("got %d slots, want 6: %+v", len(slots), slots)
	}
	tests := []struct {
		disk    string
		label   string // "" for no bay
		locate  string
		wantErr string
	}{
		{"sda", `enclosure 0:0:0:0 (HPE D3700, id 0x5001438012345678) slot "Slot 01" (number 1)`, "/sys/class/enclosure/0:0:0:0/Slot 01/locate", ""},
		{"sdb", `enclosure 0:0:0:0 (HPE D3700, id 0x5001438012345678) slot "Slot 02" (number 2)`, "/sys/class/enclosure/0:0:0:0/Slot 02/locate", ""},
		{"sdc", "", "", `sdc: bay unknown: the kernel links it to enclosure slot "Slot 04", but no slot's device link leads to`},
		{"sdd", "", "", `sdd: bay unknown: 2 enclosure slots claim it (0:0:0:0 slot "Slot 05", 0:0:0:0 slot "Slot 06")`},
		{"sde", "", "", ""},
		{"sdf", "", "", ""},
		{"nvme3n1", "", "", ""},
		{"nvme0n1", "the PCIe slot of 0000:05:00.0 (NPEM LEDs)", "/sys/class/leds/0000:05:00.0:enclosure:locate/brightness", ""},
		{"nvme1n1", "the PCIe slot of 0000:00:1d.0 (NPEM LEDs)", "/sys/class/leds/0000:00:1d.0:enclosure:locate/brightness", ""},
		{"nvme2n1", "", "", ""},
		{"vda", "", "", ""},
		{"sdz", "", "", ""},
	}
	for _, tt := range tests {
		b, err := BayOf(root, tt.disk, slots)
		if tt.wantErr != "" {
			var be *BayError
			if !errors.As(err, &be) || !strings.Contains(err.Error(), tt.wantErr) || b != nil {
				t.Errorf("%s: bay %+v err %v, want a BayError %q", tt.disk, b, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.disk, err)
			continue
		}
		if tt.label == "" {
			if b != nil {
				t.Errorf("%s: bay %+v, want none", tt.disk, b)
			}
			continue
		}
		if b == nil || b.Label() != tt.label || b.Locate != tt.locate {
			t.Errorf("%s: bay %+v (%s), want %q at %s", tt.disk, b, b.Label(), tt.label, tt.locate)
		}
	}
}

// With ledctl installed, a SATA disk behind SGPIO and an NVMe disk under VMD get ledctl; a
// SAS disk in no enclosure, an NVMe disk elsewhere and a virtio disk do not, and an
// enclosure slot or NPEM is still preferred.
func TestBayOfLedctl(t *testing.T) {
	root, dir := fixture(t)
	if err := os.MkdirAll(filepath.Join(dir, "usr/sbin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "usr/sbin/ledctl"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	slots, _ := Enclosures(root)
	for disk, want := range map[string]LEDMethod{"sdf": LEDLedctl, "nvme3n1": LEDLedctl, "sde": "", "nvme2n1": "", "sda": LEDEnclosure, "nvme0n1": LEDNPEM, "vda": ""} {
		b, err := BayOf(root, disk, slots)
		if err != nil {
			t.Fatalf("%s: %v", disk, err)
		}
		got := LEDMethod("")
		if b != nil {
			got = b.LED
		}
		if got != want {
			t.Errorf("%s: LED %q, want %q", disk, got, want)
		}
	}
}

// An enclosure slot whose device link cannot be read is a problem, not a wrong bay.
func TestEnclosuresUnreadableLink(t *testing.T) {
	root, dir := fixture(t)
	// A "device" that is a file, not a link, cannot be read as one.
	link := filepath.Join(dir, "sys/devices/pci0000:00/0000:00:02.0/0000:03:00.0/host0/target0:0:0/0:0:0:0/enclosure/0:0:0:0/Slot 03/device")
	if err := os.WriteFile(link, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	slots, problems := Enclosures(root)
	if len(problems) != 1 || !strings.Contains(problems[0], `enclosure 0:0:0:0 slot "Slot 03": reading its device link`) {
		t.Errorf("problems %v", problems)
	}
	if len(slots) != 5 {
		t.Errorf("%d slots, want the 5 readable ones", len(slots))
	}
}

func read(t *testing.T, dir, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, p))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// LED writes land in the kernel's files: "1"/"0" in the slot's locate and fault, and in the
// brightness of NPEM's locate and fail LEDs.
func TestSetLEDWritesTheTree(t *testing.T) {
	root, dir := fixture(t)
	slots, _ := Enclosures(root)
	ctx := context.Background()
	none := hosttest.NewFakeRunner(t)
	sda, _ := BayOf(root, "sda", slots)
	if err := SetLED(ctx, root, none, sda, LampLocate, true, "sda", "sda (A)"); err != nil {
		t.Fatal(err)
	}
	encl := "sys/class/enclosure/0:0:0:0/"
	if got := read(t, dir, encl+"Slot 01/locate"); got != "1" {
		t.Errorf("Slot 01 locate %q", got)
	}
	if got := read(t, dir, encl+"Slot 02/locate"); got != "0" {
		t.Errorf("Slot 02 locate %q: another bay was lit", got)
	}
	if err := SetLED(ctx, root, none, sda, LampLocate, false, "sda", "sda (A)"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, dir, encl+"Slot 01/locate"); got != "0" {
		t.Errorf("Slot 01 locate after off %q", got)
	}
	if err := SetLED(ctx, root, none, sda, LampFault, true, "sda", "sda (A)"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, dir, encl+"Slot 01/fault"); got != "1" {
		t.Errorf("Slot 01 fault %q", got)
	}
	nv, _ := BayOf(root, "nvme1n1", slots)
	if err := SetLED(ctx, root, none, nv, LampFault, true, "nvme1n1", "nvme1n1 (N)"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, dir, "sys/class/leds/0000:00:1d.0:enclosure:fail/brightness"); got != "1" {
		t.Errorf("NPEM fail %q", got)
	}
	if err := SetLED(ctx, root, none, nv, LampLocate, true, "nvme1n1", "nvme1n1 (N)"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, dir, "sys/class/leds/0000:00:1d.0:enclosure:locate/brightness"); got != "1" {
		t.Errorf("NPEM locate %q", got)
	}
}

// An LED file that cannot be written is an error naming the disk and the file.
func TestSetLEDUnwritable(t *testing.T) {
	root, dir := fixture(t)
	slots, _ := Enclosures(root)
	sdb, _ := BayOf(root, "sdb", slots)
	f := filepath.Join(dir, "sys/devices/pci0000:00/0000:00:02.0/0000:03:00.0/host0/target0:0:0/0:0:0:0/enclosure/0:0:0:0/Slot 02/locate")
	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(f, 0o755); err != nil { // unwritable even as root
		t.Fatal(err)
	}
	err := SetLED(context.Background(), root, hosttest.NewFakeRunner(t), sdb, LampLocate, true, "sdb", "sdb (WD-B)")
	var le *LEDError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "sdb (WD-B)") || !strings.Contains(err.Error(), "/sys/class/enclosure/0:0:0:0/Slot 02/locate") {
		t.Errorf("got %v", err)
	}
	// A forged bay cannot point a write outside the LED directories.
	forged := &Bay{LED: LEDEnclosure, Enclosure: "..", Slot: "x"}
	if err := SetLED(context.Background(), root, hosttest.NewFakeRunner(t), forged, LampLocate, true, "sdb", "sdb"); err == nil {
		t.Error("a bay named .. was written")
	}
}

func TestLedctlArgv(t *testing.T) {
	for _, tt := range []struct {
		lamp Lamp
		on   bool
		want string
	}{
		{LampLocate, true, "/usr/sbin/ledctl locate=/dev/sde"},
		{LampLocate, false, "/usr/sbin/ledctl locate_off=/dev/sde"},
		{LampFault, true, "/usr/sbin/ledctl failure=/dev/sde"},
		{LampFault, false, "/usr/sbin/ledctl normal=/dev/sde"},
	} {
		argv, err := LedctlArgv(tt.lamp, tt.on, "sde")
		if err != nil || strings.Join(argv, " ") != tt.want {
			t.Errorf("%s %v: %q %v", tt.lamp, tt.on, argv, err)
		}
	}
	if _, err := LedctlArgv(LampLocate, true, "../sda"); err == nil {
		t.Error("a path was taken for a disk name")
	}
}

// SetFault reads the disk's bay and drives ledctl through the Runner when that is all there
// is; a failing ledctl is an error naming the disk and the command.
func TestSetFaultLedctl(t *testing.T) {
	root, dir := fixture(t)
	if err := os.MkdirAll(filepath.Join(dir, "usr/sbin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "usr/sbin/ledctl"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	r := hosttest.NewFakeRunner(t,
		hosttest.Expect{Argv: []string{host.Ledctl, "failure=/dev/sdf"}},
		hosttest.Expect{Argv: []string{host.Ledctl, "normal=/dev/sdf"}, Exit: 1, Stderr: "ledctl: /dev/sdf: device not supported"},
	)
	ctx := context.Background()
	if err := SetFault(ctx, root, r, "sdf", true); err != nil {
		t.Fatal(err)
	}
	err := SetFault(ctx, root, r, "sdf", false)
	if err == nil || !strings.Contains(err.Error(), "sdf") || !strings.Contains(err.Error(), "normal=/dev/sdf") {
		t.Errorf("got %v", err)
	}
	// The enclosure is preferred over ledctl, and two slots claiming a disk write nothing. A
	// member partition (as mdadm names it) lights its disk's bay.
	if got := WholeDisk(root, "sda1"); got != "sda" {
		t.Errorf("WholeDisk(sda1) = %q", got)
	}
	if err := SetFault(ctx, root, r, "/dev/sda1", true); err != nil {
		t.Fatal(err)
	}
	if got := read(t, dir, "sys/class/enclosure/0:0:0:0/Slot 01/fault"); got != "1" {
		t.Errorf("Slot 01 fault %q", got)
	}
	var be *BayError
	if err := SetFault(ctx, root, r, "sdd", true); !errors.As(err, &be) {
		t.Errorf("sdd: %v", err)
	}
	for _, s := range []string{"Slot 05", "Slot 06"} {
		if got := read(t, dir, "sys/class/enclosure/0:0:0:0/"+s+"/fault"); got != "0" {
			t.Errorf("%s fault %q", s, got)
		}
	}
	var le *LEDError
	if err := SetFault(ctx, root, r, "vda", true); !errors.As(err, &le) || !strings.Contains(err.Error(), "no LED is known") {
		t.Errorf("vda: %v", err)
	}
}
