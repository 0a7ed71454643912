package plan

import "github.com/raidswap/raidswap/internal/blockstack"

// Renamed is the plan as it reads once the disk with serial, named old when the plan was
// built, is named now: a reboot between two runs of one plan (a swap with the power off, a
// power cut) may give the kernel names out in another order. Only what names that disk
// together with its serial is renamed: step targets whose Serial is serial (Device, and a
// ledctl LED's Device), conditions whose Serial is serial, and the plan's DiskRef of it; a
// partition (old2, nvme0n1p2) becomes the same partition of now. A target or condition
// without that serial keeps its name, so that a step of another disk that now bears the
// name old still fails its serial check. The stored commands (Argv) and texts keep the
// names of the plan as sealed: the executor derives each command again from the targets.
// p is not changed.
func (p *Plan) Renamed(serial, old, now string) *Plan {
	if serial == "" || old == "" || now == "" || old == now {
		return p
	}
	q := *p
	for _, ref := range []*DiskRef{&q.Disks.Survivor, &q.Disks.Failed} {
		if ref.Serial == serial && ref.Device == old {
			ref.Device = now
		}
	}
	q.Steps = make([]Step, len(p.Steps))
	for i, s := range p.Steps {
		if s.Target.Serial == serial {
			s.Target.Device = renameDevice(s.Target.Device, old, now)
		}
		if l := s.Target.LED; l != nil && l.Serial == serial && l.Device == old {
			c := *l
			c.Device = now
			s.Target.LED = &c
		}
		s.Preconditions = renameConditions(s.Preconditions, serial, old, now)
		s.Postconditions = renameConditions(s.Postconditions, serial, old, now)
		q.Steps[i] = s
	}
	return &q
}

func renameConditions(cs []Condition, serial, old, now string) []Condition {
	if cs == nil {
		return nil
	}
	out := make([]Condition, len(cs))
	for i, c := range cs {
		if c.Serial == serial {
			c.Device = renameDevice(c.Device, old, now)
		}
		out[i] = c
	}
	return out
}

// renameDevice is dev with the disk old renamed now: old itself, or a partition of it.
func renameDevice(dev, old, now string) string {
	if dev == old {
		return now
	}
	if n := PartitionNumber(old, dev); n > 0 {
		return blockstack.PartitionName(now, n)
	}
	return dev
}
