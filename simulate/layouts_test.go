package simulate

import (
	"os"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/golden"
)

const (
	tableBegin = "<!-- layout table: simulate/layouts.go (go test ./simulate -run TestLayoutsDoc -update) -->\n"
	tableEnd   = "<!-- end of layout table -->\n"
)

// TestLayoutsDoc keeps docs/layouts.md's table equal to the rows TestVMLayouts proves
// (-update rewrites it).
func TestLayoutsDoc(t *testing.T) {
	const path = "../docs/layouts.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(doc), tableBegin)
	_, after, ok2 := strings.Cut(rest, tableEnd)
	if !ok || !ok2 {
		t.Fatalf("%s lacks the layout table's markers", path)
	}
	want := before + tableBegin + LayoutsTable() + tableEnd + after
	if golden.Update() {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(doc) != want {
		t.Errorf("docs/layouts.md's table differs from layouts.go's rows; rerun with -update:\n%s", LayoutsTable())
	}
}

// TestLayoutsPlan checks each row builds: known levels, names, sizes.
func TestLayoutsPlan(t *testing.T) {
	for _, l := range Layouts() {
		var disks []string
		for i := range l.Disks {
			disks = append(disks, "/dev/vd"+string(rune('a'+i)))
		}
		if len(l.Arrays) > 0 {
			if _, err := PlanSeed(disks[:l.Disks-l.WholeDisks], Options{Arrays: l.Arrays, SwapSize: -1}); err != nil {
				t.Errorf("%s: %v", l.Name, err)
			}
		}
		if (l.Whole != nil) != (l.WholeDisks > 0) {
			t.Errorf("%s: Whole and WholeDisks go together", l.Name)
		}
		if l.Whole != nil {
			if _, err := PlanWholeDisk(disks[l.Disks-l.WholeDisks:], *l.Whole, Options{}); err != nil {
				t.Errorf("%s: %v", l.Name, err)
			}
		}
		switch l.Outcome {
		case Works, Refused, Stops:
		default:
			t.Errorf("%s: outcome %q", l.Name, l.Outcome)
		}
	}
}
