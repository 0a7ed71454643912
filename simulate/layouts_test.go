package simulate

import (
	"os"
	"strings"
	"testing"
)

// TestLayoutsDoc keeps docs/layouts.md's table equal to the rows TestVMLayouts proves.
func TestLayoutsDoc(t *testing.T) {
	doc, err := os.ReadFile("../docs/layouts.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := LayoutsTable(); !strings.Contains(string(doc), want) {
		t.Errorf("docs/layouts.md does not hold the layout table as layouts.go has it; put this there:\n%s", want)
	}
}

// TestLayoutsPlan checks each row builds: known levels, names, sizes.
func TestLayoutsPlan(t *testing.T) {
	for _, l := range Layouts() {
		var disks []string
		for i := range l.Disks {
			disks = append(disks, "/dev/vd"+string(rune('a'+i)))
		}
		if _, err := PlanSeed(disks, Options{Arrays: l.Arrays, SwapSize: -1}); err != nil {
			t.Errorf("%s: %v", l.Name, err)
		}
		if l.Outcome != Works && l.Outcome != Refused {
			t.Errorf("%s: outcome %q", l.Name, l.Outcome)
		}
	}
}
