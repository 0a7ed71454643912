package identify

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

// BenchmarkDeviceSMART measures what one disk's SMART read costs `raidswap status` (open,
// IDENTIFY, SMART READ DATA and READ THRESHOLDS or GET LOG PAGE 02h, judge, close) for each
// kernel name in RAIDSWAP_SMART_BENCH (comma-separated). It needs real devices:
// TestVMSMART (internal/discover) runs it inside a guest on QEMU's emulated SATA and NVMe
// disks and a virtio disk, and logs the figures.
func BenchmarkDeviceSMART(b *testing.B) {
	list := os.Getenv("RAIDSWAP_SMART_BENCH")
	if list == "" {
		b.Skip("RAIDSWAP_SMART_BENCH names no device (TestVMSMART sets it inside the VM)")
	}
	r := DeviceSMART{Root: host.NewRoot("/")}
	for _, name := range strings.Split(list, ",") {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if h := r.ReadSMART(context.Background(), name); h.State == SMARTUnknown {
					b.Fatalf("%s: %s", name, h.Summary())
				}
			}
		})
	}
}
