package discover_test

import (
	"slices"
	"strings"
	"testing"
)

// TestStackedFixtures discovers captures of stacked layouts made by
// bootloader.TestVMStackedBootBIOS (-update): what rests on an array through LVM or a
// partition of it is the array's use, and /boot is on it.
func TestStackedFixtures(t *testing.T) {
	for _, tc := range []struct {
		name, mount, via string
		swap             bool
	}{
		{"stack-lvm-root-boot-dir", "/", "/boot (a directory on /) → dm-0 (LVM vg0-root) → md0 → vda2, vdb2", true},
		{"stack-md-partition-boot", "/boot", "/boot → md0p1 (partition of md0) → md0 → vda2, vdb2", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := loadFixture(t, tc.name)
			a := s.Array("md0")
			if a == nil {
				t.Fatal("no md0")
			}
			if !slices.Contains(a.Mountpoints, tc.mount) || a.Swap != tc.swap {
				t.Errorf("md0 holds %q (swap %t), want %s (swap %t)", a.Mountpoints, a.Swap, tc.mount, tc.swap)
			}
			b := s.Host.Boot.Boot
			if b.Array != "md0" || b.Via != tc.via {
				t.Errorf("boot %+v, want md0 via %s", b, tc.via)
			}
			if len(s.Problems) > 0 && strings.Contains(strings.Join(s.Problems, "\n"), "mountinfo") {
				t.Errorf("problems: %q", s.Problems)
			}
		})
	}
}
