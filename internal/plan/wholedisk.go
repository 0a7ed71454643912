package plan

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
)

// Whole-disk members: an array built over /dev/vdb and /dev/vdc themselves, with no
// partition table (issue 17). There is no table to clone: the new disk is checked, its stale
// superblock cleared, and the whole disk added. A disk is either a whole-disk member of one
// array or partitioned, never both: one that is a whole-disk member and has partitions too is
// refused (WholeDiskPartitioned), by the plan and again by the executor right before a write.

// WholeDiskPartitioned says why disk d, which is (or is to become) a whole-disk member of
// array, may not be planned on or written: it has partitions as well. "" when it has none.
// It is the one rule for "a whole-disk member has no partition table"; plan.Build and the
// executor's checks both ask it.
func WholeDiskPartitioned(d *discover.Disk, array string) string {
	if len(d.Partitions) == 0 {
		return ""
	}
	return fmt.Sprintf("it has partitions (%s), and %s's members are whole disks: md and a partition table would claim the same sectors, and raidswap cannot tell which is meant",
		strings.Join(d.Partitions, ", "), array)
}

// checkWholeDisk refuses what whole-disk members cannot be: a plan mixing whole-disk arrays
// with partitioned ones (a disk that is the member of one array cannot hold partitions of
// another), a survivor or an attached failed disk that also has partitions, and /boot on a
// whole-disk array.
func (b *builder) checkWholeDisk() error {
	var whole, parts []string
	for _, r := range b.arrays {
		if r.whole {
			whole = append(whole, r.a.Name)
		} else {
			parts = append(parts, r.a.Name)
		}
	}
	if len(whole) == 0 {
		return nil
	}
	if len(parts) > 0 {
		return &InputError{Device: b.survivor.Name, Serial: b.survivor.Serial, Reason: fmt.Sprintf(
			"is a whole-disk member of %s and holds partition members of %s: a disk cannot be both; raidswap refuses to guess which layout is real",
			strings.Join(whole, ", "), strings.Join(parts, ", "))}
	}
	array := whole[0]
	if b.req.Wipe && b.req.Mode != ReAdd {
		return &InputError{Device: b.req.New, Reason: fmt.Sprintf("--wipe erases the new disk by writing the survivor's partition table over it, and %s's members are whole disks (no table to write): erase the new disk yourself (wipefs --all) and plan without --wipe",
			array)}
	}
	if why := WholeDiskPartitioned(b.survivor, array); why != "" {
		return &InputError{Device: b.survivor.Name, Serial: b.survivor.Serial, Reason: "the survivor: " + why}
	}
	if f := b.failed; f.Present {
		if why := WholeDiskPartitioned(f, array); why != "" {
			return &InputError{Device: f.Name, Serial: f.Serial, Reason: why}
		}
	}
	if boot := b.sys.Host.Boot.Boot.Array; boot != "" && b.role(boot) != nil {
		where := "/boot"
		if b.sys.Host.Boot.Boot.OnRoot {
			where = "/ (and /boot on it)"
		}
		return &UnsafeError{Reason: fmt.Sprintf("boot: %s lives on %s, whose members are whole disks: a whole disk holds no BIOS boot partition or ESP, so these disks cannot boot from %s the way raidswap sets up; raidswap does not guess GRUB's behaviour here (docs/runbook.md, whole-disk members)",
			where, boot, boot)}
	}
	return nil
}

// wholeDisk reports whether the plan's arrays are built over whole disks (checkWholeDisk
// makes that all or none of them).
func (b *builder) wholeDisk() bool {
	return len(b.arrays) > 0 && b.arrays[0].whole
}

// minNewSize is the smallest new disk the plan accepts, and where that number comes from
// ("" for the survivor's size). A partitioned layout needs the survivor's size (its table is
// cloned). A whole-disk member of metadata 1.1 or 1.2 needs md's data offset plus the
// component size: md/dev-*/offset of the survivor's member and md/component_size (sysfs),
// the bound `mdadm --add` checks ("not large enough to join array"), measured exact in the
// VM. Metadata 0.90 and 1.0 keep their superblock (and bitmap) after the data, in a space
// mdadm sizes by version: the survivor's size is asked for there.
func (b *builder) minNewSize() (uint64, string) {
	s := b.survivor.SizeBytes
	if !b.wholeDisk() {
		return s, ""
	}
	r := b.arrays[0]
	if r.a.Metadata != "1.1" && r.a.Metadata != "1.2" || r.a.SizeKiB <= 0 {
		return s, ""
	}
	for _, m := range r.a.Members {
		if m.Device == nil || *m.Device != r.survivorDev || m.DataOffsetSectors == nil || *m.DataOffsetSectors < 0 {
			continue
		}
		need := uint64(*m.DataOffsetSectors)*512 + uint64(r.a.SizeKiB)*1024
		if need > s {
			return s, ""
		}
		return need, fmt.Sprintf("%s's data offset on %s (%d sectors, md/dev-%s/offset) + its component size (%d KiB, md/component_size), from sysfs",
			r.a.Name, r.survivorDev, *m.DataOffsetSectors, r.survivorDev, r.a.SizeKiB)
	}
	return s, ""
}

// newMemberText names the new disk's member of r in condition texts: "new partition 2", or
// "the new disk" for a whole-disk member.
func newMemberText(r arrayRole) string {
	if r.whole {
		return "the new disk"
	}
	return fmt.Sprintf("new partition %d", r.part)
}

// newFree is the precondition that the new disk's member of r is free to be written: the
// partition (partition-free) or, for a whole-disk member, the disk (disk-free).
func newFree(r arrayRole) Condition {
	if r.whole {
		return Condition{Kind: CondDiskFree, Device: NewDiskToken, Text: "the new disk is in no array, holds nothing mounted, no holder, no active swap"}
	}
	return Condition{Kind: CondPartitionFree, Device: NewDiskToken, Partition: r.part, Text: fmt.Sprintf("new partition %d is in no array", r.part)}
}
