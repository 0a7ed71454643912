package exec

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/mdadm"
	"github.com/raidswap/raidswap/plan"
)

// checkSafety enforces the invariants for one step right before it runs, on the resolved
// command. It is a decision matrix on the step's Action; an action it does not know is
// refused. The survivor's serial comes from the plan, which the checksum protects.
func (w *world) checkSafety(p *plan.Plan, s plan.Step, argv []string) error {
	refuse := func(dev, serial, format string, args ...any) error {
		return &RefusedError{Step: s.ID, Device: dev, Serial: serial, Reason: fmt.Sprintf(format, args...)}
	}
	survivor := p.Disks.Survivor.Serial
	devs := devArgs(argv)
	// Whatever the action: the survivor receives nothing but boot code.
	if s.Action != plan.ActionBootloader {
		for _, dev := range devs {
			if d, _ := w.owner(dev); d != nil && d.Serial == survivor {
				return refuse(dev, d.Serial, "it is the survivor, which holds the good copy; only boot code is ever written to it")
			}
		}
	}
	switch s.Action {
	case plan.ActionLocate, plan.ActionAwaitRemoval, plan.ActionAwaitNewDisk, plan.ActionAwaitRebuild,
		plan.ActionVerify, plan.ActionCheckNewDisk:
		if len(argv) > 0 {
			return refuse("", "", "a %s step runs no command, but this one has %q", s.Action, strings.Join(argv, " "))
		}
		return nil
	case plan.ActionSwapOff:
		for _, dev := range devs {
			if err := w.serialIs(s, dev, s.Target.Serial); err != nil {
				return err
			}
		}
		return nil
	case plan.ActionDetach, plan.ActionRemoveReplaced:
		a := w.arrayByUUID(s.Target.ArrayUUID)
		if a == nil {
			return refuse("", "", "no array has UUID %s", s.Target.ArrayUUID)
		}
		if !contains(argv, mdadm.Detached) {
			for _, dev := range devs[1:] {
				if err := w.serialIs(s, dev, s.Target.Serial); err != nil {
					return err
				}
			}
		}
		// Never remove the last in_sync member: something in_sync must stay that this
		// command does not name.
		for _, m := range a.Members {
			if m.State != discover.MemberInSync || m.Gone {
				continue
			}
			if !contains(devs, "/dev/"+memberDev(m)) && !onDisk(m, "", s.Target.Serial) {
				return nil
			}
		}
		return refuse(s.Target.Device, s.Target.Serial, "it would remove the last in_sync member of %s", a.Name)
	case plan.ActionReplaceMember:
		// mdadm ARRAY --replace OLD --with NEW
		if len(devs) != 3 {
			return refuse("", "", "unexpected replace command %q", strings.Join(argv, " "))
		}
		if err := w.serialIs(s, devs[1], s.Target.Serial); err != nil {
			return err
		}
		// The copy's target must be a spare of this array on the new disk, and nothing else.
		d, part := w.owner(devs[2])
		if d == nil || part == "" || d.Serial != w.newSerial || d.Serial == survivor {
			return refuse(devs[2], "", "the copy's target must be a partition of the new disk %s", orNone(w.newSerial))
		}
		for _, a := range w.sys.Arrays {
			for _, m := range a.Members {
				if memberDev(m) == part && (a.UUID != s.Target.ArrayUUID || m.State != discover.MemberSpare) {
					return refuse(devs[2], d.Serial, "it holds %s member %s (%s); the copy's target must be a spare of %s", a.Name, part, m.State, s.Target.Array)
				}
			}
		}
		return nil
	case plan.ActionZeroSuperblock, plan.ActionMkswap, plan.ActionAddMember, plan.ActionAddSpare, plan.ActionReAddMember, plan.ActionSwapOn:
		want := s.Target.Serial
		if _, ok := plan.ParsePlaceholder(s.Target.Device); ok {
			want = w.newSerial
		}
		var parts []string
		for _, d := range devs {
			if !strings.HasPrefix(d, "/dev/md") {
				parts = append(parts, d)
			}
		}
		if s.Action == plan.ActionSwapOn {
			for _, dev := range parts {
				if err := w.serialIs(s, dev, want); err != nil {
					return err
				}
			}
			return nil
		}
		return w.partitionsWritable(s, parts, want, survivor)
	case plan.ActionPartitionClone:
		d := w.newDisk()
		if d == nil {
			return refuse(s.Target.Device, w.newSerial, "the new disk is not attached")
		}
		if d.Serial == survivor {
			return refuse(d.Name, d.Serial, "it is the survivor")
		}
		if why := inUse(d); why != "" {
			return refuse(d.Name, d.Serial, "%s", why)
		}
		return nil
	case plan.ActionBootloader:
		if len(argv) == 0 {
			return nil
		}
		want := s.Target.Serial
		if _, ok := plan.ParsePlaceholder(s.Target.Device); ok {
			want = w.newSerial
		}
		for _, dev := range devs {
			d, part := w.owner(dev)
			if d == nil || part != "" {
				return refuse(dev, "", "boot code goes to a whole, attached disk")
			}
			if d.Serial != want || (want != survivor && want != w.newSerial) {
				return refuse(dev, d.Serial, "the plan installs boot code on %s, not on this disk", want)
			}
		}
		return nil
	default:
		return refuse("", "", "unreachable: action %q is unknown to this raidswap", s.Action)
	}
}

// partitionsWritable checks that each device is a partition of the disk with serial want,
// which is not the survivor, and is in no array, not mounted, not swap.
func (w *world) partitionsWritable(s plan.Step, devs []string, want, survivor string) error {
	for _, dev := range devs {
		d, part := w.owner(dev)
		if d == nil {
			return &RefusedError{Step: s.ID, Device: dev, Reason: "no attached disk has this partition"}
		}
		if part == "" {
			return &RefusedError{Step: s.ID, Device: dev, Serial: d.Serial, Reason: "it is a whole disk; this step writes partitions only"}
		}
		if d.Serial != want || want == "" {
			return &RefusedError{Step: s.ID, Device: dev, Serial: d.Serial, Reason: fmt.Sprintf("the plan writes to the disk with serial %s, not this one", orNone(want))}
		}
		if d.Serial == survivor {
			return &RefusedError{Step: s.ID, Device: dev, Serial: d.Serial, Reason: "it is the survivor"}
		}
		if why := partitionInUse(w.sys, d, part); why != "" {
			return &RefusedError{Step: s.ID, Device: dev, Serial: d.Serial, Reason: why}
		}
	}
	return nil
}

// serialIs checks that the disk holding dev carries serial want.
func (w *world) serialIs(s plan.Step, dev, want string) error {
	d, _ := w.owner(dev)
	if d == nil {
		if o := w.sys.DiskBySerial(want); o != nil && o.Present && want != "" {
			return &RefusedError{Step: s.ID, Device: dev, Serial: want, Reason: fmt.Sprintf("the disk with serial %s is now %s; the plan named %s: build a new plan", want, o.Name, dev)}
		}
		return &RefusedError{Step: s.ID, Device: dev, Serial: want, Reason: "no attached disk has this device"}
	}
	if d.Serial != want || want == "" {
		return &RefusedError{Step: s.ID, Device: dev, Serial: d.Serial, Reason: fmt.Sprintf("the plan expects serial %s here: the disk is not the one the plan was built for", orNone(want))}
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

// devArgs are the /dev paths in a command.
func devArgs(argv []string) []string {
	var out []string
	for _, a := range argv[min(1, len(argv)):] {
		if strings.HasPrefix(a, "/dev/") {
			out = append(out, a)
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
