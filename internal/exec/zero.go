package exec

import (
	"fmt"

	"github.com/raidswap/raidswap/internal/plan"
)

// The partition-clone step's journal notes: whether its libblkid probe found every new
// partition's region clean (Cloned.Clean), and the serial of the disk it probed.
const (
	noteClonedClean  = "cloned_clean"
	noteClonedSerial = "cloned_serial"
)

// superblocksProvedAbsent says why a zero-superblock step on the new disk's partitions has
// nothing to do, or "" when it must run. It has nothing to do when this run's partition-clone
// probed the region of every new partition of this same disk (by serial) with libblkid right
// before writing its table, and found nothing there: libblkid looks for md superblocks of
// every version (0.90 and 1.0 at a region's end, 1.1 and 1.2 at its start), so none is left
// where the new partitions lie. Nothing writes those regions between the clone and this step:
// the table's write touches only the table's own sectors, and partitions that hold nothing
// give udev's incremental assembly nothing to take. A whole-disk member (no clone), a clone
// that found data (--wipe), a clone of another disk, or a journal without the note (a clone
// interrupted before it, found done on resume) makes the step run.
func (r *run) superblocksProvedAbsent(s plan.Step) string {
	if s.Action != plan.ActionZeroSuperblock || s.Target.WholeDisk || s.Target.Device != plan.NewDiskToken {
		return ""
	}
	d := r.w.newDisk()
	if d == nil {
		return ""
	}
	clean, at := r.j.DataIndex(noteClonedClean)
	serial, sat := r.j.DataIndex(noteClonedSerial)
	if at < 0 || sat != at || clean != "true" || serial != d.Serial {
		return ""
	}
	return fmt.Sprintf("partition-clone's libblkid probe found nothing where the new partitions of %s lie: no stale md superblock to clear", d.Label())
}
