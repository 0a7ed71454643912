package identify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/host"
)

// devRoot is a Root whose /dev holds what the test puts there.
func devRoot(t *testing.T) (*host.Root, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	return host.NewRoot(dir), filepath.Join(dir, "dev")
}

// A device that answers no SMART ioctl (here the null device, through a link in the Root's
// /dev) is "SMART unavailable", not an error and not unknown.
func TestDeviceSMARTUnavailable(t *testing.T) {
	root, dev := devRoot(t)
	if err := os.Symlink("/dev/null", filepath.Join(dev, "vdz")); err != nil {
		t.Fatal(err)
	}
	h := DeviceSMART{Root: root}.ReadSMART(context.Background(), "vdz")
	if h.State != SMARTUnavailable || !strings.Contains(h.Summary(), "SMART unavailable") {
		t.Fatalf("got %s: %q", h.State, h.Reasons)
	}
}

func TestDeviceSMARTMissingNode(t *testing.T) {
	root, _ := devRoot(t)
	h := DeviceSMART{Root: root}.ReadSMART(context.Background(), "sdq")
	if h.State != SMARTUnknown || !strings.Contains(h.Reasons[0], "does not exist") {
		t.Fatalf("got %s: %q", h.State, h.Reasons)
	}
	for _, bad := range []string{"", "..", "../etc/passwd", "sd\x00a"} {
		if h := (DeviceSMART{Root: root}).ReadSMART(context.Background(), bad); h.State != SMARTUnknown {
			t.Errorf("name %q: %s", bad, h.State)
		}
	}
}

// A device whose open never returns (a FIFO with no writer stands in for a hung disk)
// costs the timeout and is "unknown", never ok and never a hang.
func TestDeviceSMARTTimeout(t *testing.T) {
	root, dev := devRoot(t)
	fifo := filepath.Join(dev, "sdh")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Release the abandoned open.
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	start := time.Now()
	h := DeviceSMART{Root: root, Timeout: 200 * time.Millisecond}.ReadSMART(context.Background(), "sdh")
	took := time.Since(start)
	if h.State != SMARTUnknown || !strings.Contains(h.Reasons[0], "did not finish within 200ms") {
		t.Fatalf("got %s: %q", h.State, h.Reasons)
	}
	if took > 2*time.Second {
		t.Fatalf("the read took %s despite a 200ms timeout", took)
	}
}

func TestDeviceSMARTDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		// root opens anything: the mapping is checked directly.
		h := openError("/dev/sda", syscall.EACCES)
		if h.State != SMARTUnknown || !h.Denied {
			t.Fatalf("got %+v", h)
		}
		return
	}
	root, dev := devRoot(t)
	p := filepath.Join(dev, "sdd")
	if err := os.WriteFile(p, nil, 0); err != nil {
		t.Fatal(err)
	}
	h := DeviceSMART{Root: root}.ReadSMART(context.Background(), "sdd")
	if h.State != SMARTUnknown || !h.Denied {
		t.Fatalf("got %+v", h)
	}
}
