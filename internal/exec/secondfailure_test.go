package exec

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// TestSecondFailure: while md1 (raid5 over vda, vdb and the new vdd) rebuilds, a member that
// was in sync goes faulty. The wait must say which array lost its last good copy and which
// still rebuild; a finished --replace marking the failed disk's member faulty is no failure.
func TestSecondFailure(t *testing.T) {
	in, f, reb := discover.MemberInSync, discover.MemberFaulty, discover.MemberRebuilding
	sys := func(md1b, md0b discover.MemberState, md1Degraded int) *discover.System {
		b1 := plantest.Member("vdb3", "vdb", "", 1, md1b)
		if md1b == f {
			b1.Slot = nil
		}
		b0 := plantest.Member("vdb2", "vdb", "", 1, md0b)
		if md0b == f {
			b0.Slot = nil
		}
		return plantest.Finish(&discover.System{
			Arrays: []discover.Array{
				{Name: "md0", UUID: plantest.BootUUID, Level: "raid1", RaidDisks: 3, MDDegraded: -1, Members: []discover.Member{
					plantest.Member("vda2", "vda", "", 0, in), b0, plantest.Member("vdd2", "vdd", "", 2, reb)}},
				{Name: "md1", UUID: plantest.RootUUID, Level: "raid5", RaidDisks: 3, MDDegraded: md1Degraded, Members: []discover.Member{
					plantest.Member("vda3", "vda", "", 0, in), b1, plantest.Member("vdd3", "vdd", "", 2, reb),
					plantest.Member("vdc3", "vdc", "", -1, f)}},
			},
			Disks: []discover.Disk{plantest.Disk("vda", plantest.Survivor), plantest.Disk("vdb", "WD-B"), plantest.Disk("vdc", plantest.Old), plantest.Disk("vdd", plantest.New)},
		})
	}
	uuids := map[string]bool{plantest.BootUUID: true, plantest.RootUUID: true}
	start := sys(in, in, 1)
	base := newBaseline(start, uuids, plantest.Old)
	for _, c := range []struct {
		name string
		now  *discover.System
		want []string // nil: no second failure
	}{
		{"nothing new", sys(in, in, 1), nil},
		{"vdb fails in both", sys(f, f, 2), []string{
			"md0 member vdb2 on vdb (WD-B) is faulty", "md1 member vdb3 on vdb (WD-B) is faulty",
			"md1 (raid5, 2 of 3 slots lost: FAILED (a raid5 survives the loss of 1 member)): no good copy left",
			"Still rebuilding or redundant: md0 (raid1, 2 of 3 slots lost, can lose no more)",
			"`raidswap resume` cannot continue this plan"}},
		{"md counts one more lost slot", sys(in, in, 2), []string{"md counts 2 lost slot(s) in md1, 1 when the rebuild began"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := secondFailure("12-await-rebuild", base, c.now, uuids)
			if c.want == nil {
				if e != nil {
					t.Fatalf("second failure reported: %v", e)
				}
				return
			}
			if e == nil {
				t.Fatal("no second failure reported")
			}
			for _, w := range c.want {
				if !strings.Contains(e.Error(), w) {
					t.Errorf("%q lacks %q", e.Error(), w)
				}
			}
		})
	}
}
