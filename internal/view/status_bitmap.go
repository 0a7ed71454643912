package view

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
)

// writeBitmaps says, under the arrays, which have no write-intent bitmap: without one a disk
// that drops out for a moment (a loose cable, a bus reset) costs a full rebuild when it
// comes back, instead of the seconds a --re-add takes.
// The command is suggested only on an array that is redundant now (Array.Redundant): adding a
// bitmap is safe there, and it waits until a degraded or rebuilding one is whole again.
func writeBitmaps(b *strings.Builder, s *discover.System) {
	for _, a := range s.Arrays {
		if a.Bitmap != "none" || a.External() || !a.LevelRedundant() || (a.Drill != "" && s.Scope == nil) {
			continue
		}
		if red, _ := a.Redundant(); red {
			fmt.Fprintf(b, "%s: bitmap: none (a disk that drops out for a moment costs a full rebuild): %s\n", a.Name, BitmapCommand(a.Name))
		} else {
			fmt.Fprintf(b, "%s: bitmap: none (a disk that drops out for a moment costs a full rebuild); add one once %s is redundant again, not now\n", a.Name, a.Name)
		}
	}
}

// BitmapCommand is the command that gives an array an internal write-intent bitmap.
func BitmapCommand(array string) string {
	return "mdadm --grow --bitmap=internal /dev/" + array
}

// NoBitmap lists the arrays without a write-intent bitmap that are redundant now, the ones
// BitmapCommand may be suggested for. Arrays with external metadata
// (IMSM, DDF) are left out: mdadm cannot give them an internal bitmap.
func NoBitmap(s *discover.System) []string {
	var out []string
	for _, a := range s.Arrays {
		if red, _ := a.Redundant(); a.Bitmap == "none" && red && !a.External() {
			out = append(out, a.Name)
		}
	}
	return out
}
