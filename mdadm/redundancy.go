package mdadm

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// This file is raidswap's one model of what an md array can lose: for each level md has,
// which sets of slots must keep an in-sync member for the array to keep running, as the
// kernel decides it (drivers/md: raid1's last working device, raid10's _enough(), raid5's
// and raid6's max_degraded; mdadm's util.c enough() is the same rule). Status, plan and the
// executor's checks all ask it; none has a rule of its own.

// Shape is an array's slots as far as redundancy goes: which slots hold an in-sync member.
type Shape struct {
	// Level is md/level: raid1, raid10, raid4, raid5, raid6, raid0, linear.
	Level string
	// RaidDisks is md/raid_disks, the number of slots.
	RaidDisks int
	// Layout is md/layout (raid10: near copies in bits 0-7, far copies in bits 8-15, bit 16
	// for offset); Unknown when it could not be read.
	Layout int
	// InSync[slot] says the slot holds an in-sync member.
	InSync []bool
	// Unplaced is how many slots md counts as lost (md/degraded) beyond the ones InSync
	// shows empty: md's own count is believed when it is worse, but it does not say which
	// slots, so a level whose rule depends on the slot (raid10) is judged as if any could be.
	Unplaced int
}

// NewShape builds a shape from the slots that hold an in-sync member (slots outside
// 0..raidDisks-1 are ignored) and md's own count of lost slots (md/degraded; Unknown when
// not read).
func NewShape(level string, raidDisks, layout int, inSyncSlots []int, mdDegraded int) Shape {
	s := Shape{Level: level, RaidDisks: raidDisks, Layout: layout}
	if raidDisks > 0 {
		s.InSync = make([]bool, raidDisks)
	}
	for _, slot := range inSyncSlots {
		if slot >= 0 && slot < raidDisks {
			s.InSync[slot] = true
		}
	}
	if mdDegraded > s.Missing() {
		s.Unplaced = mdDegraded - s.Missing()
	}
	return s
}

// Known reports whether the model has a rule for the shape's level and can read it.
func (s Shape) Known() bool {
	if s.RaidDisks <= 0 || len(s.InSync) != s.RaidDisks {
		return false
	}
	switch s.Level {
	case "raid1", "raid4", "raid5", "raid6", "raid0", "linear":
		return true
	case "raid10":
		near, far, _ := s.raid10Geometry()
		return near >= 1 && far >= 1
	}
	return false
}

// Parity is how many members a whole array of this level can lose: raid4/5 one, raid6 two,
// raid0/linear none; raid1 and raid10 depend on which slots (see Tolerance).
func (s Shape) Parity() int {
	switch s.Level {
	case "raid4", "raid5":
		return 1
	case "raid6":
		return 2
	}
	return 0
}

// Missing is the number of slots without an in-sync member, md's uncounted ones included.
func (s Shape) Missing() int {
	n := s.Unplaced
	for _, ok := range s.InSync {
		if !ok {
			n++
		}
	}
	return n
}

// raid10Geometry decodes md's raid10 layout value.
func (s Shape) raid10Geometry() (near, far int, offset bool) {
	if s.Layout < 0 {
		return 0, 0, false
	}
	return s.Layout & 0xff, (s.Layout >> 8) & 0xff, s.Layout&0x10000 != 0
}

// raid10Groups are the sets of slots of which the kernel's _enough() needs one in-sync
// member each: starting at slot 0 and stepping by the near copies, `near*far` consecutive
// slots (wrapping). For near2 on 4 disks: {0,1}, {2,3}; for far2 on 4: {0,1}, {1,2}, {2,3},
// {3,0}.
func (s Shape) raid10Groups() [][]int {
	near, far, _ := s.raid10Geometry()
	copies := near * far
	var out [][]int
	first := 0
	for {
		g := make([]int, 0, copies)
		this := first
		for range copies {
			g = append(g, this)
			this = (this + 1) % s.RaidDisks
		}
		out = append(out, g)
		first = (first + near) % s.RaidDisks
		if first == 0 || len(out) > s.RaidDisks {
			break
		}
	}
	return out
}

// Failed reports whether the array has lost more than its level survives: md cannot serve
// all of its data (an unknown shape is not called failed; ask Known first).
func (s Shape) Failed() bool {
	return s.Known() && s.Tolerance() < 0
}

// Tolerance is how many more members the array can lose, whichever they are, and keep
// running: -1 when it has already failed. For raid10 it is the fewest in-sync members of
// any copy group, less one. An unknown shape tolerates nothing.
func (s Shape) Tolerance() int {
	if !s.Known() {
		return 0
	}
	switch s.Level {
	case "raid1":
		return s.RaidDisks - s.Missing() - 1
	case "raid10":
		// md counts lost slots it does not name (Unplaced): each may be in the weakest group.
		return s.raid10Tolerance() - s.Unplaced
	case "raid0", "linear":
		if s.Missing() > 0 {
			return -1
		}
		return 0
	}
	return s.Parity() - s.Missing()
}

func (s Shape) raid10Tolerance() int {
	least := s.RaidDisks
	for _, g := range s.raid10Groups() {
		n := 0
		for _, slot := range g {
			if s.InSync[slot] {
				n++
			}
		}
		least = min(least, n)
	}
	return least - 1
}

// Without is the shape with the given slots lost too.
func (s Shape) Without(slots ...int) Shape {
	out := s
	out.InSync = append([]bool(nil), s.InSync...)
	for _, slot := range slots {
		if slot >= 0 && slot < len(out.InSync) {
			out.InSync[slot] = false
		}
	}
	return out
}

// CanLose reports whether the array keeps running when the given slots' members are failed
// or removed now. An unknown shape can lose nothing that is in sync.
func (s Shape) CanLose(slots ...int) bool {
	if !s.Known() {
		for _, slot := range slots {
			if slot >= 0 && slot < len(s.InSync) && s.InSync[slot] {
				return false
			}
		}
		return len(s.InSync) == s.RaidDisks
	}
	return s.Without(slots...).Tolerance() >= 0
}

// Sources are the slots whose in-sync members md reads to rebuild slot: for raid1 any one
// of them (each holds a full copy), for raid10 the in-sync slots that share a copy group
// with it, for raid4/5/6 every in-sync member (parity: no single one holds a copy). Nil when
// nothing can rebuild it.
func (s Shape) Sources(slot int) []int {
	if !s.Known() || s.Failed() {
		return nil
	}
	var out []int
	add := func(i int) {
		if i != slot && s.InSync[i] {
			for _, o := range out {
				if o == i {
					return
				}
			}
			out = append(out, i)
		}
	}
	switch s.Level {
	case "raid1", "raid4", "raid5", "raid6":
		for i := range s.InSync {
			add(i)
		}
	case "raid10":
		for _, g := range s.raid10Groups() {
			in := false
			for _, i := range g {
				in = in || i == slot
			}
			if in {
				for _, i := range g {
					add(i)
				}
			}
		}
	}
	sort.Ints(out)
	return out
}

// SourceGroups are Sources by copy group: md reads one in-sync member of each group. A raid1
// slot, or a raid10 slot all of whose data shares one group (near2 on an even number of
// disks), has one group, any member of which holds a whole copy; a raid10 slot whose data is
// spread over several groups (far and offset layouts, near on an odd number of disks) has
// one per group, each holding the only copy of part of its data; a parity level has one
// group, all of which md reads. Nil when nothing can rebuild it.
func (s Shape) SourceGroups(slot int) [][]int {
	src := s.Sources(slot)
	if src == nil || s.Level != "raid10" {
		if src == nil {
			return nil
		}
		return [][]int{src}
	}
	var out [][]int
	seen := map[string]bool{}
	for _, g := range s.raid10Groups() {
		if !slices.Contains(g, slot) {
			continue
		}
		var in []int
		for _, i := range g {
			if i != slot && s.InSync[i] {
				in = append(in, i)
			}
		}
		sort.Ints(in)
		if k := fmt.Sprint(in); len(in) > 0 && !seen[k] {
			seen[k] = true
			out = append(out, in)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// ParityLevel reports whether the level rebuilds from parity (every member is read) rather
// than from a copy.
func (s Shape) ParityLevel() bool { return s.Parity() > 0 }

// Describe says in words what the array can lose: "raid5, 1 of 3 slots lost, can lose no
// more", "raid10 near2, can lose 1 more (not any pair)".
func (s Shape) Describe() string {
	if !s.Known() {
		return fmt.Sprintf("%s: raidswap has no redundancy rule for this level or could not read its shape", orLevel(s.Level))
	}
	name := s.Name()
	lost := fmt.Sprintf("%d of %d slots lost", s.Missing(), s.RaidDisks)
	switch t := s.Tolerance(); {
	case t < 0:
		return fmt.Sprintf("%s, %s: FAILED (a %s survives %s)", name, lost, s.Level, s.survives())
	case t == 0:
		return fmt.Sprintf("%s, %s, can lose no more", name, lost)
	default:
		return fmt.Sprintf("%s, %s, can lose %d more", name, lost, t)
	}
}

// Name is the level with a raid10 layout's copies: "raid6", "raid10 near2", "raid10 offset2".
func (s Shape) Name() string {
	name := s.Level
	if s.Level == "raid10" {
		near, far, offset := s.raid10Geometry()
		var parts []string
		if near > 1 {
			parts = append(parts, fmt.Sprintf("near%d", near))
		}
		if far > 1 {
			kind := "far"
			if offset {
				kind = "offset"
			}
			parts = append(parts, fmt.Sprintf("%s%d", kind, far))
		}
		if len(parts) > 0 {
			name += " " + strings.Join(parts, " ")
		}
	}
	return name
}

// survives says what a whole array of the level can lose.
func (s Shape) survives() string {
	switch s.Level {
	case "raid1":
		return fmt.Sprintf("the loss of all but one of its %d members", s.RaidDisks)
	case "raid10":
		return "the loss of members that share no copy group"
	case "raid0", "linear":
		return "no loss at all"
	case "raid6":
		return "the loss of 2 members"
	}
	return "the loss of 1 member"
}

func orLevel(l string) string {
	if l == "" {
		return "level unknown"
	}
	return l
}
