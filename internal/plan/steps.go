package plan

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/human"
	"github.com/raidswap/raidswap/mdadm"
)

func hasBitmap(a *discover.Array) bool { return a.Bitmap != "" && a.Bitmap != "none" }

// swapOffSteps turn off the failed disk's active swap before it is taken away.
func (b *builder) swapOffSteps() {
	f := b.failed
	for _, name := range f.Swap {
		n := PartitionNumber(f.Name, name)
		b.add(Step{ID: "swapoff-" + name, Action: ActionSwapOff, Destructive: true,
			Target:         Target{Device: name, Serial: f.Serial},
			Preconditions:  []Condition{b.failedSerialCond()},
			Postconditions: []Condition{{Kind: CondSwapInactive, Device: f.Name, Serial: f.Serial, Partition: n, Text: name + " is not active swap"}},
			Reason:         fmt.Sprintf("%s on %s is active swap; the kernel must stop using it before the disk goes", name, f.Label()),
			Undo:           "swapon /dev/" + name})
	}
}

func (b *builder) detachStep(r arrayRole) {
	f := b.failed
	a := r.a
	s := Step{ID: "detach-" + a.Name, Action: ActionDetach, Destructive: true,
		Target: Target{Device: r.failedDev, Serial: f.Serial, Array: a.Name, ArrayUUID: a.UUID}}
	other := Condition{Kind: CondOtherInSync, Array: a.Name, ArrayUUID: a.UUID, Device: f.Name, Serial: f.Serial,
		Text: fmt.Sprintf("%s keeps an in_sync member on a disk other than %s", a.Name, f.Label())}
	post := Condition{Kind: CondNoMemberOn, Array: a.Name, ArrayUUID: a.UUID, Device: f.Name, Serial: f.Serial,
		Text: fmt.Sprintf("%s has no member on %s and none whose device has gone", a.Name, f.Label())}
	s.Postconditions = []Condition{post}
	switch {
	case r.failedDev == "" || r.failedState == discover.MemberMissing:
		s.Target.Detached = true
		s.Preconditions = []Condition{arrayCond(a), other}
		s.Reason = fmt.Sprintf("md no longer lists %s in %s; this clears any member left behind by a device that has gone (a no-op when there is none)", f.Label(), a.Name)
	case r.failedGone || !f.Present:
		s.Target.Detached = true
		s.Preconditions = []Condition{arrayCond(a), other}
		s.Reason = fmt.Sprintf("%s's member %s (%s) has no device any more: `detached` is how mdadm names it", a.Name, r.failedDev, r.failedState)
	default:
		s.Preconditions = []Condition{arrayCond(a), b.failedSerialCond(), other}
		switch {
		case r.failedState == discover.MemberFaulty:
			s.Reason = fmt.Sprintf("%s's member %s on %s is faulty: take it out of the array", a.Name, r.failedDev, f.Label())
		case r.recoverFirst():
			s.Reason = fmt.Sprintf("%s has rebuilt its empty slot onto the new disk, so it can now lose %s (in_sync, on %s, which is coming out): it is failed and removed before the disk is pulled; %s stays short of that one slot",
				a.Name, r.failedDev, f.Label(), a.Name)
		case r.failedState == discover.MemberInSync:
			s.Reason = fmt.Sprintf("%s is still in_sync in %s, but %s is coming out: it is failed here too, on purpose, so no array keeps a member on a disk about to be pulled (%s keeps %s)",
				r.failedDev, a.Name, f.Label(), a.Name, r.survivorDev)
		default:
			s.Reason = fmt.Sprintf("%s's member %s on %s is %s: take it out of the array", a.Name, r.failedDev, f.Label(), r.failedState)
		}
	}
	if r.failedDev != "" && !r.failedGone && f.Present {
		s.Undo = fmt.Sprintf("mdadm %s --re-add /dev/%s (a full rebuild unless %s has a bitmap)", mdadm.ArrayDevice(a.Name), r.failedDev, a.Name)
	} else {
		s.Undo = "nothing to undo: the member's device is gone"
	}
	b.add(s)
}

func (b *builder) locateStep() {
	f := b.failed
	l := b.locateLED()
	b.add(Step{ID: "locate", Action: ActionLocate, Target: Target{Device: f.Name, Serial: f.Serial, LED: l},
		Reason: b.locateReason(l)})
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func (b *builder) awaitRemovalStep() {
	f := b.failed
	b.add(Step{ID: "await-removal", Action: ActionAwaitRemoval, Target: Target{Device: f.Name, Serial: f.Serial},
		Postconditions: []Condition{{Kind: CondDiskAbsent, Serial: f.Serial, Device: f.Name, Text: fmt.Sprintf("no attached disk carries serial %s", f.Serial)}},
		Reason:         fmt.Sprintf("wait until %s is pulled", f.Label())})
}

// newDiskSteps wait for the new disk, check it, clone the survivor's partition table onto it
// and clear stale md superblocks from the partitions that will join arrays.
func (b *builder) newDiskSteps() {
	s := b.survivor
	present := Condition{Kind: CondDiskPresent, Device: NewDiskToken, Serial: b.req.New, Text: b.newLabel() + " is attached"}
	free := Condition{Kind: CondDiskFree, Device: NewDiskToken, Text: "the new disk holds no md member, nothing mounted, no holder, no active swap"}
	how := "the disk that appears and was not attached when this plan was built (never the survivor " + s.Serial + " nor " + b.failed.Label() + ")"
	if b.req.New != "" {
		how = "found by its serial " + b.req.New
	}
	b.add(Step{ID: "await-new-disk", Action: ActionAwaitNewDisk, Target: Target{Device: NewDiskToken, Serial: b.req.New},
		Postconditions: []Condition{present},
		Reason:         "wait for the new disk: " + how})
	size := fmt.Sprintf("at least %d bytes (the survivor's size)", s.SizeBytes)
	if n, from := b.minNewSize(); from != "" {
		size = fmt.Sprintf("at least %d bytes (%s)", n, from)
	}
	if b.wholeDisk() {
		a := b.arrays[0].a
		b.add(Step{ID: "check-new-disk", Action: ActionCheckNewDisk, Target: Target{Device: NewDiskToken, Serial: b.req.New},
			Preconditions: []Condition{present, free},
			Reason:        fmt.Sprintf("the new disk must be %s, not the survivor, in no array, hold nothing mounted, no swap, and no partitions or data: it joins %s as a whole disk", size, a.Name)})
		b.notes = append(b.notes, fmt.Sprintf("%s's members are whole disks (%s on %s): there is no partition table to clone; the new disk joins %s whole, after its stale md superblocks are cleared",
			a.Name, b.arrays[0].survivorDev, s.Label(), a.Name))
		b.add(Step{ID: "zero-superblock", Action: ActionZeroSuperblock, Destructive: true,
			Target:        Target{Device: NewDiskToken, Serial: b.req.New, WholeDisk: true},
			Preconditions: []Condition{present, free},
			Reason:        "a used disk can carry an md superblock at its start or end; a stale one confuses assembly at the next boot",
			Undo:          "nothing to undo: the disk is new"})
		return
	}
	b.add(Step{ID: "check-new-disk", Action: ActionCheckNewDisk, Target: Target{Device: NewDiskToken, Serial: b.req.New},
		Preconditions: []Condition{present, free},
		Reason:        fmt.Sprintf("the new disk must be %s, not the survivor, in no array, hold nothing mounted, no swap, and no partitions or data unless --wipe was given", size)})
	nparts := len(s.Partitions)
	b.add(Step{ID: "partition-clone", Action: ActionPartitionClone, Destructive: true,
		Target:         Target{Device: NewDiskToken, Serial: b.req.New},
		Preconditions:  []Condition{b.survivorSerialCond(), present, free},
		Postconditions: []Condition{{Kind: CondPartitioned, Device: NewDiskToken, Count: nparts, Text: fmt.Sprintf("the new disk has %d partitions, like the survivor", nparts)}},
		Reason: fmt.Sprintf("copy %s's partition table onto the new disk, aligned for its sector sizes, with new GUIDs; the survivor is only read (its table is backed up under /var/lib/raidswap first)",
			s.Label()),
		Undo: "the new disk's previous table is backed up under /var/lib/raidswap/backups; the survivor is not changed"})
	var parts []int
	var conds []Condition
	for _, r := range b.arrays {
		parts = append(parts, r.part)
		conds = append(conds, newFree(r))
	}
	b.add(Step{ID: "zero-superblock", Action: ActionZeroSuperblock, Destructive: true,
		Target:        Target{Device: NewDiskToken, Serial: b.req.New, Partitions: parts},
		Preconditions: append([]Condition{present}, conds...),
		Reason:        "a used disk can carry md superblocks where the new partitions start or end; a stale one confuses assembly at the next boot",
		Undo:          "nothing to undo: the partitions are new"})
}

// addStep adds the new disk's partition to an array; in a degraded array recovery starts.
func (b *builder) addStep(r arrayRole) Step {
	a := r.a
	dev := NewMember(r.part)
	use := ""
	if len(a.Mountpoints) > 0 {
		use = " (" + strings.Join(a.Mountpoints, ", ") + ")"
	} else if a.Swap {
		use = " (swap)"
	}
	action, from := ActionAddMember, ""
	if f := b.rebuildsFrom(r); f != "" {
		from = "; " + f
	}
	if r.leftover {
		// A spare already took the failed member's place: the new partition is the array's
		// new spare, and a spare is where it ends.
		action, from = ActionAddSpare, fmt.Sprintf("; %s is whole without %s (a spare took over), so %s becomes its new spare", a.Name, r.failedDev, newMemberText(r))
	}
	reason := fmt.Sprintf("add %s to %s%s, %s; arrays are added smallest first so small ones (like /boot) are redundant again within seconds, while md queues the larger rebuilds%s",
		newMemberText(r), a.Name, use, human.Bytes(a.SizeKiB*1024), from)
	if r.whole {
		reason = fmt.Sprintf("add the whole new disk to %s%s, %s, as its other members are whole disks%s", a.Name, use, human.Bytes(a.SizeKiB*1024), from)
	}
	return keepWriteMostly(r, Step{ID: "add-" + a.Name, Action: action, Destructive: true,
		Target:        Target{Device: dev, Serial: b.req.New, Array: a.Name, ArrayUUID: a.UUID, WholeDisk: r.whole},
		Preconditions: []Condition{arrayCond(a), newFree(r)},
		Postconditions: []Condition{{Kind: CondMemberOn, Array: a.Name, ArrayUUID: a.UUID, Device: NewDiskToken, Partition: r.part,
			Text: fmt.Sprintf("%s has a member on %s", a.Name, newMemberText(r))}},
		Reason: reason,
		Undo:   fmt.Sprintf("mdadm %s --fail %s --remove %s (the array stays degraded)", mdadm.ArrayDevice(a.Name), dev, dev)})
}

func (b *builder) replaceSteps(r arrayRole) {
	a := r.a
	dev := NewMember(r.part)
	nm := newMemberText(r)
	b.add(keepWriteMostly(r, Step{ID: "add-spare-" + a.Name, Action: ActionAddSpare, Destructive: true,
		Target:        Target{Device: dev, Serial: b.req.New, Array: a.Name, ArrayUUID: a.UUID, WholeDisk: r.whole},
		Preconditions: []Condition{arrayCond(a), newFree(r)},
		Postconditions: []Condition{{Kind: CondMemberOn, Array: a.Name, ArrayUUID: a.UUID, Device: NewDiskToken, Partition: r.part,
			Text: fmt.Sprintf("%s has a member on %s", a.Name, nm)}},
		Reason: fmt.Sprintf("add %s to %s as a spare, to copy onto", nm, a.Name),
		Undo:   fmt.Sprintf("mdadm %s --remove %s", mdadm.ArrayDevice(a.Name), dev)}))
	b.add(Step{ID: "replace-" + a.Name, Action: ActionReplaceMember, Destructive: true,
		Target: Target{Device: r.failedDev, Serial: b.failed.Serial, Array: a.Name, ArrayUUID: a.UUID, With: dev, WholeDisk: r.whole},
		Preconditions: []Condition{arrayCond(a), b.failedSerialCond(),
			{Kind: CondMemberOn, Array: a.Name, ArrayUUID: a.UUID, Device: NewDiskToken, Partition: r.part, Text: fmt.Sprintf("%s is in %s", nm, a.Name)}},
		Postconditions: []Condition{{Kind: CondCopyOnto, Array: a.Name, ArrayUUID: a.UUID, Device: NewDiskToken, Partition: r.part,
			Text: fmt.Sprintf("md copies onto %s in %s, or has finished", nm, a.Name)}},
		Reason: b.replaceReason(r),
		Undo:   "before the copy completes: mdadm " + mdadm.ArrayDevice(a.Name) + " --fail " + dev + " --remove " + dev + " (the old member stays)"})
}

func (b *builder) replaceReason(r arrayRole) string {
	return fmt.Sprintf("copy %s's %s onto %s while it stays in service, so %s keeps two good copies throughout; md marks %s faulty when the copy is complete",
		b.failed.Label(), r.failedDev, newMemberText(r), r.a.Name, r.failedDev)
}

func (b *builder) removeReplacedStep(r arrayRole) {
	a := r.a
	f := b.failed
	b.add(Step{ID: "remove-replaced-" + a.Name, Action: ActionRemoveReplaced, Destructive: true,
		Target: Target{Device: r.failedDev, Serial: f.Serial, Array: a.Name, ArrayUUID: a.UUID},
		Preconditions: []Condition{arrayCond(a), b.failedSerialCond(),
			{Kind: CondInSyncOn, Array: a.Name, ArrayUUID: a.UUID, Device: NewDiskToken, Partition: r.part, Text: fmt.Sprintf("%s is in_sync in %s", newMemberText(r), a.Name)},
			{Kind: CondOtherInSync, Array: a.Name, ArrayUUID: a.UUID, Device: f.Name, Serial: f.Serial, Text: fmt.Sprintf("%s keeps in_sync members on other disks", a.Name)}},
		Postconditions: []Condition{{Kind: CondNoMemberOn, Array: a.Name, ArrayUUID: a.UUID, Device: f.Name, Serial: f.Serial,
			Text: fmt.Sprintf("%s has no member on %s", a.Name, f.Label())}},
		Reason: fmt.Sprintf("the copy is complete: take the replaced member %s out of %s", r.failedDev, a.Name),
		Undo:   "none needed: the data is on the new disk and the survivor"})
}

// swapSteps recreate the failed disk's swap partitions on the new disk with the UUIDs that
// /etc/fstab uses.
func (b *builder) swapSteps() {
	for _, sw := range b.req.Swap {
		dev := NewPart(sw.Partition)
		b.add(Step{ID: fmt.Sprintf("mkswap-%d", sw.Partition), Action: ActionMkswap, Destructive: true,
			Target:         Target{Device: dev, Serial: b.req.New, SwapUUID: sw.UUID},
			Preconditions:  []Condition{{Kind: CondPartitionFree, Device: NewDiskToken, Partition: sw.Partition, Text: fmt.Sprintf("new partition %d is in no array, not swap", sw.Partition)}},
			Postconditions: nil,
			Reason:         fmt.Sprintf("the failed disk's partition %d was swap with UUID %s, which /etc/fstab names; the new partition gets the same UUID so fstab needs no change", sw.Partition, sw.UUID),
			Undo:           "wipefs -a " + dev})
		b.add(Step{ID: fmt.Sprintf("swapon-%d", sw.Partition), Action: ActionSwapOn, Destructive: false,
			Target:         Target{Device: dev, Serial: b.req.New},
			Postconditions: []Condition{{Kind: CondSwapActive, Device: NewDiskToken, Partition: sw.Partition, Text: fmt.Sprintf("new partition %d is active swap", sw.Partition)}},
			Reason:         "use the new swap partition now, as the next boot will",
			Undo:           "swapoff " + dev})
	}
}

// rebuildSteps wait for the rebuild (or the copies) and verify, unless replacing (which
// verifies after removing the replaced members).
func (b *builder) rebuildSteps(replacing bool) {
	var conds []Condition
	var names []string
	for _, r := range b.arrays {
		names = append(names, r.a.Name)
		if replacing && r.failedDev != "" && r.failedState == discover.MemberInSync {
			conds = append(conds, Condition{Kind: CondInSyncOn, Array: r.a.Name, ArrayUUID: r.a.UUID, Device: NewDiskToken, Partition: r.part,
				Text: fmt.Sprintf("%s is in_sync in %s", newMemberText(r), r.a.Name)})
			continue
		}
		if r.othersLost > 0 {
			// Slots lost on other disks stay lost: the new member in sync is the end.
			conds = append(conds, Condition{Kind: CondInSyncOn, Array: r.a.Name, ArrayUUID: r.a.UUID, Device: NewDiskToken, Partition: r.part,
				Text: fmt.Sprintf("%s is in_sync in %s (which stays degraded by %d slot(s) on other disks)", newMemberText(r), r.a.Name, r.othersLost)})
			continue
		}
		conds = append(conds, Condition{Kind: CondRedundant, Array: r.a.Name, ArrayUUID: r.a.UUID, Text: fmt.Sprintf("%s has every slot in_sync and no sync running", r.a.Name)})
	}
	reason := fmt.Sprintf("wait until %s are redundant again; an array that holds the new spare but runs no recovery for %d s is asked to recover (sync_action=recover, at most %d times); Ctrl-C detaches (the rebuild continues in the kernel) and `raidswap resume` picks up here",
		strings.Join(names, ", "), RecoverAfterSeconds, RecoverTimes)
	b.add(Step{ID: "await-rebuild", Action: ActionAwaitRebuild, Postconditions: conds, Reason: reason,
		Target: Target{RecoverAfterSeconds: RecoverAfterSeconds, RecoverTimes: RecoverTimes}})
	if !replacing {
		b.add(b.verifyStep())
	}
}

func (b *builder) verifyStep() Step {
	var conds []Condition
	for _, r := range b.arrays {
		if r.othersLost == 0 {
			conds = append(conds, Condition{Kind: CondRedundant, Array: r.a.Name, ArrayUUID: r.a.UUID, Text: fmt.Sprintf("%s has every slot in_sync", r.a.Name)})
		}
		if r.leftover {
			conds = append(conds, Condition{Kind: CondMemberOn, Array: r.a.Name, ArrayUUID: r.a.UUID, Device: NewDiskToken, Partition: r.part,
				Text: fmt.Sprintf("%s is in %s (its spare)", newMemberText(r), r.a.Name)})
			continue
		}
		if b.req.Mode == ReAdd {
			conds = append(conds, Condition{Kind: CondInSyncOn, Array: r.a.Name, ArrayUUID: r.a.UUID, Device: b.failed.Name, Serial: b.failed.Serial, Partition: r.part,
				Text: fmt.Sprintf("%s is in_sync in %s", MemberName(b.failed.Name, r.part), r.a.Name)})
		} else {
			conds = append(conds, Condition{Kind: CondInSyncOn, Array: r.a.Name, ArrayUUID: r.a.UUID, Device: NewDiskToken, Partition: r.part,
				Text: fmt.Sprintf("%s is in_sync in %s", newMemberText(r), r.a.Name)})
		}
	}
	conds = append(conds, b.survivorSerialCond())
	reason := "check every array is redundant with its member on the right disk"
	l := b.lit()
	if l != nil {
		reason += "; then turn off the locate LED of " + l.Place()
	}
	return Step{ID: "verify", Action: ActionVerify, Postconditions: conds, Target: Target{LED: l}, Reason: reason}
}
