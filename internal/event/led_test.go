package event

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/host/hosttest"
)

// enclosureTree copies identify's hand-written enclosure tree (links kept): sda sits in
// "Slot 01" of a SES enclosure, sdf behind an SGPIO port that only ledctl drives, vda in no bay.
func enclosureTree(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "..", "identify", "testdata", "enclosure", "root")
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, out)
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestIdentifyLED(t *testing.T) {
	dir := enclosureTree(t)
	if err := os.MkdirAll(filepath.Join(dir, "usr/sbin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "usr/sbin/ledctl"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	run := hosttest.NewFakeRunner(t, hosttest.Expect{Argv: []string{host.Ledctl, "failure=/dev/sdf"}})
	led := IdentifyLED{Root: host.NewRoot(dir), Runner: run}
	ctx := context.Background()
	fault := filepath.Join(dir, "sys/class/enclosure/0:0:0:0/Slot 01/fault")
	if err := led.SetFault(ctx, discover.Disk{Name: "sda", Serial: "A"}, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(fault); string(b) != "1" {
		t.Errorf("Slot 01 fault %q after on", b)
	}
	if err := led.SetFault(ctx, discover.Disk{Name: "sda", Serial: "A"}, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(fault); string(b) != "0" {
		t.Errorf("Slot 01 fault %q after off", b)
	}
	if err := led.SetFault(ctx, discover.Disk{Name: "sdf"}, true); err != nil {
		t.Fatal(err)
	}
	// A disk in no bay: an error naming it, which the hook notes and goes on.
	if err := led.SetFault(ctx, discover.Disk{Name: "vda"}, true); err == nil || !strings.Contains(err.Error(), "vda") {
		t.Errorf("vda: %v", err)
	}
}
