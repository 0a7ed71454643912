package partition

import "testing"

// TestInUse: the one rule and its one wording, member first, then mount, swap and holder.
func TestInUse(t *testing.T) {
	tests := []struct {
		name string
		uses []Use
		want string
	}{
		{"idle", []Use{{Device: "vdb"}, {Device: "vdb1"}}, ""},
		{"active member", []Use{{Device: "vdb"}, {Device: "vdb3", Members: []MemberUse{{Array: "md1", State: "in_sync"}}}},
			"it holds md1 member vdb3 (in_sync)"},
		{"member state unread", []Use{{Device: "vdb2", Members: []MemberUse{{Array: "md127"}}}}, "it holds md127 member vdb2"},
		{"member over a dm device", []Use{{Device: "vdb", Members: []MemberUse{{Array: "md0", Device: "dm-1", State: "faulty"}}}},
			"it holds md0 member dm-1 (faulty)"},
		{"mounted", []Use{{Device: "vdb"}, {Device: "vdb2", Mounts: []string{"/boot"}}}, "it holds vdb2, mounted at /boot"},
		{"swap", []Use{{Device: "vdb4", Swap: true}}, "it holds vdb4, which is active swap"},
		{"dm holder", []Use{{Device: "vdb2", Holders: []Holder{{Name: "dm-0", DMName: "vg-root"}}}},
			"vdb2 is held by device-mapper device dm-0 (vg-root)"},
		{"holder", []Use{{Device: "vdb2", Holders: []Holder{{Name: "md0"}}}}, "vdb2 is held by md0"},
		{"a member before a mount on another partition", []Use{
			{Device: "vdb1", Mounts: []string{"/mnt"}, Holders: []Holder{{Name: "dm-0"}}},
			{Device: "vdb3", Members: []MemberUse{{Array: "md1", State: "spare"}}},
		}, "it holds md1 member vdb3 (spare)"},
	}
	for _, tt := range tests {
		if got := InUse(tt.uses...); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
