package partition

import (
	"strings"
	"testing"
)

func TestStaleByID(t *testing.T) {
	tests := []struct {
		path, name, serial string
		want               string
	}{
		{"/dev/disk/by-id/virtio-WD-SURV", "vda", "WD-SURV", ""},
		{"/dev/disk/by-id/virtio-WD-SURV", "vdb", "WD-OLD", "the link names serial WD-SURV but points at /dev/vdb, whose serial is WD-OLD"},
		{"/dev/disk/by-id/ata-WDC_WD10EFRX-68FYTN0_WD-WCC4J1234567", "sda", "WD-WCC4J1234567", ""},
		{"/dev/disk/by-id/ata-WDC_WD10EFRX-68FYTN0_WD-WCC4J1234567", "sda", "WD-OTHER", "names serial WD-WCC4J1234567"},
		{"/dev/disk/by-id/nvme-Samsung_SSD_970_S4EWNX0N123456", "nvme0n1", "S4EWNX0N123456", ""},
		{"/dev/disk/by-id/wwn-0x5000c500a1b2c3d4", "sda", "ANY", ""},
		{"/dev/disk/by-id/nvme-eui.0025385b71b2c3d4", "nvme0n1", "ANY", ""},
		{"/dev/vda", "vda", "WD-SURV", ""},
		{"/dev/disk/by-id/virtio-X", "vda", "", ""},
	}
	for _, tt := range tests {
		err := staleByID(tt.path, tt.name, tt.serial)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s → %s (%s): %v", tt.path, tt.name, tt.serial, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s → %s (%s): %v, want %q", tt.path, tt.name, tt.serial, err, tt.want)
		}
	}
}
