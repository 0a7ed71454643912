package identify_test

import (
	"os"
	"testing"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/host"
)

// unpackBuses unpacks a capture of TestVMIdentifyBuses (a guest with a SATA, SCSI, SAS, NVMe
// and virtio disk; buses.tar.gz with udev, buses-noudev.tar.gz without) into a fresh directory.
func unpackBuses(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	if _, err := capture.Unpack(f, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDisksRealBuses reads each bus's identity from the captured tree: serial from the source
// that holds the drive's own serial (for SCSI that is VPD 0x80, ID_SCSI_SERIAL, not udev's
// ID_SERIAL_SHORT, which scsi_id fills with the WWN), transport from the sysfs device path,
// SCSI HCTL, NVMe controller, firmware revision and WWN.
func TestDisksRealBuses(t *testing.T) {
	got, err := identify.Disks(host.NewRoot(unpackBuses(t, "buses.tar.gz")), identify.IsPhysicalName)
	if err != nil {
		t.Fatal(err)
	}
	type want struct{ serial, transport, hctl, ctrl, model, vendor, wwn, parts string }
	wants := map[string]want{
		"sda":     {"WD-WCC4N1KPA001", "sata", "0:0:0:0", "", "WDC WD40EFRX-68N32N0", "", "0x50014ee2b1a2c3d4", "sda1 sda2"},
		"sdb":     {"K7GSAS01", "sas", "6:0:0:0", "", "HUS726T4TAL5204", "HGST", "0x5000cca2a1b2c3d4", "sdb1 sdb2"},
		"sdc":     {"ZC1C3SCSI", "scsi", "7:0:0:0", "", "ST4000NM0023", "SEAGATE", "0x5000c500a1b2c3d4", "sdc1 sdc2"},
		"nvme0n1": {"S4EVNX0N123456", "nvme", "", "nvme0", "QEMU NVMe Ctrl", "", "nvme.1b36-5334455", "nvme0n1p1 nvme0n1p2"},
		"vda":     {"VIRT-0001", "virtio", "", "", "", "", "", "vda1 vda2"},
	}
	if len(got) != len(wants) {
		t.Fatalf("got %d disks, want %d: %+v", len(got), len(wants), got)
	}
	for _, d := range got {
		w, ok := wants[d.Name]
		parts := ""
		for i, p := range d.Partitions {
			if i > 0 {
				parts += " "
			}
			parts += p
		}
		if !ok || d.Serial != w.serial || d.Transport != w.transport || d.HCTL != w.hctl || d.Controller != w.ctrl ||
			d.Model != w.model || d.Vendor != w.vendor || len(d.WWN) < len(w.wwn) || d.WWN[:len(w.wwn)] != w.wwn || parts != w.parts {
			t.Errorf("%s: got %+v\nwant %+v", d.Name, d, w)
		}
		if (d.Firmware == "") != (d.Transport == "virtio") {
			t.Errorf("%s: firmware %q", d.Name, d.Firmware)
		}
		if d.SerialSource != "udev" || len(d.ByID) == 0 || len(d.ByPath) == 0 {
			t.Errorf("%s: serial source %q, by-id %v, by-path %v", d.Name, d.SerialSource, d.ByID, d.ByPath)
		}
	}
}

// TestDisksRealBusesWithoutUdev reads the same disks from a guest without udev: each serial
// from the kernel's own source (VPD page 0x80 for SATA, SAS and SCSI; the controller's serial
// for NVMe; virtio's serial), WWNs from the kernel's wwid in udev's form, and the same
// transports, HCTLs and controller as with udev.
func TestDisksRealBusesWithoutUdev(t *testing.T) {
	got, err := identify.Disks(host.NewRoot(unpackBuses(t, "buses-noudev.tar.gz")), identify.IsPhysicalName)
	if err != nil {
		t.Fatal(err)
	}
	type want struct{ serial, source, transport, hctl, ctrl, model, vendor, wwn string }
	wants := map[string]want{
		"sda":     {"WD-WCC4N1KPA001", "vpd_pg80", "sata", "0:0:0:0", "", "WDC WD40EFRX-68N", "", "0x50014ee2b1a2c3d4"},
		"sdb":     {"K7GSAS01", "vpd_pg80", "sas", "6:0:0:0", "", "HUS726T4TAL5204", "HGST", "0x5000cca2a1b2c3d4"},
		"sdc":     {"ZC1C3SCSI", "vpd_pg80", "scsi", "7:0:0:0", "", "ST4000NM0023", "SEAGATE", "0x5000c500a1b2c3d4"},
		"nvme0n1": {"S4EVNX0N123456", "sysfs", "nvme", "", "nvme0", "QEMU NVMe Ctrl", "", "nvme.1b36-5334455"},
		"vda":     {"VIRT-0001", "sysfs", "virtio", "", "", "", "", ""},
	}
	if len(got) != len(wants) {
		t.Fatalf("got %d disks, want %d: %+v", len(got), len(wants), got)
	}
	for _, d := range got {
		w, ok := wants[d.Name]
		if !ok || d.Serial != w.serial || d.SerialSource != w.source || d.Transport != w.transport || d.HCTL != w.hctl ||
			d.Controller != w.ctrl || d.Model != w.model || d.Vendor != w.vendor || len(d.WWN) < len(w.wwn) || d.WWN[:len(w.wwn)] != w.wwn ||
			(w.wwn == "") != (d.WWN == "") || len(d.ByID) != 0 || len(d.ByPath) != 0 || len(d.Partitions) != 2 {
			t.Errorf("%s: got %+v\nwant %+v", d.Name, d, w)
		}
		if (d.Firmware == "") != (d.Transport == "virtio") {
			t.Errorf("%s: firmware %q", d.Name, d.Firmware)
		}
	}
}
