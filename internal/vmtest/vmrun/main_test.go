package main

import (
	"testing"

	"github.com/raidswap/raidswap/internal/vmtest"
)

func TestParseDisk(t *testing.T) {
	tests := []struct {
		in   string
		want vmtest.Disk
		err  bool
	}{
		{in: "WD-A:1G", want: vmtest.Disk{Serial: "WD-A", SizeBytes: 1 << 30}},
		{in: "HGST:512M:4096", want: vmtest.Disk{Serial: "HGST", SizeBytes: 512 << 20, LogicalBlockSize: 4096}},
		{in: "X:64M:512:4096", want: vmtest.Disk{Serial: "X", SizeBytes: 64 << 20, LogicalBlockSize: 512, PhysicalBlockSize: 4096}},
		{in: "IMG:@/tmp/a.img", want: vmtest.Disk{Serial: "IMG", Image: "/tmp/a.img"}},
		{in: "NEW:1G+unplugged", want: vmtest.Disk{Serial: "NEW", SizeBytes: 1 << 30, Unplugged: true}},
		{in: "WD-S:1G,bus=sata,model=WDC WD40EFRX,wwn=0x50014ee2b1a2c3d4,rot=5400", want: vmtest.Disk{Serial: "WD-S", SizeBytes: 1 << 30, Bus: "sata", Model: "WDC WD40EFRX", WWN: "0x50014ee2b1a2c3d4", RotationRate: 5400}},
		{in: "SC:1G:4096,bus=scsi,vendor=HGST+unplugged", want: vmtest.Disk{Serial: "SC", SizeBytes: 1 << 30, LogicalBlockSize: 4096, Bus: "scsi", Vendor: "HGST", Unplugged: true}},
		{in: "WD X/1+A:1G+unplugged", want: vmtest.Disk{Serial: "WD X/1+A", SizeBytes: 1 << 30, Unplugged: true}},
		{in: "A:1G,colour=red", err: true},
		{in: "A:1G,rot=fast", err: true},
		{in: "A", err: true},
		{in: "A:lots", err: true},
		{in: "A:1G:big", err: true},
		{in: ":1G", err: true},
	}
	for _, tt := range tests {
		got, err := parseDisk(tt.in)
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("parseDisk(%q) = %+v, %v; want %+v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseFirmware(t *testing.T) {
	for _, tt := range []struct {
		fw, vars string
		want     vmtest.Firmware
		err      bool
	}{
		{fw: "bios", want: vmtest.BIOS},
		{fw: "uefi", want: vmtest.UEFI},
		{fw: "uefi", vars: "/tmp/v.fd", want: vmtest.UEFI},
		{fw: "bios", vars: "/tmp/v.fd", err: true},
		{fw: "efi", err: true},
		{fw: "", err: true},
	} {
		got, err := parseFirmware(tt.fw, tt.vars)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseFirmware(%q, %q) = %q, %v", tt.fw, tt.vars, got, err)
		}
	}
}
