package plan

import (
	"errors"
	"github.com/raidswap/raidswap/internal/host"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// TestWholeDiskPlan: a whole-disk array's plan has no clone step and says why, clears and
// adds the whole new disk, binds every new-disk condition to the disk itself (partition 0),
// and asks for md's data offset + component size rather than the survivor's size.
func TestWholeDiskPlan(t *testing.T) {
	p, err := Build(plantest.WholeDisk(), Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Steps {
		if s.Action == ActionPartitionClone {
			t.Errorf("a whole-disk plan clones a partition table: %+v", s)
		}
		switch s.Action {
		case ActionZeroSuperblock, ActionAddMember:
			if !s.Target.WholeDisk || s.Target.Device != NewDiskToken || len(s.Target.Partitions) != 0 {
				t.Errorf("step %s target %+v, want the whole new disk", s.ID, s.Target)
			}
		}
		for _, c := range append(append([]Condition{}, s.Preconditions...), s.Postconditions...) {
			if c.Kind == CondPartitionFree || c.Kind == CondPartitioned {
				t.Errorf("step %s asks a partition condition of a whole-disk member: %+v", s.ID, c)
			}
			if c.Partition != 0 {
				t.Errorf("step %s names partition %d of a whole-disk member: %+v", s.ID, c.Partition, c)
			}
		}
	}
	if !strings.Contains(strings.Join(p.Notes, "\n"), "md2's members are whole disks (vdc on vdc (WD-SURV)): there is no partition table to clone") {
		t.Errorf("the plan does not say why nothing is cloned: %q", p.Notes)
	}
	want := uint64(plantest.DataOffsetSectors)*512 + uint64(plantest.DataKiB)*1024
	if p.Disks.New.MinSizeBytes != want || !strings.Contains(p.Disks.New.MinSizeFrom, "md/dev-vdc/offset") {
		t.Errorf("new disk minimum %d (%q), want %d from md's data offset + component size", p.Disks.New.MinSizeBytes, p.Disks.New.MinSizeFrom, want)
	}
}

// TestWholeDiskNewSize: a new disk of exactly md's need is taken, one byte less refused with
// the numbers it came from; metadata 1.0 (superblock and bitmap after the data) and an unknown
// data offset ask for the survivor's size.
func TestWholeDiskNewSize(t *testing.T) {
	need := int64(plantest.DataOffsetSectors)*512 + plantest.DataKiB*1024
	tests := []struct {
		name   string
		change func(*discover.System)
		size   int64
		want   string
	}{
		{"exactly md's need", nil, need, ""},
		{"one byte short", nil, need - 1, "vde (WD-NEW): is too small: 8586788863 bytes, it needs 8586788864: md2's data offset on vdc (2048 sectors, md/dev-vdc/offset) + its component size (8384512 KiB, md/component_size), from sysfs"},
		{"metadata 1.0", func(s *discover.System) { s.Arrays[2].Metadata = "1.0" }, need, "vde (WD-NEW): is too small: 8586788864 bytes, the survivor vdc (WD-SURV) has 8589934592"},
		{"offset unknown", func(s *discover.System) { s.Arrays[2].Members[0].DataOffsetSectors = nil }, need, "the survivor vdc (WD-SURV) has 8589934592"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := plantest.WholeDisk()
			if tt.change != nil {
				tt.change(s)
			}
			s.Disk("vde").SizeBytes = uint64(tt.size)
			_, err := Build(s, Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS}, testOpts)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestWholeDiskRefusals: what a whole-disk member cannot be is refused with one line.
func TestWholeDiskRefusals(t *testing.T) {
	req := Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS}
	tests := []struct {
		name   string
		change func(*discover.System)
		req    func(Request) Request
		want   string
		unsafe bool
	}{
		{"survivor has partitions too", func(s *discover.System) { s.Disk("vdc").Partitions = []string{"vdc1"} }, nil,
			"vdc (WD-SURV): the survivor: it has partitions (vdc1), and md2's members are whole disks", false},
		{"failed disk has partitions too", func(s *discover.System) { s.Disk("vdd").Partitions = []string{"vdd1", "vdd2"} }, nil,
			"vdd (WD-OLD): it has partitions (vdd1, vdd2), and md2's members are whole disks", false},
		{"whole-disk member of one array, partition member of another", func(s *discover.System) {
			// Impossible on a real disk: the survivor holds md2 whole and md0's member vdc2.
			s.Arrays[1].Members = append(s.Arrays[1].Members, plantest.Member("vdc2", "vdc", plantest.Survivor, 2, discover.MemberInSync),
				plantest.Member("vdd2", "vdd", plantest.Old, 3, discover.MemberFaulty))
			s.Arrays[1].RaidDisks = 4
		}, nil, "vdc (WD-SURV): is a whole-disk member of md2 and holds partition members of md0: a disk cannot be both", false},
		{"/boot on the whole-disk array", func(s *discover.System) {
			s.Host.Boot.Boot = bootloader.BootDir{Array: "md2", Mountpoint: "/boot", FSType: "ext4", Metadata: "1.2", From: "mounted"}
		}, nil, "refusing to plan: boot: /boot lives on md2, whose members are whole disks: a whole disk holds no BIOS boot partition or ESP", true},
		{"--wipe", nil, func(r Request) Request { r.Wipe = true; return r },
			"WD-NEW: --wipe erases the new disk by writing the survivor's partition table over it, and md2's members are whole disks", false},
		{"new disk with partitions", func(s *discover.System) { s.Disk("vde").Partitions = []string{"vde1"} }, nil,
			"vde (WD-NEW): holds data (partitions vde1)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := plantest.WholeDisk()
			if tt.change != nil {
				tt.change(s)
			}
			r := req
			if tt.req != nil {
				r = tt.req(r)
			}
			_, err := Build(plantest.Finish(s), r, testOpts)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line containing %q", err, tt.want)
			}
			var ue *UnsafeError
			var ie *InputError
			if tt.unsafe && !errors.As(err, &ue) || !tt.unsafe && !errors.As(err, &ie) {
				t.Errorf("error %T, want unsafe=%v", err, tt.unsafe)
			}
		})
	}
}

// TestWholeDiskReAdd: a whole-disk member that came back is cleared and added whole.
func TestWholeDiskReAdd(t *testing.T) {
	s := plantest.WholeDisk()
	// vdd came back after md dropped it: md2 has an empty slot.
	s.Arrays[2].Members[1] = plantest.Missing(1, plantest.Old)
	s = plantest.Finish(s)
	p, err := Build(s, Request{Mode: ReAdd, Failed: plantest.Old, Firmware: FirmwareBIOS}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(commands(p), "\n"), "/sbin/mdadm --zero-superblock /dev/vdd\n/sbin/mdadm /dev/md2 --add /dev/vdd"; got != want {
		t.Errorf("commands:\n%s\nwant:\n%s", got, want)
	}
}

// TestWholeDiskDerive: Derive takes the whole new disk only from a step that says WholeDisk,
// and refuses partitions on a whole-disk step.
func TestWholeDiskDerive(t *testing.T) {
	p := &Plan{}
	tests := []struct {
		name string
		s    Step
		want string // "" = derives
	}{
		{"add whole", Step{ID: "a", Action: ActionAddMember, Target: Target{Device: NewDiskToken, Array: "md2", WholeDisk: true}}, ""},
		{"add {new} without WholeDisk", Step{ID: "a", Action: ActionAddMember, Target: Target{Device: NewDiskToken, Array: "md2"}}, "is not allowed here"},
		{"add a partition as whole", Step{ID: "a", Action: ActionAddMember, Target: Target{Device: "{new:2}", Array: "md2", WholeDisk: true}}, "is not allowed here"},
		{"zero whole with partitions", Step{ID: "z", Action: ActionZeroSuperblock, Target: Target{Device: NewDiskToken, WholeDisk: true, Partitions: []int{2}}}, "names partitions"},
		{"zero whole", Step{ID: "z", Action: ActionZeroSuperblock, Target: Target{Device: "vdd", WholeDisk: true}}, ""},
		{"replace with a partition on a whole step", Step{ID: "r", Action: ActionReplaceMember, Target: Target{Device: "vdd", Array: "md2", With: "{new:2}", WholeDisk: true}}, "is not the whole new disk"},
		{"replace with the whole disk on a partition step", Step{ID: "r", Action: ActionReplaceMember, Target: Target{Device: "vdd3", Array: "md2", With: NewDiskToken}}, "is not a partition of the new disk"},
	}
	for _, tt := range tests {
		_, err := Derive(host.Profile{}, p, tt.s)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}
