package discover_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/host"
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
