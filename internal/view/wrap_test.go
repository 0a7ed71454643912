package view

import (
	"strings"
	"testing"
)

func TestWrap(t *testing.T) {
	in := "      the new disk must be at least 8589934592 bytes, not the survivor, in no array /dev/disk/by-path/pci-0000:00:0b.0-ata-1"
	got := Wrap(in, 40)
	for _, l := range strings.Split(got, "\n") {
		if len(l) > 40 && !strings.Contains(l, "/dev/disk/by-path") {
			t.Errorf("line longer than 40: %q", l)
		}
	}
	if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(in), " ") {
		t.Errorf("words changed: %q", got)
	}
	if !strings.Contains(got, "\n        ") {
		t.Errorf("continuation not indented under its line: %q", got)
	}
	if !strings.Contains(got, "/dev/disk/by-path/pci-0000:00:0b.0-ata-1") {
		t.Errorf("a long word was cut: %q", got)
	}
	if Wrap("short", 40) != "short" || Wrap(in, 0) != in {
		t.Error("a short line or width 0 changed")
	}
}

// A size never breaks from its unit: the line breaks before the number.
func TestWrapKeepsUnits(t *testing.T) {
	in := "  size: 128.0 MiB against 128.0 MiB needed for the survivor's layout (md0 39.9 MiB, md1 68.9 MiB): ok"
	for w := 30; w <= 100; w++ {
		got := Wrap(in, w)
		for _, l := range strings.Split(got, "\n") {
			if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "MiB") {
				t.Errorf("width %d: a line starts with its unit: %q", w, l)
			}
		}
		if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(in), " ") {
			t.Errorf("width %d: words changed: %q", w, got)
		}
	}
}
