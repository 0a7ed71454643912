package bootloader_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/vmtest"
)

// bootRig is the set-up every BIOS boot-alone proof shares: disk images in a temporary
// directory (the guest's disks, then each boot-alone VM's one disk) and a share holding a
// marker initramfs the guest copies into /boot, which a disk that boots alone reaches.
type bootRig struct {
	t      *testing.T
	dir    string
	Share  string
	Marker string
}

// newBootRig makes the directory and, when marker is not empty, the share with its
// initramfs.
func newBootRig(t *testing.T, marker string) *bootRig {
	t.Helper()
	r := &bootRig{t: t, dir: t.TempDir(), Marker: marker}
	if marker == "" {
		return r
	}
	r.Share = filepath.Join(r.dir, "share")
	if err := os.Mkdir(r.Share, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := vmtest.WriteMarkerInitramfs(filepath.Join(r.Share, "marker.img"), marker); err != nil {
		t.Fatal(err)
	}
	return r
}

// image is a 256 MiB sparse disk image with the serial given.
func (r *bootRig) image(serial string, unplugged bool) vmtest.Disk {
	r.t.Helper()
	p := filepath.Join(r.dir, serial+".img")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Truncate(p, 256<<20); err != nil {
		r.t.Fatal(err)
	}
	return vmtest.Disk{Serial: serial, Image: p, Unplugged: unplugged}
}

// bootsAlone boots each disk alone under SeaBIOS and fails the test for each that does not
// reach the marker.
func (r *bootRig) bootsAlone(disks ...vmtest.Disk) {
	r.t.Helper()
	for _, d := range disks {
		boot, err := vmtest.BootDiskT(r.t, vmtest.BootConfig{Disks: []vmtest.Disk{{Serial: d.Serial, Image: d.Image}}, Firmware: vmtest.BIOS, Marker: r.Marker})
		if err != nil {
			r.t.Errorf("%s did not boot alone: %v\n%s", d.Serial, err, boot.Console)
			continue
		}
		r.t.Logf("%s booted alone (SeaBIOS) in %s", d.Serial, boot.Duration.Round(100*time.Millisecond))
	}
}
