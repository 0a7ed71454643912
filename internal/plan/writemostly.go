package plan

import "fmt"

// keepWriteMostly makes s, a step adding the new member to r's array, add it write-mostly when
// the member it replaces is (writeMostlyOf), and says so in its reason.
func keepWriteMostly(r arrayRole, s Step) Step {
	if writeMostlyOf(r) {
		s.Target.WriteMostly = true
		s.Reason += fmt.Sprintf("; write-mostly, like %s, which it replaces", r.failedDev)
	}
	return s
}

// writeMostlyOf says whether the member the plan replaces in r's array is flagged
// write-mostly, so the new member is added with the flag (issue 17): a RAID1 that mirrors
// onto a slow disk keeps reading from the fast one after the swap. md keeps the flag in the
// member's superblock, which a replacement does not inherit, so it is lost unless the add
// step asks for it. When md no longer lists the member (its disk vanished and was dropped)
// its flag is unknown and the new member is added plainly; status shows the flags.
func writeMostlyOf(r arrayRole) bool {
	if r.failedDev == "" {
		return false
	}
	for _, m := range r.a.Members {
		if m.Device != nil && *m.Device == r.failedDev {
			return m.WriteMostly()
		}
	}
	return false
}
