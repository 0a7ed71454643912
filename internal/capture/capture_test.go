package capture

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/host"
)

// sysTree builds a small sysfs-shaped tree: /sys/block links into /sys/devices, a partition
// whose holders directory links to an md array, and a member link that climbs from md0's
// real directory.
func sysTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	mk := func(p string) {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ln := func(target, p string) {
		if err := os.Symlink(target, filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	wr := func(p, s string) {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("sys/block")
	mk("sys/devices/pci0/virtio4/block/vda/vda2/holders")
	mk("sys/devices/virtual/block/md0/md/dev-vda2")
	ln("../devices/pci0/virtio4/block/vda", "sys/block/vda")
	ln("../devices/virtual/block/md0", "sys/block/md0")
	ln("../../../../virtual/block/md0", "sys/devices/pci0/virtio4/block/vda/vda2/holders/md0")
	ln("../../../../../pci0/virtio4/block/vda/vda2", "sys/devices/virtual/block/md0/md/dev-vda2/block")
	wr("sys/devices/pci0/virtio4/block/vda/size", "262144\n")
	wr("sys/devices/pci0/virtio4/block/vda/vda2/partition", "2\n")
	wr("sys/devices/virtual/block/md0/md/dev-vda2/state", "in_sync\n")
	return dir
}

func TestCaptureKeepsLinksAndListings(t *testing.T) {
	dir := sysTree(t)
	paths := []string{
		"/sys/block/",
		"/sys/block/vda/size",
		"/sys/block/vda/vda2/holders/",
		"/sys/block/md0/md/dev-vda2/state",
		"/sys/block/md0/md/dev-vda2/block",
		"/sys/devices/pci0/virtio4/block/vda/vda2/partition",
		"/proc/mdstat", // absent: not captured, still absent
	}
	var buf bytes.Buffer
	if _, err := Write(&buf, dir, paths, Manifest{Taken: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := Unpack(&buf, out); err != nil {
		t.Fatal(err)
	}
	live, capt := host.NewRoot(dir), host.NewRoot(out)
	for _, r := range []*host.Root{live, capt} {
		ents, err := r.ReadDir("/sys/block/vda/vda2/holders")
		if err != nil || len(ents) != 1 || ents[0].Name() != "md0" {
			t.Errorf("%s: holders %v %v", r.Dir(), ents, err)
		}
		got, err := r.ResolveLink("/sys/block/md0/md/dev-vda2/block")
		if err != nil || got != "/sys/devices/pci0/virtio4/block/vda/vda2" || !r.Exists(got+"/partition") {
			t.Errorf("%s: member link %q %v", r.Dir(), got, err)
		}
		if s, err := r.ReadString("/sys/block/vda/size"); err != nil || s != "262144" {
			t.Errorf("%s: size %q %v", r.Dir(), s, err)
		}
		var names []string
		ents, _ = r.ReadDir("/sys/block")
		for _, e := range ents {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		if len(names) != 2 {
			t.Errorf("%s: /sys/block %v", r.Dir(), names)
		}
	}
	if capt.Exists("/proc/mdstat") {
		t.Error("an absent file appeared in the capture")
	}
}

func TestUnpackRefusesEscapingLinks(t *testing.T) {
	for _, link := range []string{"../../../etc", "/etc"} {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		m := []byte(`{"format":1}`)
		_ = tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o644, Size: int64(len(m)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(m)
		_ = tw.WriteHeader(&tar.Header{Name: "sys/evil", Typeflag: tar.TypeSymlink, Linkname: link})
		tw.Close()
		gz.Close()
		if _, err := Unpack(&buf, t.TempDir()); err == nil {
			t.Errorf("a link to %s climbing out of the capture was unpacked", link)
		}
	}
}

func TestRecordedListingKeepsSlash(t *testing.T) {
	dir := sysTree(t)
	var got []string
	r := host.NewRoot(dir)
	r.Recorder = func(p string) { got = append(got, p) }
	if _, err := r.ReadDir("/sys/block/vda/vda2/holders"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "/sys/block/vda/vda2/holders/" {
		t.Errorf("recorded %q", got)
	}
}
