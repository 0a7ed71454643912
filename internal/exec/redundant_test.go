package exec

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
)

// TestRedundantBelievesMDCount: the postcondition "every slot in_sync" asks md's own count of
// lost slots too, as status does (issue 19: exec's check ignored md/degraded).
func TestRedundantBelievesMDCount(t *testing.T) {
	members := []discover.Member{{State: discover.MemberInSync}, {State: discover.MemberInSync}}
	tests := []struct {
		name     string
		a        discover.Array
		ok       bool
		contains string
	}{
		{"whole, md agrees", discover.Array{Name: "md0", RaidDisks: 2, Members: members, MDDegraded: 0}, true, ""},
		{"whole, md/degraded not read", discover.Array{Name: "md0", RaidDisks: 2, Members: members, MDDegraded: -1}, true, ""},
		{"members in_sync, md counts one lost", discover.Array{Name: "md0", RaidDisks: 2, Members: members, MDDegraded: 1}, false, "md counts 1 lost slot(s)"},
		{"one member short", discover.Array{Name: "md0", RaidDisks: 2, Members: members[:1], MDDegraded: 1}, false, "1 of 2 members in_sync"},
		{"recovering", discover.Array{Name: "md0", RaidDisks: 2, Members: members, Sync: &discover.Sync{Action: discover.SyncRecover, Percent: 12.5}}, false, "recover"},
	}
	for _, tt := range tests {
		ok, why := redundant(&tt.a)
		if ok != tt.ok || !strings.Contains(why, tt.contains) {
			t.Errorf("%s: redundant = %v %q, want %v containing %q", tt.name, ok, why, tt.ok, tt.contains)
		}
	}
}
