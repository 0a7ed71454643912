package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/inventory"
)

// unpackFixture unpacks one of discover's captured trees into a writable temporary root.
func unpackFixture(t *testing.T, name string) string {
	t.Helper()
	in, err := os.Open(fixture(name))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dir := t.TempDir()
	if _, err := capture.Unpack(in, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestInventorySave(t *testing.T) {
	dir := unpackFixture(t, "failed")
	_ = os.Remove(filepath.Join(dir, inventory.Path))
	code, out, errOut := run(t, "inventory", "save", "--root", dir)
	if code != ExitOK || !strings.Contains(out, "inventory updated: 2 disk(s)") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	b, err := os.ReadFile(filepath.Join(dir, inventory.Path))
	if err != nil {
		t.Fatal(err)
	}
	var inv inventory.Inventory
	if err := json.Unmarshal(b, &inv); err != nil {
		t.Fatal(err)
	}
	surv, ok := inv.Disks["WD-WCC4N1KPA001"]
	if !ok || len(surv.Members) != 2 || surv.ByPath == "" {
		t.Errorf("survivor not remembered with its two slots and by-path: %+v", surv)
	}
	// The failed disk holds no in_sync slot now; it is remembered by identity.
	if _, ok := inv.Disks["WD-WCC4N1KPB002"]; !ok {
		t.Errorf("failed disk not remembered: %s", b)
	}
	// A second save within the hour changes nothing and says so; --textfile writes the
	// metrics too.
	code, out, _ = run(t, "inventory", "save", "--root", dir, "--textfile", "/var/lib/prometheus/node-exporter/raidswap.prom")
	if code != ExitOK || !strings.Contains(out, "inventory unchanged") {
		t.Errorf("second save: exit %d, %q", code, out)
	}
	prom, err := os.ReadFile(filepath.Join(dir, "var/lib/prometheus/node-exporter/raidswap.prom"))
	if err != nil || !strings.Contains(string(prom), "raidswap_status_verdict 2\n") {
		t.Errorf("textfile: %v\n%s", err, prom)
	}
}

func TestInventorySaveRefuses(t *testing.T) {
	code, _, errOut := run(t, "inventory", "save", "--root", fixture("failed"))
	if code != ExitUsage || !strings.Contains(errOut, "a capture file is only read") {
		t.Errorf("capture file: exit %d, stderr %q", code, errOut)
	}
	empty := t.TempDir()
	code, _, errOut = run(t, "inventory", "save", "--root", empty)
	if code != ExitUnknown || !strings.Contains(errOut, "not a system root") {
		t.Errorf("empty root: exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(empty, inventory.Path)); err == nil {
		t.Errorf("an inventory was written into a tree that is no system root")
	}
}
