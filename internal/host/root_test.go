package host

import (
	"os"
	"path/filepath"
	"testing"
)

// A sysfs-shaped tree: /sys/block/md0 is a link into /sys/devices, and the member's block link
// climbs from the real md0 directory, not from /sys/block.
func TestResolveLinkThroughLinkedDirectory(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "sys/devices/virtual/block/md0/md/dev-vda1"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "sys/devices/pci0000:00/virtio4/block/vda/vda1"), 0o755))
	must(os.MkdirAll(filepath.Join(dir, "sys/block"), 0o755))
	must(os.Symlink("../devices/virtual/block/md0", filepath.Join(dir, "sys/block/md0")))
	must(os.Symlink("../../../../../pci0000:00/virtio4/block/vda/vda1", filepath.Join(dir, "sys/devices/virtual/block/md0/md/dev-vda1/block")))

	r := NewRoot(dir)
	got, err := r.ResolveLink("/sys/block/md0/md/dev-vda1/block")
	if err != nil {
		t.Fatal(err)
	}
	if want := "/sys/devices/pci0000:00/virtio4/block/vda/vda1"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if !r.Exists(got) {
		t.Errorf("%s does not exist under the root", got)
	}
}

func TestRootPathStaysInside(t *testing.T) {
	r := NewRoot("/capture")
	if got := r.Path("/../../etc/passwd"); got != "/capture/etc/passwd" {
		t.Errorf("got %s", got)
	}
}
