package identify

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

func TestParseVPD80(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"padded", append([]byte{0, 0x80, 0, 12}, []byte("  WD-WCC4N1  ")...), "WD-WCC4N1"},
		{"nul padded", append([]byte{0, 0x80, 0, 8}, []byte("Z1Z2\x00\x00\x00\x00")...), "Z1Z2"},
		{"length past the end", append([]byte{0, 0x80, 0, 40}, []byte("SHORT")...), "SHORT"},
		{"other page", append([]byte{0, 0x83, 0, 4}, []byte("ABCD")...), ""},
		{"truncated header", []byte{0, 0x80}, ""},
	}
	for _, tt := range tests {
		if got := ParseVPD80(tt.in); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseUdev(t *testing.T) {
	u := ParseUdev([]byte("S:disk/by-id/ata-WDC_WD40EFRX_WD-WCC4N1\nS:disk/by-path/pci-0000:00:1f.2-ata-2\nE:ID_SERIAL_SHORT=WD-WCC4N1\nE:ID_MODEL=WDC_WD40EFRX\nE:ID_WWN_WITH_EXTENSION=0x50014ee2b5e6f5c1\nG:systemd\n"))
	if u.Env["ID_SERIAL_SHORT"] != "WD-WCC4N1" || u.Env["ID_WWN_WITH_EXTENSION"] != "0x50014ee2b5e6f5c1" {
		t.Errorf("env %v", u.Env)
	}
	if len(u.Links) != 2 || u.Links[0] != "/dev/disk/by-id/ata-WDC_WD40EFRX_WD-WCC4N1" {
		t.Errorf("links %v", u.Links)
	}
}

// A disk with a udev record takes identity from it; one without (no udevd) falls back to
// sysfs: virtio's serial, NVMe's device/serial, SCSI's VPD page 0x80.
func TestDisksSerialSources(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	disk := func(name, dev string) {
		write("sys/block/"+name+"/dev", dev+"\n")
		write("sys/block/"+name+"/size", "2097152\n")
		write("sys/block/"+name+"/queue/logical_block_size", "512\n")
		write("sys/block/"+name+"/queue/physical_block_size", "4096\n")
		write("sys/block/"+name+"/queue/rotational", "1\n")
	}
	disk("sda", "8:0")
	write("run/udev/data/b8:0", "S:disk/by-id/ata-WDC_WD40EFRX_WD-A\nE:ID_SERIAL_SHORT=WD-A\nE:ID_MODEL=WDC_WD40EFRX\n")
	write("sys/block/sda/sda1/dev", "8:1\n")
	disk("sdb", "8:16")
	write("sys/block/sdb/device/vpd_pg80", string(append([]byte{0, 0x80, 0, 6}, []byte(" ZC1C3")...)))
	write("sys/block/sdb/device/model", "ST4000NM0035\n")
	disk("vda", "254:0")
	write("sys/block/vda/serial", "VIRT-1\n")
	disk("nvme0n1", "259:0")
	write("sys/block/nvme0n1/device/serial", "S4EVNX0N\n")
	disk("md0", "9:0")
	disk("loop0", "7:0")

	got, err := Disks(host.NewRoot(dir), IsPhysicalName)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]string{ // serial, source, model
		"sda":     {"WD-A", "udev", "WDC WD40EFRX"},
		"sdb":     {"ZC1C3", "vpd_pg80", "ST4000NM0035"},
		"vda":     {"VIRT-1", "sysfs", ""},
		"nvme0n1": {"S4EVNX0N", "sysfs", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d disks %+v, want %d (md0 and loop0 left out)", len(got), got, len(want))
	}
	for _, d := range got {
		w := want[d.Name]
		if d.Serial != w[0] || d.SerialSource != w[1] || d.Model != w[2] {
			t.Errorf("%s: serial %q (%s) model %q, want %v", d.Name, d.Serial, d.SerialSource, d.Model, w)
		}
		if d.SizeBytes != 1<<30 || d.LogicalSectorSize != 512 || d.PhysicalSectorSize != 4096 || !d.Rotational {
			t.Errorf("%s: size %d sectors %d/%d rotational %v", d.Name, d.SizeBytes, d.LogicalSectorSize, d.PhysicalSectorSize, d.Rotational)
		}
	}
	for _, d := range got {
		if d.Name == "sda" && (len(d.Partitions) != 1 || d.Partitions[0] != "sda1" || len(d.ByID) != 1) {
			t.Errorf("sda partitions %v by-id %v", d.Partitions, d.ByID)
		}
	}
}

func TestSysfsWWN(t *testing.T) {
	for in, want := range map[string]string{
		"naa.5000C500A1B2C3D4": "0x5000c500a1b2c3d4",
		"t10.ATA     Samsung SSD 870 EVO 1TB                 S4X-SSD02": "",
		"eui.0025388b91b2c3d4": "eui.0025388b91b2c3d4",
		"nvme.1b36-4e564d452d30303035-51454d55204e564d65204374726c-00000001": "nvme.1b36-4e564d452d30303035-51454d55204e564d65204374726c-00000001",
	} {
		if got := sysfsWWN(in); got != want {
			t.Errorf("sysfsWWN(%q) = %q, want %q", in, got, want)
		}
	}
}
