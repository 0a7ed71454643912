package discover

import (
	"testing"

	"github.com/raidswap/raidswap/partition"
)

// TestDiskUses: what discovery saw of a disk, handed to partition.InUse, says the same
// thing CheckTarget says when it reads the kernel itself.
func TestDiskUses(t *testing.T) {
	disk := func() Disk {
		return Disk{Name: "vdb", Serial: "WD-X9", Present: true, Partitions: []string{"vdb1", "vdb2", "vdb3"},
			Holders: []string{}, Mounted: []string{}, Swap: []string{}, Members: []DiskMember{}}
	}
	tests := []struct {
		name string
		edit func(d *Disk)
		want string
	}{
		{"idle", func(d *Disk) {}, ""},
		{"member", func(d *Disk) {
			d.Members = []DiskMember{{Array: "md1", Device: "vdb3", State: MemberInSync}}
			d.Holders, d.HeldBy = []string{"md1"}, map[string][]string{"vdb3": {"md1"}}
		}, "it holds md1 member vdb3 (in_sync)"},
		{"mounted", func(d *Disk) { d.Mounted = []string{"vdb1 on /boot/efi"} }, "it holds vdb1, mounted at /boot/efi"},
		{"mounted, not listed as a partition", func(d *Disk) { d.Mounted = []string{"vdb9 on /mnt"} }, "it holds vdb9, mounted at /mnt"},
		{"swap", func(d *Disk) { d.Swap = []string{"vdb2"} }, "it holds vdb2, which is active swap"},
		{"held", func(d *Disk) { d.Holders, d.HeldBy = []string{"dm-0"}, map[string][]string{"vdb2": {"dm-0"}} }, "vdb2 is held by dm-0"},
		{"held, built without HeldBy", func(d *Disk) { d.Holders = []string{"dm-0"} }, "vdb is held by dm-0"},
	}
	for _, tt := range tests {
		d := disk()
		tt.edit(&d)
		if got := partition.InUse(d.Uses()...); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestPartitionUse: one partition is in use while an array lists it and its device exists.
func TestPartitionUse(t *testing.T) {
	dev := "vdc2"
	s := &System{Arrays: []Array{{Name: "md0", Members: []Member{{Device: &dev, State: MemberSpare}}}},
		Disks: []Disk{{Name: "vdc", Present: true, Partitions: []string{"vdc1", "vdc2"}}}}
	d := &s.Disks[0]
	if got := partition.InUse(s.PartitionUse(d, "vdc2")); got != "it holds md0 member vdc2 (spare)" {
		t.Errorf("vdc2: %q", got)
	}
	if got := partition.InUse(s.PartitionUse(d, "vdc1")); got != "" {
		t.Errorf("vdc1: %q", got)
	}
	s.Arrays[0].Members[0].Gone = true
	if got := partition.InUse(s.PartitionUse(d, "vdc2")); got != "" {
		t.Errorf("vdc2 after its member's device went: %q", got)
	}
}
