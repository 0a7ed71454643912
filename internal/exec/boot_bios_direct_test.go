package exec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
)

// TestLiveDisksReadDirect: the survivor proof reads the live system's devices only with
// O_DIRECT through host.Root.OpenDirect; where O_DIRECT cannot be had (procfs refuses it, as
// a file system without it does) it fails with one line naming the device, the survivor and
// its serial, never falling back to a cached read.
func TestLiveDisksReadDirect(t *testing.T) {
	img := make([]byte, 64<<10)
	for i := range img {
		img[i] = byte(i * 7)
	}
	img[510], img[511] = 0x55, 0xaa
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, dev string) // makes dev, the root's /dev/vda
		want  string                         // "" reads img's bytes
	}{
		{"a file system with O_DIRECT", func(t *testing.T, dev string) {
			if err := os.WriteFile(dev, img, 0o600); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"a file system without O_DIRECT", func(t *testing.T, dev string) {
			if err := os.Symlink("/proc/self/maps", dev); err != nil {
				t.Fatal(err)
			}
		}, "the survivor proof cannot read /dev/vda (WD-SURV) past the page cache (O_DIRECT): open "},
		{"no such device", func(t *testing.T, dev string) {}, "the survivor proof cannot read /dev/vda (WD-SURV) past the page cache (O_DIRECT): open "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "dev"), 0o755); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, filepath.Join(dir, "dev", "vda"))
			root := host.NewRoot(dir)
			var opened []string
			root.Recorder = func(p string) { opened = append(opened, p) }

			b, err := liveDisks{root: root}.ReadAt("/dev/vda", 440, 72)
			if !slices.Contains(opened, "/dev/vda") {
				t.Errorf("the read did not go through host.Root (it recorded %q)", opened)
			}
			if tt.want == "" {
				if err != nil || !bytes.Equal(b, img[440:512]) {
					t.Fatalf("ReadAt = %x, %v; want the image's bytes 440–511", b, err)
				}
				return
			}
			var de *DirectReadError
			if !errors.As(err, &de) {
				t.Fatalf("ReadAt = %x, %v; want a DirectReadError", b, err)
			}
			// survivorRegions names the survivor in the error, on one line.
			r := &run{w: &world{sys: &discover.System{Root: dir}}}
			_, err = r.survivorRegions(&discover.Disk{Name: "vda", Serial: "WD-SURV"})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("survivorRegions: %v; want one line starting %q", err, tt.want)
			}
		})
	}
}
