package exec

import (
	"fmt"

	"github.com/raidswap/raidswap/internal/plan"
)

// The partition-clone step's journal notes: whether its write zeroed both ends of every new
// partition (Cloned.Cleared), and the serial of the disk it wrote.
const (
	noteClonedCleared = "cloned_cleared"
	noteClonedSerial  = "cloned_serial"
)

// superblocksCleared says why a zero-superblock step on the new disk's partitions has nothing
// to do, or "" when it must run. It has nothing to do when this run's partition-clone wrote
// this same disk (by serial) and zeroed the first and last MiB of every new partition on the
// way (partition.Write), where md keeps its superblocks of every version: mdadm would find
// none to clear. A whole-disk member (no clone), a clone that did not report the ends zeroed,
// a clone of another disk, or a journal without the note (a clone interrupted before it,
// found done on resume) makes the step run.
func (r *run) superblocksCleared(s plan.Step) string {
	if s.Action != plan.ActionZeroSuperblock || s.Target.WholeDisk || s.Target.Device != plan.NewDiskToken {
		return ""
	}
	d := r.w.newDisk()
	if d == nil {
		return ""
	}
	cleared, at := r.j.DataIndex(noteClonedCleared)
	serial, sat := r.j.DataIndex(noteClonedSerial)
	if at < 0 || sat != at || cleared != "true" || serial != d.Serial {
		return ""
	}
	return fmt.Sprintf("partition-clone zeroed the first and last MiB of every new partition of %s, where md keeps its superblocks: none is left to clear", d.Label())
}
