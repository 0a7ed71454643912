package identify

import (
	"path"
	"regexp"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
)

// A drill disk is a loop device over one of `raidswap drill`'s sparse files: its
// /sys/block/loopN/loop/backing_file is <lab>/raidswap-drill-<SERIAL>.img and <lab> holds the
// drill's marker file. It is listed as a disk even when it holds nothing, named by that
// serial, and nothing else is ever one. The kernel's backing_file is the only witness: a
// file raidswap wrote (inventory, plan) never makes a disk a drill disk.

// Names of a drill's files (the shared design of issue 12).
const (
	DrillMarker     = "raidswap-drill.json"
	DrillFilePrefix = "raidswap-drill-"
	DrillFileSuffix = ".img"
	// TransportLoop and DrillModel are what a drill disk reports.
	TransportLoop = "loop"
	DrillModel    = "raidswap drill disk"
	// SerialSourceDrill says the serial came from a drill disk's backing file name.
	SerialSourceDrill = "drill"
)

var (
	drillSerialRE = regexp.MustCompile(`^DRILL-[A-Z0-9-]{1,32}$`)
	loopNameRE    = regexp.MustCompile(`^loop[0-9]{1,6}$`)
	// labPathRE is what a lab directory may look like: an absolute path of plain characters.
	labPathRE = regexp.MustCompile(`^/[A-Za-z0-9._/+-]+$`)
)

// DrillDisk reports whether the whole disk name (loopN) is a drill disk, and if so its serial
// and lab directory. Everything it reads goes through the Root: under a capture the marker is
// looked for inside the capture. A backing file that is not exactly <lab>/raidswap-drill-
// <SERIAL>.img (deleted, relative, holding "..", control characters, too long), a serial
// outside ^DRILL-[A-Z0-9-]{1,32}$ or a missing marker: not a drill disk.
func DrillDisk(root *host.Root, name string) (serial, lab string, ok bool) {
	if !loopNameRE.MatchString(name) {
		return "", "", false
	}
	b, err := root.ReadFile("/sys/block/" + name + "/loop/backing_file")
	if err != nil || len(b) > 4096 { // PATH_MAX
		return "", "", false
	}
	// sysfs ends the attribute with one newline; anything else around it is not a path.
	backing := strings.TrimSuffix(string(b), "\n")
	if !labPathRE.MatchString(backing) || path.Clean(backing) != backing {
		return "", "", false
	}
	dir, file := path.Split(backing)
	lab = strings.TrimSuffix(dir, "/")
	if lab == "" || path.Clean(lab) != lab {
		return "", "", false
	}
	serial, found := strings.CutPrefix(file, DrillFilePrefix)
	if !found {
		return "", "", false
	}
	if serial, found = strings.CutSuffix(serial, DrillFileSuffix); !found || !drillSerialRE.MatchString(serial) {
		return "", "", false
	}
	if !root.Exists(path.Join(lab, DrillMarker)) {
		return "", "", false
	}
	return serial, lab, true
}

// IsDrillSerial reports whether s has the form of a drill disk's serial.
func IsDrillSerial(s string) bool { return drillSerialRE.MatchString(s) }
