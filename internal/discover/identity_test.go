package discover_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
)

// busTree unpacks identify's capture of a guest with a SATA (sda), SAS (sdb), SCSI (sdc),
// NVMe (nvme0n1) and virtio (vda) disk, then applies edit to it: the bad identities below
// are that real tree with one udev record changed the way the faulty hardware would.
func busTree(t *testing.T, edit map[string][2]string) *host.Root {
	t.Helper()
	f, err := os.Open("../../identify/testdata/buses.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	if _, err := capture.Unpack(f, dir); err != nil {
		t.Fatal(err)
	}
	for p, r := range edit {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), r[0]) {
			t.Fatalf("%s lacks %q", p, r[0])
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(strings.ReplaceAll(string(b), r[0], r[1])), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return host.NewRoot(dir)
}

func TestIdentityProblems(t *testing.T) {
	tests := []struct {
		name string
		edit map[string][2]string
		want map[string]string // disk -> substring of its IdentityProblem; others must have none
	}{
		{"real buses", nil, nil},
		// A SCSI disk answering with another disk's serial, like two drives behind one cheap
		// bridge or a cloned virtual disk.
		{"two disks, one serial", map[string][2]string{"run/udev/data/b8:32": {"ZC1C3SCSI", "K7GSAS01"}}, map[string]string{
			"sdb": `2 disks report serial "K7GSAS01" (sdb, sdc), so raidswap cannot tell them apart by serial; tell them apart by WWN (sdb 0x5000cca2a1b2c3d4, sdc 0x5000c500a1b2c3d4), by-path (sdb pci-0000:00:1f.0-sas-phy0-lun-0, sdc pci-0000:00:03.0-scsi-0:0:0:0) or size (sdb 268435456 bytes, sdc 268435456 bytes)`,
			"sdc": `2 disks report serial "K7GSAS01" (sdb, sdc)`,
		}},
		{"no serial", map[string][2]string{"run/udev/data/b254:0": {"E:ID_SERIAL=VIRT-0001\n", ""}}, map[string]string{
			"vda": "vda reports no serial, so raidswap cannot confirm which drive it is; tell it apart by WWN (none), by-path (pci-0000:00:0c.0) or size (268435456 bytes)",
		}},
		{"garbage bytes", map[string][2]string{"run/udev/data/b8:0": {"WD-WCC4N1KPA001", "WD\x01\xfe\x02"}}, map[string]string{
			"sda": `the serial of sda, "WD\x01\xfe\x02", holds bytes that are not printable text`,
		}},
		// Spaces inside a serial are part of it: kept as they are, and no problem.
		{"spaces", map[string][2]string{"run/udev/data/b259:0": {"S4EVNX0N123456", "S4EV NX0N 1234"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := discover.Discover(busTree(t, tt.edit))
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Disks) != 5 {
				t.Fatalf("%d disks", len(s.Disks))
			}
			for _, d := range s.Disks {
				want := tt.want[d.Name]
				switch {
				case want == "" && d.IdentityProblem != "":
					t.Errorf("%s (%q): unexpected identity problem %q", d.Name, d.Serial, d.IdentityProblem)
				case want != "" && !strings.Contains(d.IdentityProblem, want):
					t.Errorf("%s: identity problem %q, want it to contain %q", d.Name, d.IdentityProblem, want)
				}
				if d.Name == "nvme0n1" && tt.name == "spaces" && d.Serial != "S4EV NX0N 1234" {
					t.Errorf("serial with spaces read as %q", d.Serial)
				}
			}
		})
	}
}
