package wizard

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/human"
	"github.com/raidswap/raidswap/internal/plan"
)

// The not-hot-swap path (`raidswap --cold`, Deps.Cold): a chassis without hot-swap bays is
// swapped with the power off. Phase 1 runs as always (the failed disk's members detached,
// its arrays running on the survivor); then, instead of waiting for the pull, the wizard
// says how to swap the disk with the server off and stops with the run's journal open. The
// next boot assembles the arrays degraded, and `sudo raidswap` (or `raidswap resume`)
// continues the same plan from its journal: the failed disk is found gone by its serial,
// the new disk is the one that was not attached when the plan was built.

// PowerOffError is a session that stopped on purpose after phase 1 for a swap with the
// power off: not a failure; the journal stays open for the run after the next boot.
type PowerOffError struct {
	// Failed is the disk to take out, Journal the open run's journal.
	Failed  string
	Journal string
}

func (e *PowerOffError) Error() string {
	if e.Journal == "" {
		return fmt.Sprintf("stopped for the swap with the power off: nothing was changed (%s is out of every array already); power off, swap the disk, boot, then `sudo raidswap` plans the replacement with the new disk in", e.Failed)
	}
	return fmt.Sprintf("stopped for the swap with the power off: %s is out of its arrays (journal %s); power off, swap the disk, boot, then `sudo raidswap` continues (or `raidswap resume`)", e.Failed, e.Journal)
}

// powerOff ends a cold session after phase 1 (journal is its run's), or before anything ran
// when there was nothing to take out of the arrays (journal ""): what to do, in order, with
// the serial to pull and the serials to keep, and the command that goes on after the boot.
func (s *session) powerOff(p *plan.Plan, journal string) error {
	f := p.Disks.Failed
	if journal != "" {
		s.printf("\nPhase 1 is done: %s is out of its arrays, which run on %s alone until the new disk is in.\n", f.Label(), p.Disks.Survivor.Label())
	} else {
		s.printf("\n%s is out of every array already; they run on %s alone until the new disk is in.\n", f.Label(), p.Disks.Survivor.Label())
	}
	s.printf("\nThis chassis has no hot-swap bays (--cold): swap the disk with the power off.\n")
	s.printf("  1. Power off now:  sudo systemctl poweroff\n")
	s.printf("  2. Take out the disk with serial %s%s.\n", orDash(f.Serial), pullFacts(f))
	if k := keep(p); len(k) > 0 {
		s.printf("     Keep the disk with serial %s: it holds the only good copy.\n", strings.Join(k, ", "))
	}
	s.printf("  3. Put the new disk (at least %s) in its place.\n", human.Bytes(p.Disks.New.MinSizeBytes))
	s.printf("  4. Power on. The arrays start on the survivor alone (degraded).\n")
	s.printf("  5. Run:  sudo raidswap\n")
	if journal != "" {
		s.printf("     It continues this replacement from %s (`sudo raidswap resume` does the same).\n", journal)
	} else {
		s.printf("     It plans the replacement again, with the new disk in (nothing was changed now).\n")
	}
	return &PowerOffError{Failed: f.Label(), Journal: journal}
}

// pullFacts is what tells the failed disk apart in the chassis: model, size, bay.
func pullFacts(f plan.DiskRef) string {
	var parts []string
	if f.Model != "" {
		parts = append(parts, "model "+f.Model)
	}
	if f.SizeBytes > 0 {
		parts = append(parts, human.Bytes(f.SizeBytes))
	}
	switch {
	case strings.HasPrefix(f.Bay, "/dev/"):
		parts = append(parts, "at "+f.Bay) // a bus path: no bay is known
	case f.Bay != "":
		parts = append(parts, "bay "+f.Bay)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
