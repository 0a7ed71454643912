package exec_test

import (
	"testing"

	"github.com/raidswap/raidswap/internal/golden"
)

// TestVMReplaceKeepsWriteMostly (issue 17): vdb's member of md1 is write-mostly (a slow mirror);
// after vdb fails and is replaced, the new disk's member of md1 is write-mostly too (md's own
// dev-*/state says so) and status shows it, while md0's new member, added plainly, is not.
func TestVMReplaceKeepsWriteMostly(t *testing.T) {
	res := runVM(t, vmDisks(), prologue+operator+`
for d in /sys/block/md1/md/dev-vdb*; do echo writemostly > $d/state; done
grep -H . /sys/block/md1/md/dev-*/state
grep -q write_mostly /sys/block/md1/md/dev-vdb*/state && echo "OLD MEMBER WRITE-MOSTLY"
$RS simulate fail --disk vdb >/dev/null
operator &
say "replace"
$RS replace --failed WD-OLD --new WD-NEW --yes --plain --wait-timeout 3m > /run/rs.out 2>&1 || { cat /run/rs.out; exit 1; }
cat /run/rs.out
wait
`+epilogue+`
grep -H . /sys/block/md*/md/dev-*/state
grep -q write_mostly /sys/block/md1/md/dev-${NEW}*/state && echo "NEW MD1 MEMBER WRITE-MOSTLY"
grep -q write_mostly /sys/block/md0/md/dev-${NEW}*/state || echo "NEW MD0 MEMBER PLAIN"
grep -q write_mostly /sys/block/md1/md/dev-vda*/state || echo "SURVIVOR PLAIN"
$RS status | grep -E "^  slot" | grep "${NEW}" | grep -q "in sync, write-mostly" && echo "STATUS SHOWS WRITE-MOSTLY"
`)
	golden.Contains(t, res.Output, append(allChecks, "OLD MEMBER WRITE-MOSTLY", "--add --write-mostly", "done: every step of plan",
		"NEW MD1 MEMBER WRITE-MOSTLY", "NEW MD0 MEMBER PLAIN", "SURVIVOR PLAIN", "STATUS SHOWS WRITE-MOSTLY")...)
	if res.ExitCode != 0 {
		t.Errorf("guest script exit %d", res.ExitCode)
	}
}
