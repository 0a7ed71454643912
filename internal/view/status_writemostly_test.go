package view

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
)

// TestStatusWriteMostly (issue 17): a write-mostly member says so in the status table.
func TestStatusWriteMostly(t *testing.T) {
	dev, disk, dev2, disk2 := "vda3", "vda", "vdb3", "vdb"
	s0, s1 := 0, 1
	s := &discover.System{Verdict: discover.OK, Summary: "1 array(s) clean", Arrays: []discover.Array{{
		Name: "md1", Level: "raid1", Metadata: "1.2", State: discover.ArrayClean, RaidDisks: 2, ActiveDisks: 2,
		Members: []discover.Member{
			{Device: &dev, Disk: &disk, Slot: &s0, State: discover.MemberInSync, Flags: []string{"in_sync"}},
			{Device: &dev2, Disk: &disk2, Slot: &s1, State: discover.MemberInSync, Flags: []string{"in_sync", "write_mostly"}},
		}}}}
	var b strings.Builder
	if err := StatusHuman(&b, s); err != nil {
		t.Fatal(err)
	}
	var vda, vdb string
	for _, line := range strings.Split(b.String(), "\n") {
		switch {
		case strings.Contains(line, " vda3 "):
			vda = line
		case strings.Contains(line, " vdb3 "):
			vdb = line
		}
	}
	if !strings.Contains(vdb, "in sync, write-mostly") || strings.Contains(vda, "write-mostly") {
		t.Errorf("status table:\n%s", b.String())
	}
}
