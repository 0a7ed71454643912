package discover

import "testing"

// TestMemberWriteMostly: md's write_mostly flag, in either spelling the kernel has used, is
// read from the member's sysfs state (issue 17: status shows it, the plan keeps it).
func TestMemberWriteMostly(t *testing.T) {
	tests := []struct {
		state []string
		want  bool
	}{
		{[]string{"in_sync", "write_mostly"}, true},
		{[]string{"in_sync", "writemostly"}, true},
		{[]string{"faulty", "write_mostly"}, true},
		{[]string{"in_sync"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		m := memberFromSys(sysMember("vdb2", "vdb", 1, tt.state...))
		if got := m.WriteMostly(); got != tt.want {
			t.Errorf("%v: WriteMostly %v, want %v", tt.state, got, tt.want)
		}
	}
}
