package plan_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/plan"
)

// imsmFixture discovers a capture made by discover's TestVMStatusScenarios on a real kernel.
func imsmFixture(t *testing.T, name string) *discover.System {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "discover", "testdata", "fixtures", name+".tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	if _, err := capture.Unpack(f, dir); err != nil {
		t.Fatal(err)
	}
	s, err := discover.Discover(host.NewRoot(dir))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBuildRefusesIMSMContainer: a disk of an IMSM container is refused in one line that
// gives the mdadm commands, never "no good copy … restore from backup" (issue 17, item 11).
func TestBuildRefusesIMSMContainer(t *testing.T) {
	tests := []struct {
		fixture, failed, new string
		want                 []string
	}{
		{
			// sdb failed out of md126 by mdmon, still in the container md127.
			fixture: "imsm-failed", failed: "WD-WCC4N1KPB002",
			want: []string{"sdb (WD-WCC4N1KPB002) is in the external-metadata (imsm) container md127",
				"do it with mdadm (md rebuilds the volumes from the container): mdadm /dev/md127 --remove /dev/sdb; swap the disk; mdadm --zero-superblock /dev/NEW; mdadm /dev/md127 --add /dev/NEW"},
		},
		{
			// sdb still in sync in md126: it is failed there first.
			fixture: "imsm-clean", failed: "sdb",
			want: []string{"container md127", ": mdadm /dev/md126 --fail /dev/sdb; mdadm /dev/md127 --remove /dev/sdb; swap the disk; mdadm --zero-superblock /dev/NEW; mdadm /dev/md127 --add /dev/NEW"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			sys := imsmFixture(t, tt.fixture)
			_, err := plan.Build(sys, plan.Request{Mode: plan.ReplaceFailed, Failed: tt.failed, New: tt.new, Firmware: plan.FirmwareBIOS}, ledOpts)
			var unsafe *plan.UnsafeError
			if err == nil || !errors.As(err, &unsafe) {
				t.Fatalf("Build: %v, want an UnsafeError", err)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("refusal %q\nlacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "restore from backup") || strings.Contains(msg, "\n") {
				t.Errorf("refusal %q: want one line, no backup advice", msg)
			}
		})
	}
}
