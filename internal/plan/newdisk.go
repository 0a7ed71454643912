package plan

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/partition"
)

// NewDiskRule names the rule by which a disk was refused as the new disk.
type NewDiskRule string

// The rules, in the order CheckNewDisk applies them.
const (
	NewDiskNoSerial  NewDiskRule = "no-serial"
	NewDiskSurvivor  NewDiskRule = "survivor"
	NewDiskFailed    NewDiskRule = "failed"
	NewDiskInUse     NewDiskRule = "in-use"
	NewDiskTooSmall  NewDiskRule = "too-small"
	NewDiskHoldsData NewDiskRule = "holds-data"
	NewDiskSMART     NewDiskRule = "smart"
)

// NewDiskError is a disk refused as the new disk: which rule refused it, and why. It is an
// *InputError too (errors.As), so plan's callers treat it as any refused request.
type NewDiskError struct {
	Rule   NewDiskRule
	Device string
	Serial string
	// Reason is said of the disk after its name: "vdc (WD-NEW): is too small: ...".
	Reason string
}

func (e *NewDiskError) Error() string { return e.input().Error() }

// As makes a NewDiskError an *InputError for errors.As.
func (e *NewDiskError) As(target any) bool {
	if t, ok := target.(**InputError); ok {
		*t = e.input()
		return true
	}
	return false
}

func (e *NewDiskError) input() *InputError {
	return &InputError{Device: e.Device, Serial: e.Serial, Reason: e.Reason}
}

// Sentence is the reason as a sentence of its own, for "refusing to write /dev/vdc (WD-NEW):
// it is too small: ...".
func (e *NewDiskError) Sentence() string {
	if e.Rule == NewDiskInUse {
		return e.Reason
	}
	return "it " + e.Reason
}

// CheckNewDisk is raidswap's one rule for "may this attached disk be the new disk" of a
// replacement between disks: it has a serial, is neither the survivor nor the failed disk
// (unless the plan returns the failed disk itself, a re-add), is not in use
// (partition.InUse), is as large as disks.New.MinSizeBytes, and holds no partitions unless
// disks.New.Wipe, and reports no bad sectors or predicted failure by its own SMART unless
// disks.New.AcceptSMART (a re-add's returning disk is not judged by it). Plan calls it while resolving the request; exec again before writing,
// where libblkid's deeper look (partition's Inspect) follows it.
func CheckNewDisk(d *discover.Disk, disks Disks) error {
	refuse := func(rule NewDiskRule, format string, args ...any) error {
		return &NewDiskError{Rule: rule, Device: d.Name, Serial: d.Serial, Reason: fmt.Sprintf(format, args...)}
	}
	s := disks.Survivor
	reAdd := disks.Failed.Serial != "" && disks.New.Serial == disks.Failed.Serial
	switch {
	case d.Serial == "":
		return refuse(NewDiskNoSerial, "has no serial: raidswap binds the new disk to its serial")
	case (s.Device != "" && d.Name == s.Device) || (s.Serial != "" && d.Serial == s.Serial):
		return refuse(NewDiskSurvivor, "is the survivor, which holds the only good copy: it cannot be the new disk")
	case d.Serial == disks.Failed.Serial && !reAdd:
		return refuse(NewDiskFailed, "is the failed disk itself; to return it to its arrays use re-add")
	}
	if why := partition.InUse(d.Uses()...); why != "" {
		return refuse(NewDiskInUse, "%s", why)
	}
	if d.SizeBytes < disks.New.MinSizeBytes {
		if disks.New.MinSizeFrom != "" {
			return refuse(NewDiskTooSmall, "is too small: %d bytes, it needs %d: %s", d.SizeBytes, disks.New.MinSizeBytes, disks.New.MinSizeFrom)
		}
		return refuse(NewDiskTooSmall, "is too small: %d bytes, the survivor %s has %d", d.SizeBytes, s.Label(), disks.New.MinSizeBytes)
	}
	if len(d.Partitions) > 0 && !disks.New.Wipe && !reAdd {
		return refuse(NewDiskHoldsData, "holds data (partitions %s); check it is the right disk, then give --wipe to erase it", strings.Join(d.Partitions, ", "))
	}
	if why := newDiskSMARTProblem(d.SMART); why != "" && !disks.New.AcceptSMART && !reAdd {
		return refuse(NewDiskSMART, "%s: a new disk should start with none; use another disk, or accept this one with --accept-new-disk-smart", why)
	}
	return nil
}
