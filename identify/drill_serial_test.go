package identify

import (
	"strings"
	"testing"
)

// TestDrillSerial: one rule says what a drill disk's serial is, for the lab that makes the
// disk, the cleanup that finds its image and identify that names its loop: DRILL- and 1 to 26
// of A-Z, 0-9, "-" (DrillSerialMax bytes in all), and an image file name carries exactly one.
func TestDrillSerial(t *testing.T) {
	for _, tt := range []struct {
		serial string
		ok     bool
	}{
		{"DRILL-A3F9C", true},
		{"DRILL-A", true},
		{"DRILL-A-1", true},
		{"DRILL-" + strings.Repeat("Z", 26), true}, // DrillSerialMax bytes
		{"DRILL-" + strings.Repeat("Z", 27), false},
		{"DRILL-" + strings.Repeat("Z", 32), false},
		{"DRILL-", false},
		{"DRILL-a3f9c", false},
		{"drill-A3F9C", false},
		{"WD-A3F9C", false},
		{" DRILL-A3F9C", false},
		{"DRILL-A3F9C\n", false},
		{"DRILL-A/B", false},
		{"DRILL-A.img", false},
		{"DRILL-../X", false},
		{"", false},
	} {
		if got := IsDrillSerial(tt.serial); got != tt.ok {
			t.Errorf("IsDrillSerial(%q) = %v, want %v", tt.serial, got, tt.ok)
		}
		if len(tt.serial) > DrillSerialMax && IsDrillSerial(tt.serial) {
			t.Errorf("%q: longer than DrillSerialMax (%d) yet a drill serial", tt.serial, DrillSerialMax)
		}
		file := DrillFile(tt.serial)
		s, ok := DrillFileSerial(file)
		if ok != tt.ok || (ok && s != tt.serial) {
			t.Errorf("DrillFileSerial(%q) = %q, %v; want %q, %v", file, s, ok, tt.serial, tt.ok)
		}
	}
	for _, name := range []string{"raidswap-drill.json", "raidswap-drill-DRILL-A1.img.tmp", "x-raidswap-drill-DRILL-A1.img", "raidswap-drill-DRILL-A1.IMG", "raidswap-drill-DRILL-A1"} {
		if s, ok := DrillFileSerial(name); ok {
			t.Errorf("DrillFileSerial(%q) = %q, true; not an image name", name, s)
		}
	}
}
