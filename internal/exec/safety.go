package exec

import (
	"errors"
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/plan"
)

// checkSafety enforces the invariants for one step right before it runs. It reads the
// step's typed target, resolved against the live system, never a command line: the command
// that runs is derived from the same target (plan.Derive). It is a decision matrix on the
// step's Action; an action it does not know is refused. The survivor's serial comes from
// the plan, which its seal protects.
func (w *world) checkSafety(p *plan.Plan, s plan.Step) error {
	refuse := func(dev, serial, format string, args ...any) error {
		return &RefusedError{Step: s.ID, Device: dev, Serial: serial, Reason: fmt.Sprintf(format, args...)}
	}
	// A drill's run first: nothing outside its lab, whatever the step.
	if err := w.checkScope(p, s); err != nil {
		return err
	}
	t := s.Target
	survivor := p.Disks.Survivor.Serial
	devs, err := w.writes(s)
	if err != nil {
		return refuse(t.Device, w.newSerial, "%v", err)
	}
	// Whatever the action: the survivor receives nothing but boot code (its ESP's fallback
	// path is boot code).
	if s.Action != plan.ActionBootloader && s.Action != plan.ActionESPFallback {
		for _, dev := range devs {
			if d, _ := w.owner(dev); d != nil && d.Serial == survivor {
				return refuse("/dev/"+dev, d.Serial, "it is the survivor, which holds the good copy; only boot code is ever written to it")
			}
		}
	}
	// A command names the array by its kernel name: that name must still be the array the
	// plan means.
	if t.Array != "" || t.ArrayUUID != "" {
		a := w.arrayByUUID(t.ArrayUUID)
		if a == nil {
			return refuse("", "", "no array has UUID %s", t.ArrayUUID)
		}
		if a.Name != t.Array {
			return refuse("/dev/"+t.Array, "", "the array with UUID %s is now %s, not %s: build a new plan", t.ArrayUUID, a.Name, t.Array)
		}
	}
	switch s.Action {
	case plan.ActionLocate, plan.ActionAwaitRemoval, plan.ActionAwaitNewDisk, plan.ActionAwaitRebuild,
		plan.ActionVerify, plan.ActionCheckNewDisk, plan.ActionRaiseSpeed, plan.ActionRestoreSpeed,
		plan.ActionEFIBootOrder, plan.ActionVerifyUEFI, plan.ActionBootByHand, plan.ActionPreflight:
		return nil
	case plan.ActionMountBoot, plan.ActionUnmountBoot, plan.ActionDebconfDevices:
		// No disk is written: the mount names the array, checked by UUID above; debconf's
		// names are the survivor's and the new disk's, found by serial when it runs.
		return nil
	case plan.ActionESPFormat, plan.ActionESPSync, plan.ActionESPInstall:
		// The new disk's ESP partition: the new disk's, in no array, not mounted, not swap.
		return w.partitionsWritable(s, devs, w.newSerial, survivor)
	case plan.ActionESPFallback:
		// The survivor's ESP (mounted at /boot/efi is fine): the survivor's, and no md member,
		// unless the step writes through that very array (an ESP on md RAID1: the executor
		// mounts the array, never the member).
		if err := w.serialIs(s, devs[0], survivor); err != nil {
			return err
		}
		d, part := w.owner(devs[0])
		if part == "" {
			return refuse("/dev/"+devs[0], d.Serial, "the fallback path goes to the survivor's ESP partition, not a whole disk")
		}
		through := ""
		if t.UEFI != nil {
			through = t.UEFI.MDArray
		}
		inThrough := false
		for _, a := range w.sys.Arrays {
			for _, m := range a.Members {
				if memberDev(m) != part {
					continue
				}
				if a.Name != through || a.Level != "raid1" {
					return refuse("/dev/"+part, d.Serial, "it is a member of %s: an ESP on md is written through the array", a.Name)
				}
				inThrough = true
			}
		}
		if through != "" && !inThrough {
			return refuse("/dev/"+part, d.Serial, "the plan writes its fallback path through %s, but it is no member of %s", through, through)
		}
		return nil
	case plan.ActionEFIEntry:
		// An EFI variable naming the disk's ESP: the disk must be the survivor or the new disk.
		want := t.Serial
		if _, ok := plan.ParsePlaceholder(t.Device); ok {
			want = w.newSerial
		}
		dev, err := w.resolveName(t.Device)
		if err != nil {
			return refuse(t.Device, want, "%v", err)
		}
		if err := w.serialIs(s, dev, want); err != nil {
			return err
		}
		if want != survivor && want != w.newSerial {
			return refuse("/dev/"+dev, want, "the plan makes boot entries for the survivor and the new disk only")
		}
		return nil
	case plan.ActionSwapOff:
		return w.serialIs(s, devs[0], t.Serial)
	case plan.ActionDetach, plan.ActionRemoveReplaced:
		a := w.arrayByUUID(t.ArrayUUID)
		if a == nil {
			return refuse("", "", "the step names no array")
		}
		for _, dev := range devs {
			if err := w.serialIs(s, dev, t.Serial); err != nil {
				return err
			}
		}
		// Never remove the last in_sync member: something in_sync must stay that this
		// command does not name.
		named := func(m discover.Member) bool { return contains(devs, memberDev(m)) || onDisk(m, "", t.Serial) }
		last := true
		for _, m := range a.Members {
			if m.State == discover.MemberInSync && !m.Gone && !named(m) {
				last = false
			}
		}
		if last {
			return refuse(t.Device, t.Serial, "it would remove the last in_sync member of %s", a.Name)
		}
		return keepsRunning(a, named, func(why string) error { return refuse(t.Device, t.Serial, "%s", why) })
	case plan.ActionReplaceMember:
		// mdadm ARRAY --replace OLD --with NEW
		old, with := devs[0], devs[1]
		if err := w.serialIs(s, old, t.Serial); err != nil {
			return err
		}
		// The copy's target must be a spare of this array on the new disk, and nothing else:
		// a partition of it, or the whole disk when the array's members are whole disks.
		d, part := w.owner(with)
		if t.WholeDisk {
			if d != nil && part == "" {
				part = d.Name
			} else {
				part = ""
			}
		}
		if d == nil || part == "" || d.Serial != w.newSerial || d.Serial == survivor {
			what := "a partition of"
			if t.WholeDisk {
				what = "the whole of"
			}
			return refuse("/dev/"+with, "", "the copy's target must be %s the new disk %s", what, orNone(w.newSerial))
		}
		if why := w.sys.IdentityProblem(d); why != "" {
			return refuse("/dev/"+with, d.Serial, "%s", why)
		}
		if t.WholeDisk {
			if why := plan.WholeDiskPartitioned(d, t.Array); why != "" {
				return refuse("/dev/"+with, d.Serial, "%s", why)
			}
		}
		for _, a := range w.sys.Arrays {
			for _, m := range a.Members {
				if memberDev(m) == part && (a.UUID != t.ArrayUUID || m.State != discover.MemberSpare) {
					return refuse("/dev/"+with, d.Serial, "it holds %s member %s (%s); the copy's target must be a spare of %s", a.Name, part, m.State, t.Array)
				}
			}
		}
		return nil
	case plan.ActionZeroSuperblock, plan.ActionMkswap, plan.ActionAddMember, plan.ActionAddSpare, plan.ActionReAddMember, plan.ActionSwapOn:
		want := t.Serial
		if _, ok := plan.ParsePlaceholder(t.Device); ok {
			want = w.newSerial
		}
		if s.Action == plan.ActionSwapOn {
			for _, dev := range devs {
				if err := w.serialIs(s, dev, want); err != nil {
					return err
				}
			}
			return nil
		}
		if t.WholeDisk && s.Action != plan.ActionMkswap {
			return w.wholeDiskWritable(s, devs, want, survivor)
		}
		return w.partitionsWritable(s, devs, want, survivor)
	case plan.ActionPartitionClone:
		d := w.newDisk()
		if d == nil {
			return refuse(t.Device, w.newSerial, "the new disk is not attached")
		}
		if d.Serial == survivor {
			return refuse("/dev/"+d.Name, d.Serial, "it is the survivor")
		}
		if why := w.sys.IdentityProblem(d); why != "" {
			return refuse("/dev/"+d.Name, d.Serial, "%s", why)
		}
		if why := inUse(d); why != "" {
			return refuse("/dev/"+d.Name, d.Serial, "%s", why)
		}
		return nil
	case plan.ActionBootloader:
		if len(devs) == 0 {
			return nil
		}
		want := t.Serial
		if _, ok := plan.ParsePlaceholder(t.Device); ok {
			want = w.newSerial
		}
		d, part := w.owner(devs[0])
		if d == nil || part != "" {
			return refuse("/dev/"+devs[0], "", "boot code goes to a whole, attached disk")
		}
		if d.Serial != want || (want != survivor && want != w.newSerial) {
			return refuse("/dev/"+devs[0], d.Serial, "the plan installs boot code on %s, not on this disk", orNone(want))
		}
		if why := w.sys.IdentityProblem(d); why != "" {
			return refuse("/dev/"+devs[0], d.Serial, "%s", why)
		}
		return nil
	default:
		return refuse("", "", "unreachable: action %q is unknown to this raidswap", s.Action)
	}
}

// writes are the kernel names of the devices a step's command names, from its typed target
// with the new-disk placeholders resolved; each action that runs a command names at least
// the devices its safety rules look at.
func (w *world) writes(s plan.Step) ([]string, error) {
	t := s.Target
	switch s.Action {
	case plan.ActionSwapOff, plan.ActionSwapOn, plan.ActionMkswap, plan.ActionAddMember, plan.ActionAddSpare,
		plan.ActionReAddMember, plan.ActionRemoveReplaced:
		dev, err := w.resolveName(t.Device)
		return []string{dev}, err
	case plan.ActionDetach:
		if t.Detached {
			return nil, nil
		}
		dev, err := w.resolveName(t.Device)
		return []string{dev}, err
	case plan.ActionReplaceMember:
		old, err := w.resolveName(t.Device)
		if err != nil {
			return nil, err
		}
		with, err := w.resolveName(t.With)
		return []string{old, with}, err
	case plan.ActionZeroSuperblock:
		disk, err := w.resolveName(t.Device)
		if err != nil {
			return nil, err
		}
		if t.WholeDisk {
			return []string{disk}, nil
		}
		var out []string
		for _, n := range t.Partitions {
			out = append(out, blockstack.PartitionName(disk, n))
		}
		return out, nil
	case plan.ActionBootloader:
		if t.Device == "" {
			return nil, nil
		}
		dev, err := w.resolveName(t.Device)
		return []string{dev}, err
	case plan.ActionESPFallback, plan.ActionESPFormat, plan.ActionESPSync, plan.ActionESPInstall:
		dev, err := w.resolveName(t.Device)
		return []string{dev}, err
	}
	return nil, nil
}

// resolveName is the kernel name a target device stands for: itself, or for a placeholder
// the new disk (or its partition) as attached now.
func (w *world) resolveName(dev string) (string, error) {
	n, ok := plan.ParsePlaceholder(dev)
	if !ok {
		if dev == "" {
			return "", errors.New("the step names no device")
		}
		return dev, nil
	}
	d := w.newDisk()
	if d == nil {
		return "", fmt.Errorf("%q needs the new disk, which is not attached", dev)
	}
	if n == 0 {
		return d.Name, nil
	}
	return blockstack.PartitionName(d.Name, n), nil
}

// partitionsWritable checks that each device is a partition of the disk with serial want,
// which is not the survivor, and is in no array, not mounted, not swap.
func (w *world) partitionsWritable(s plan.Step, devs []string, want, survivor string) error {
	for _, dev := range devs {
		d, part := w.owner(dev)
		dev = "/dev/" + dev
		if d == nil {
			return &RefusedError{Step: s.ID, Device: dev, Reason: "no attached disk has this partition"}
		}
		if part == "" {
			return &RefusedError{Step: s.ID, Device: dev, Serial: d.Serial, Reason: "it is a whole disk; this step writes partitions only"}
		}
		if err := w.plansDisk(s, dev, d, want, survivor); err != nil {
			return err
		}
		if why := partitionInUse(w.sys, d, part); why != "" {
			return &RefusedError{Step: s.ID, Device: dev, Serial: d.Serial, Reason: why}
		}
	}
	return nil
}

// plansDisk checks that disk d (device dev) is the one the plan writes to: its serial is want,
// it is not the survivor, and its serial still identifies it. Both write checks below ask it.
func (w *world) plansDisk(s plan.Step, dev string, d *discover.Disk, want, survivor string) error {
	if d.Serial != want || want == "" {
		return &RefusedError{Step: s.ID, Device: dev, Serial: d.Serial, Reason: fmt.Sprintf("the plan writes to the disk with serial %s, not this one", orNone(want))}
	}
	if d.Serial == survivor {
		return &RefusedError{Step: s.ID, Device: dev, Serial: d.Serial, Reason: "it is the survivor"}
	}
	if why := w.sys.IdentityProblem(d); why != "" {
		return &RefusedError{Step: s.ID, Device: dev, Serial: d.Serial, Reason: why}
	}
	return nil
}

// wholeDiskWritable checks that each device is a whole disk (a whole-disk md member to be)
// with serial want, which is not the survivor, has no partitions (plan.WholeDiskPartitioned),
// and holds no md member, nothing mounted, no holder, no active swap.
func (w *world) wholeDiskWritable(s plan.Step, devs []string, want, survivor string) error {
	array := s.Target.Array
	if array == "" {
		array = "its array"
	}
	for _, dev := range devs {
		d, part := w.owner(dev)
		dev = "/dev/" + dev
		if d == nil {
			return &RefusedError{Step: s.ID, Device: dev, Reason: "no attached disk has this name"}
		}
		if part != "" {
			return &RefusedError{Step: s.ID, Device: dev, Serial: d.Serial, Reason: "it is a partition; this step writes a whole-disk member"}
		}
		if err := w.plansDisk(s, dev, d, want, survivor); err != nil {
			return err
		}
		if why := plan.WholeDiskPartitioned(d, array); why != "" {
			return &RefusedError{Step: s.ID, Device: dev, Serial: d.Serial, Reason: why}
		}
		if why := inUse(d); why != "" {
			return &RefusedError{Step: s.ID, Device: dev, Serial: d.Serial, Reason: why}
		}
	}
	return nil
}

// serialIs checks that the disk holding dev carries serial want.
func (w *world) serialIs(s plan.Step, dev, want string) error {
	d, _ := w.owner(dev)
	dev = "/dev/" + strings.TrimPrefix(dev, "/dev/")
	if d == nil {
		if o := w.sys.DiskBySerial(want); o != nil && o.Present && want != "" {
			return &RefusedError{Step: s.ID, Device: dev, Serial: want, Reason: fmt.Sprintf("the disk with serial %s is now %s; the plan named %s: build a new plan", want, o.Name, dev)}
		}
		return &RefusedError{Step: s.ID, Device: dev, Serial: want, Reason: "no attached disk has this device"}
	}
	if d.Serial != want || want == "" {
		return &RefusedError{Step: s.ID, Device: dev, Serial: d.Serial, Reason: fmt.Sprintf("the plan expects serial %s here: the disk is not the one the plan was built for", orNone(want))}
	}
	if why := w.sys.IdentityProblem(d); why != "" {
		// The serial matches, but another disk carries it too: it proves nothing.
		return &RefusedError{Step: s.ID, Device: dev, Serial: d.Serial, Reason: why}
	}
	return nil
}

// owner finds the attached disk holding /dev/NAME and, for a partition, the partition name.
func (w *world) owner(dev string) (*discover.Disk, string) {
	name := strings.TrimPrefix(dev, "/dev/")
	for i := range w.sys.Disks {
		d := &w.sys.Disks[i]
		if !d.Present {
			continue
		}
		if d.Name == name {
			return d, ""
		}
		if contains(d.Partitions, name) {
			return d, name
		}
	}
	return nil, ""
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// keepsRunning is the redundancy model's word (discover.Array.Shape, md's own degraded count
// included) on failing or removing the members named: refused when the array, as the live
// system shows it now, could not run without them. A stale plan thus never stops an array
// that lost another member since it was made.
func keepsRunning(a *discover.Array, named func(discover.Member) bool, refuse func(string) error) error {
	now := a.Shape()
	without, lost := a.ShapeWithout(named)
	if len(lost) == 0 {
		return nil // nothing in sync goes: a faulty or spare member, or one already gone
	}
	var names []string
	for _, m := range lost {
		names = append(names, memberDev(m))
	}
	switch {
	case !now.Known():
		return refuse(fmt.Sprintf("%s: %s, so raidswap cannot tell whether %s may lose in_sync %s", a.Name, now.Describe(), a.Name, strings.Join(names, ", ")))
	case without.Tolerance() < 0:
		return refuse(fmt.Sprintf("it would stop %s (%s): without in_sync %s it would have %s. Build a new plan (it copies such members with mdadm --replace, or says what to restore first)",
			a.Name, now.Describe(), strings.Join(names, ", "), strings.TrimPrefix(without.Describe(), without.Level+", ")))
	}
	return nil
}
