package identify_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// busDisks is one disk on every bus QEMU emulates, with the identity a real drive of the
// kind would carry. TestVMIdentifyBuses captures them into testdata/buses.tar.gz.
var busDisks = []vmtest.Disk{
	{Bus: vmtest.BusSATA, Serial: "WD-WCC4N1KPA001", Model: "WDC WD40EFRX-68N32N0", WWN: "0x50014ee2b1a2c3d4", RotationRate: 5400, SizeBytes: 256 << 20, PhysicalBlockSize: 4096},
	{Bus: vmtest.BusSCSI, Serial: "ZC1C3SCSI", Vendor: "SEAGATE", Model: "ST4000NM0023", WWN: "0x5000c500a1b2c3d4", SizeBytes: 256 << 20},
	{Bus: vmtest.BusSAS, Serial: "K7GSAS01", Vendor: "HGST", Model: "HUS726T4TAL5204", WWN: "0x5000cca2a1b2c3d4", SizeBytes: 256 << 20},
	{Bus: vmtest.BusNVMe, Serial: "S4EVNX0N123456", SizeBytes: 256 << 20, LogicalBlockSize: 4096},
	{Serial: "VIRT-0001", SizeBytes: 256 << 20},
}

// wantIdentity is what status --json must say of each disk, live and from the capture.
type wantIdentity struct {
	transport, model, vendor, wwn, byID, byPath, firmware string
	hctl, controller                                      bool // present or not
	rotational                                            bool
	part1                                                 string
}

var busWant = map[string]wantIdentity{
	"WD-WCC4N1KPA001": {transport: "sata", model: "WDC WD40EFRX-68N32N0", vendor: "", wwn: "0x50014ee2b1a2c3d4",
		byID: "/dev/disk/by-id/ata-WDC_WD40EFRX-68N32N0_WD-WCC4N1KPA001", byPath: "/dev/disk/by-path/pci-0000:00:02.0-ata-1", hctl: true, rotational: true},
	"ZC1C3SCSI": {transport: "scsi", model: "ST4000NM0023", vendor: "SEAGATE", wwn: "0x5000c500a1b2c3d4",
		byID: "/dev/disk/by-id/scsi-35000c500a1b2c3d4", byPath: "/dev/disk/by-path/pci-0000:00:03.0-scsi-0:0:0:0", hctl: true, rotational: true},
	"K7GSAS01": {transport: "sas", model: "HUS726T4TAL5204", vendor: "HGST", wwn: "0x5000cca2a1b2c3d4",
		byID: "/dev/disk/by-id/wwn-0x5000cca2a1b2c3d4", byPath: "/dev/disk/by-path/pci-0000:00:1f.0-sas-phy0-lun-0", hctl: true, rotational: true},
	"S4EVNX0N123456": {transport: "nvme", model: "QEMU NVMe Ctrl", wwn: "nvme.1b36-",
		byID: "/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_S4EVNX0N123456", byPath: "/dev/disk/by-path/pci-0000:00:0b.0-nvme-1", controller: true, part1: "nvme0n1p1"},
	"VIRT-0001": {transport: "virtio", byID: "/dev/disk/by-id/virtio-VIRT-0001", byPath: "/dev/disk/by-path/pci-0000:00:0c.0", rotational: true, part1: "vda1"},
}

// TestVMIdentifyBuses partitions a disk on every bus, runs `raidswap status --json` live and
// on a `raidswap snapshot` of the same system, and checks that both name every disk right.
// With -update the capture becomes testdata/buses.tar.gz, the fixture of the unit tests.
func TestVMIdentifyBuses(t *testing.T) {
	t.Run("udev", func(t *testing.T) { identifyBuses(t, false, "buses.tar.gz") })
	// Without udev (a rescue system, an initramfs): serials from sysfs and VPD 0x80, WWNs
	// from the kernel's wwid, no by-id or by-path links.
	t.Run("no-udev", func(t *testing.T) { identifyBuses(t, true, "buses-noudev.tar.gz") })
}

func identifyBuses(t *testing.T, noUdev bool, fixture string) {
	vmtest.Require(t)
	bin := testbin.Raidswap(t)
	res := vmtest.RunT(t, vmtest.Config{
		Disks:   busDisks,
		NoUdev:  noUdev,
		Timeout: 4 * time.Minute,
		Script: "export PATH=" + filepath.Dir(bin) + `:$PATH
set -eu
for s in WD-WCC4N1KPA001 ZC1C3SCSI K7GSAS01 S4EVNX0N123456 VIRT-0001; do
	d=$(vmtest-disk $s)
	sgdisk -n1:1M:+64M -t1:fd00 -n2:0:0 -t2:8300 /dev/$d >/dev/null
	partx -u /dev/$d 2>/dev/null || partx -a /dev/$d
done
[ -n "$(pgrep -x systemd-udevd)" ] && udevadm settle
set +e
raidswap status --json > live.json; echo $? > live.rc
raidswap snapshot capture.tar.gz > snapshot.out || exit 10
raidswap status --root capture.tar.gz --json > captured.json
exit 0
`,
	})
	if res.ExitCode != 0 {
		t.Fatalf("script exit %d:\n%s", res.ExitCode, res.Output)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(res.Share, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, f := range []string{"live.json", "captured.json"} {
		var s discover.System
		if err := json.Unmarshal(read(f), &s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		checkBusIdentity(t, f, &s, noUdev)
	}
	if golden.Update() {
		if err := os.WriteFile(filepath.Join("testdata", fixture), read("capture.tar.gz"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("wrote testdata/" + fixture)
	}
}

func checkBusIdentity(t *testing.T, what string, s *discover.System, noUdev bool) {
	t.Helper()
	seen := 0
	for _, d := range s.Disks {
		w, ok := busWant[d.Serial]
		if !ok {
			t.Errorf("%s: unexpected disk %s serial %q", what, d.Name, d.Serial)
			continue
		}
		seen++
		if noUdev {
			// What only udev knows: the links, and the ATA model beyond the SCSI INQUIRY's
			// 16 characters.
			if len(d.ByID) != 0 || d.ByPath != "" {
				t.Errorf("%s: %s has links without udev: %v %q", what, d.Serial, d.ByID, d.ByPath)
			}
			w.byID, w.byPath = "", ""
			d.ByID = []string{""}
			if w.transport == "sata" {
				w.model = w.model[:16]
			}
		}
		has := func(l []string, x string) bool {
			for _, y := range l {
				if y == x {
					return true
				}
			}
			return false
		}
		if d.Transport != w.transport || d.Model != w.model || d.Vendor != w.vendor || len(d.WWN) < len(w.wwn) || d.WWN[:len(w.wwn)] != w.wwn ||
			!has(d.ByID, w.byID) || d.ByPath != w.byPath || (d.HCTL != "") != w.hctl || (d.Controller != "") != w.controller ||
			d.Rotational != w.rotational || (d.Firmware == "") != (w.transport == "virtio") || d.IdentityProblem != "" || (w.part1 != "" && (len(d.Partitions) != 2 || d.Partitions[0] != w.part1)) {
			b, _ := json.MarshalIndent(d, "", " ")
			t.Errorf("%s: disk %s: got\n%s\nwant %+v", what, d.Serial, b, w)
		}
	}
	if seen != len(busWant) {
		t.Errorf("%s: %d of %d disks seen", what, seen, len(busWant))
	}
}
