package discover_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/inventory"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/view"
)

// Discovery gives each disk of identify's hand-written enclosure tree (its layout is
// described in identify/enclosure_test.go) its bay, or says why not.
func TestDiscoverBays(t *testing.T) {
	s, err := discover.Discover(host.NewRoot(filepath.Join("..", "..", "identify", "testdata", "enclosure", "root")))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"sda":     `enclosure 0:0:0:0 (HPE D3700, id 0x5001438012345678) slot "Slot 01" (number 1)`,
		"sdb":     `enclosure 0:0:0:0 (HPE D3700, id 0x5001438012345678) slot "Slot 02" (number 2)`,
		"nvme0n1": "the PCIe slot of 0000:05:00.0 (NPEM LEDs)",
		"vda":     "",
	}
	for name, label := range want {
		d := s.Disk(name)
		if d == nil {
			t.Fatalf("%s not discovered", name)
		}
		got := ""
		if d.Bay != nil {
			got = d.Bay.Label()
		}
		if got != label {
			t.Errorf("%s: bay %q, want %q", name, got, label)
		}
	}
	if d := s.Disk("sdd"); d == nil || d.Bay != nil || !strings.Contains(d.BayProblem, "2 enclosure slots claim it") {
		t.Errorf("sdd: %+v", d)
	}
	var human, js bytes.Buffer
	if err := view.StatusHuman(&human, s); err != nil {
		t.Fatal(err)
	}
	golden.Contains(t, human.String(), "BAYS\n",
		`sda (serial unknown)      LED enclosure  enclosure 0:0:0:0 (HPE D3700, id 0x5001438012345678) slot "Slot 01" (number 1)`,
		`nvme0n1 (serial unknown)  LED npem       the PCIe slot of 0000:05:00.0 (NPEM LEDs)`,
		`sdd (serial unknown)      no LED         UNKNOWN: 2 enclosure slots claim it`)
	if err := view.StatusJSON(&js, s); err != nil {
		t.Fatal(err)
	}
	golden.Contains(t, js.String(), `"led": "enclosure"`, `"slot": "Slot 01"`, `"locate": "/sys/class/enclosure/0:0:0:0/Slot 01/locate"`, `"bay_problem": "2 enclosure slots claim it`)
	if d := s.Disk("sdc"); d == nil || d.Bay != nil || !strings.Contains(d.BayProblem, `"Slot 04"`) {
		t.Errorf("sdc: %+v", d)
	}
}

// A disk pulled from a real kernel (the VM capture "vanished") is named with the bay the
// inventory remembers for it, in status and in the plan's locate step.
func TestVanishedDiskKeepsItsBay(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "fixtures", "vanished.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	if _, err := capture.Unpack(f, dir); err != nil {
		t.Fatal(err)
	}
	invPath := filepath.Join(dir, "var/lib/raidswap/inventory.json")
	b, err := os.ReadFile(invPath)
	if err != nil {
		t.Fatal(err)
	}
	var inv inventory.Inventory
	if err := json.Unmarshal(b, &inv); err != nil {
		t.Fatal(err)
	}
	e := inv.Disks["WD-WCC4N1KPB002"]
	n := 2
	e.Bay = &identify.Bay{LED: identify.LEDEnclosure, Enclosure: "0:0:0:0", EnclosureID: "0x5001438012345678", Slot: "Slot 02", Number: &n}
	inv.Disks["WD-WCC4N1KPB002"] = e
	if b, err = json.Marshal(&inv); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(invPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := discover.Discover(host.NewRoot(dir))
	if err != nil {
		t.Fatal(err)
	}
	d := s.Disk("vdb")
	if d == nil || d.Present || d.Bay == nil || d.Bay.Slot != "Slot 02" {
		t.Fatalf("vanished vdb: %+v", d)
	}
	var human bytes.Buffer
	if err := view.StatusHuman(&human, s); err != nil {
		t.Fatal(err)
	}
	golden.Contains(t, human.String(), `vdb (WD-WCC4N1KPB002)  LED enclosure  was in enclosure 0:0:0:0 (id 0x5001438012345678) slot "Slot 02" (number 2) (remembered)`)
	p, err := plan.Build(s, plan.Request{Mode: plan.ReplaceFailed, Failed: "WD-WCC4N1KPB002", Firmware: plan.FirmwareBIOS},
		plan.Options{Version: "test", Key: []byte("raidswap plan test key, 32 bytes")})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range p.Steps {
		if st.Action == plan.ActionLocate {
			if st.Target.LED == nil || !st.Target.LED.Remembered || st.Target.LED.Slot != "Slot 02" {
				t.Errorf("locate LED %+v", st.Target.LED)
			}
			golden.Contains(t, st.Reason, `light the locate LED of enclosure 0:0:0:0 (id 0x5001438012345678) slot "Slot 02"`, "where the inventory last saw vdb (WD-WCC4N1KPB002)")
		}
	}
}

// Remember records each present disk's bay in the inventory.
func TestRememberRecordsTheBay(t *testing.T) {
	n := 1
	bay := &identify.Bay{LED: identify.LEDEnclosure, Enclosure: "0:0:0:0", Slot: "Slot 01", Number: &n}
	s := &discover.System{Disks: []discover.Disk{{Name: "sda", Serial: "WD-A", Present: true, Bay: bay}}}
	inv, changed := s.Remember(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if !changed || inv.Disks["WD-A"].Bay == nil || inv.Disks["WD-A"].Bay.Slot != "Slot 01" {
		t.Errorf("changed %v, entry %+v", changed, inv.Disks["WD-A"])
	}
}
