package mdadm

import (
	"reflect"
	"testing"
)

func TestShapeTolerance(t *testing.T) {
	const near2, far2, offset2, near3, near2far2 = 0x102, 0x201, 0x10201, 0x103, 0x202
	for _, c := range []struct {
		name      string
		level     string
		disks     int
		layout    int
		inSync    []int
		degraded  int
		tolerance int
		failed    bool
	}{
		{"raid1 whole", "raid1", 2, 0, []int{0, 1}, 0, 1, false},
		{"raid1 one left", "raid1", 2, 0, []int{1}, 1, 0, false},
		{"raid1 none left", "raid1", 2, 0, nil, 2, -1, true},
		{"raid1 3-way one lost", "raid1", 3, 0, []int{0, 2}, 1, 1, false},
		{"raid5 whole", "raid5", 3, 2, []int{0, 1, 2}, 0, 1, false},
		{"raid5 one lost", "raid5", 3, 2, []int{0, 2}, 1, 0, false},
		{"raid5 two lost", "raid5", 3, 2, []int{0}, 2, -1, true},
		{"raid4 one lost", "raid4", 4, 0, []int{0, 1, 2}, 1, 0, false},
		{"raid6 whole", "raid6", 4, 2, []int{0, 1, 2, 3}, 0, 2, false},
		{"raid6 two lost", "raid6", 4, 2, []int{0, 1}, 2, 0, false},
		{"raid6 three lost", "raid6", 5, 2, []int{0, 1}, 3, -1, true},
		{"raid0 whole", "raid0", 2, 0, []int{0, 1}, 0, 0, false},
		{"raid0 one lost", "raid0", 2, 0, []int{0}, 0, -1, true},
		{"linear whole", "linear", 2, 0, []int{0, 1}, 0, 0, false},
		{"raid10 near2 whole", "raid10", 4, near2, []int{0, 1, 2, 3}, 0, 1, false},
		{"raid10 near2 one lost", "raid10", 4, near2, []int{0, 2, 3}, 1, 0, false},
		{"raid10 near2 one from each pair", "raid10", 4, near2, []int{0, 3}, 2, 0, false},
		{"raid10 near2 a whole pair lost", "raid10", 4, near2, []int{2, 3}, 2, -1, true},
		{"raid10 near2 on 3 disks", "raid10", 3, near2, []int{0, 1, 2}, 0, 1, false},
		{"raid10 near2 on 3 disks, two lost", "raid10", 3, near2, []int{0}, 2, -1, true},
		{"raid10 near3 one lost", "raid10", 3, near3, []int{0, 1}, 1, 1, false},
		{"raid10 far2 neighbours lost", "raid10", 4, far2, []int{2, 3}, 2, -1, true},
		{"raid10 far2 opposite lost", "raid10", 4, far2, []int{1, 3}, 2, 0, false},
		{"raid10 offset2 opposite lost", "raid10", 4, offset2, []int{0, 2}, 2, 0, false},
		{"raid10 near2 far2", "raid10", 4, near2far2, []int{0, 1, 2, 3}, 0, 3, false},
		// md counts more lost than the members show: believed, the worse
		{"raid5 md says two lost", "raid5", 3, 2, []int{0, 1}, 2, -1, true},
		{"raid10 md says one more lost", "raid10", 4, near2, []int{0, 1, 2, 3}, 1, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := NewShape(c.level, c.disks, c.layout, c.inSync, c.degraded)
			if !s.Known() {
				t.Fatalf("shape not known: %+v", s)
			}
			if got := s.Tolerance(); got != c.tolerance {
				t.Errorf("Tolerance() = %d, want %d (%s)", got, c.tolerance, s.Describe())
			}
			if got := s.Failed(); got != c.failed {
				t.Errorf("Failed() = %v, want %v", got, c.failed)
			}
		})
	}
}

func TestShapeCanLose(t *testing.T) {
	for _, c := range []struct {
		name   string
		shape  Shape
		lose   []int
		canful bool
	}{
		// issue 17: md1 (raid5) already missing slot 1; slot 2 is on the disk coming out
		{"raid5 degraded, another member", NewShape("raid5", 3, 2, []int{0, 2}, 1), []int{2}, false},
		{"raid5 degraded, the missing slot again", NewShape("raid5", 3, 2, []int{0, 2}, 1), []int{1}, true},
		{"raid5 whole, one", NewShape("raid5", 3, 2, []int{0, 1, 2}, 0), []int{1}, true},
		{"raid6 whole, two", NewShape("raid6", 4, 2, []int{0, 1, 2, 3}, 0), []int{1, 3}, true},
		{"raid6 one lost, two more", NewShape("raid6", 4, 2, []int{0, 1, 2}, 1), []int{1, 2}, false},
		{"raid1 last member", NewShape("raid1", 2, 0, []int{0}, 1), []int{0}, false},
		{"raid1 one of two", NewShape("raid1", 2, 0, []int{0, 1}, 0), []int{1}, true},
		{"raid10 near2 partner of a lost one", NewShape("raid10", 4, 0x102, []int{0, 2, 3}, 1), []int{0}, false},
		{"raid10 near2 other pair", NewShape("raid10", 4, 0x102, []int{0, 2, 3}, 1), []int{3}, true},
		{"raid0 any", NewShape("raid0", 2, 0, []int{0, 1}, 0), []int{0}, false},
		{"unknown level, an in-sync slot", NewShape("multipath", 2, 0, []int{0, 1}, 0), []int{0}, false},
		{"unknown raid10 layout", NewShape("raid10", 4, Unknown, []int{0, 1, 2, 3}, 0), []int{0}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.shape.CanLose(c.lose...); got != c.canful {
				t.Errorf("CanLose(%v) = %v, want %v (%s)", c.lose, got, c.canful, c.shape.Describe())
			}
		})
	}
}

func TestShapeSources(t *testing.T) {
	for _, c := range []struct {
		name  string
		shape Shape
		slot  int
		want  []int
	}{
		{"raid1", NewShape("raid1", 3, 0, []int{0, 2}, 1), 1, []int{0, 2}},
		{"raid5: every in-sync member", NewShape("raid5", 4, 2, []int{0, 1, 3}, 1), 2, []int{0, 1, 3}},
		{"raid10 near2: the partner", NewShape("raid10", 4, 0x102, []int{0, 2, 3}, 1), 1, []int{0}},
		{"raid10 far2: both neighbours' groups", NewShape("raid10", 4, 0x201, []int{0, 2, 3}, 1), 1, []int{0, 2}},
		{"raid5 failed: nothing", NewShape("raid5", 3, 2, []int{0}, 2), 1, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.shape.Sources(c.slot); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Sources(%d) = %v, want %v", c.slot, got, c.want)
			}
		})
	}
}

// TestShapeSourceGroups: a raid10 slot whose data is spread over several copy groups (far,
// offset, near on an odd count) needs one member of each; the layout rows raid10-far2 and
// raid10-offset2 rebuilt such slots in the VM.
func TestShapeSourceGroups(t *testing.T) {
	for _, c := range []struct {
		name  string
		shape Shape
		slot  int
		want  [][]int
	}{
		{"raid1: any one", NewShape("raid1", 3, 0, []int{0, 2}, 1), 1, [][]int{{0, 2}}},
		{"raid5: one group, all read", NewShape("raid5", 3, 2, []int{0, 1}, 1), 2, [][]int{{0, 1}}},
		{"raid10 near2 on 4: the partner", NewShape("raid10", 4, 0x102, []int{0, 1, 2}, 1), 3, [][]int{{2}}},
		{"raid10 far2 on 2: the other disk", NewShape("raid10", 2, 0x201, []int{0}, 1), 1, [][]int{{0}}},
		{"raid10 offset2 on 3: both others, each a part", NewShape("raid10", 3, 0x10201, []int{0, 1}, 1), 2, [][]int{{0}, {1}}},
		{"raid10 far2 on 4: both neighbours", NewShape("raid10", 4, 0x201, []int{0, 2, 3}, 1), 1, [][]int{{0}, {2}}},
		{"raid10 near2 on 3: both others", NewShape("raid10", 3, 0x102, []int{0, 1}, 1), 2, [][]int{{0}, {1}}},
		{"raid10 near3 on 3: any one", NewShape("raid10", 3, 0x103, []int{0, 1}, 1), 2, [][]int{{0, 1}}},
		{"failed: nothing", NewShape("raid5", 3, 2, []int{0}, 2), 1, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.shape.SourceGroups(c.slot); !reflect.DeepEqual(got, c.want) {
				t.Errorf("SourceGroups(%d) = %v, want %v", c.slot, got, c.want)
			}
		})
	}
}

func TestShapeDescribe(t *testing.T) {
	for _, c := range []struct {
		shape Shape
		want  string
	}{
		{NewShape("raid5", 3, 2, []int{0}, 2), "raid5, 2 of 3 slots lost: FAILED (a raid5 survives the loss of 1 member)"},
		{NewShape("raid5", 3, 2, []int{0, 2}, 1), "raid5, 1 of 3 slots lost, can lose no more"},
		{NewShape("raid10", 4, 0x102, []int{0, 1, 2, 3}, 0), "raid10 near2, 0 of 4 slots lost, can lose 1 more"},
		{NewShape("raid6", 4, 2, []int{0, 1, 2, 3}, Unknown), "raid6, 0 of 4 slots lost, can lose 2 more"},
	} {
		if got := c.shape.Describe(); got != c.want {
			t.Errorf("Describe() = %q, want %q", got, c.want)
		}
	}
}
