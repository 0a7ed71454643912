package drill

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/simulate"
)

// Role is a drill disk's part in a scenario.
type Role string

// Roles.
const (
	Survivor Role = "survivor"
	Failing  Role = "failed"
)

// Shelf is the new disk waiting on the shelf.
type Shelf struct {
	// SizeFactor times the lab's disk size (1 when zero).
	SizeFactor int
	// SectorSize is its logical sector size (512 when zero).
	SectorSize int
	// Dirty: it comes from another server with an old md superblock and partition table.
	Dirty bool
}

// Scenario is one drill: how the lab is built and broken, how the replacement runs and what
// it must end with.
type Scenario struct {
	Name string
	// Teaches says in one line what the trainee practises.
	Teaches string
	// PassesOn says what the scenario is judged on (docs/drill.md).
	PassesOn string
	// Expect is PASS, or FAILED-AS-EXPECTED for a run that must fail loudly.
	Expect Result
	// DM are the disks whose members sit on dm linear tables (Vanish and Flaky need them).
	DM    []Role
	Shelf Shelf
	// NewFirst inserts the new disk before the replacement starts (and names it).
	NewFirst bool
	// Break breaks the lab after it is built.
	Break func(s *scene, ctx context.Context) error
	// AfterDetach runs in the hands once the failed disk is out of its arrays.
	AfterDetach func(s *scene, ctx context.Context) error
	// Replace runs the replacement (the wizard when nil).
	Replace func(s *scene, ctx context.Context) error
	// Judge scores the end (judgeSuccess when nil).
	Judge func(s *scene, ctx context.Context, runErr error)
}

// Scenarios are every drill, in the order `--scenario all` runs them.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "failed-member", Expect: Pass, Break: (*scene).failDisk,
			Teaches:  "md failed both of a disk's members: take it out, swap it, rebuild (the seed's case)",
			PassesOn: "the wizard's replacement reaches redundancy; canaries, arrays, partition table, alignment and boot code verify"},
		{Name: "vanished-disk", Expect: Pass, DM: []Role{Failing}, Break: (*scene).vanish,
			Teaches:  "a disk dropped off the bus while md held it: nothing to pull, only a new disk to insert",
			PassesOn: "the wizard finds the vanished disk from its remembered slots and rebuilds onto the new disk; all checks verify"},
		{Name: "partially-failed", Expect: Pass, Break: (*scene).failRootMember,
			Teaches:  "only one array's member failed, the other is still in sync: the whole disk comes out anyway",
			PassesOn: "the in-sync member is detached too, the disk is replaced, both arrays redundant; all checks verify"},
		{Name: "4kn-replacement", Expect: Pass, Break: (*scene).failDisk, Shelf: Shelf{SectorSize: 4096}, Replace: (*scene).fourKn,
			Teaches:  "the new disk has 4096-byte logical sectors while the arrays' members have 512-byte ones",
			PassesOn: "raidswap refuses the 4Kn disk before writing to it (mdadm#187); it is swapped for a 512-byte disk, the run resumes and verifies"},
		{Name: "larger-replacement", Expect: Pass, Break: (*scene).failDisk, Shelf: Shelf{SizeFactor: 2},
			Teaches:  "the new disk is twice the size of the old one",
			PassesOn: "the survivor's layout is cloned onto the larger disk, aligned; all checks verify"},
		{Name: "dirty-replacement", Expect: Pass, Break: (*scene).failDisk, Shelf: Shelf{Dirty: true}, NewFirst: true, Judge: (*scene).judgeDirty,
			Teaches:  "the new disk comes from another server and still holds an md superblock and a partition table",
			PassesOn: "the wizard says the disk holds data and goes ahead only after the trainee chose to erase it; all checks verify"},
		{Name: "survivor-read-errors", Expect: FailedAsExpected, DM: []Role{Survivor}, Break: (*scene).failDisk, AfterDetach: (*scene).flakySurvivor, Judge: (*scene).judgeFailedLoudly,
			Teaches:  "the survivor cannot read part of its data during the rebuild",
			PassesOn: "the rebuild fails loudly, the run ends with an error, and the journal marks neither the rebuild nor the verification done"},
		{Name: "interrupted", Expect: Pass, Break: (*scene).failDisk, NewFirst: false, Replace: (*scene).interrupted,
			Teaches:  "raidswap is killed (kill -9) in the middle of adding the new disk",
			PassesOn: "`raidswap resume` continues from the journal to redundancy; all checks verify"},
		{Name: "wrong-disk", Expect: Pass, Break: (*scene).failDisk, Replace: (*scene).wrongDisk, Judge: (*scene).judgeWrongDisk,
			Teaches:  "the trainee tries to replace the survivor, and to use the survivor as the new disk",
			PassesOn: "both are refused by the plan, a forged plan naming the survivor is refused by the executor, each counted; then the right replacement verifies"},
		{Name: "predictive", Expect: Pass, NewFirst: true, Replace: (*scene).predictive, Judge: (*scene).judgePredictive,
			Teaches:  "a working disk that is failing (SMART) is copied onto a new disk with mdadm --replace",
			PassesOn: "every array keeps two in-sync (or replacing) members throughout, sampled every 0.2 s; all checks verify"},
	}
}

// Default is the scenario `raidswap drill` runs without --scenario.
const Default = "failed-member"

// Names are the scenarios' names, in order.
func Names() []string {
	var out []string
	for _, s := range Scenarios() {
		out = append(out, s.Name)
	}
	return out
}

// Select returns the scenarios a --scenario value names: one name, "all", or a comma list.
func Select(name string) ([]Scenario, error) {
	all := Scenarios()
	if name == "" {
		name = Default
	}
	if name == "all" {
		return all, nil
	}
	var out []Scenario
	for _, n := range strings.Split(name, ",") {
		found := false
		for _, s := range all {
			if s.Name == strings.TrimSpace(n) {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown scenario %q: use all or one of %s", n, strings.Join(Names(), ", "))
		}
	}
	return out, nil
}

// failDisk: md fails both of the failed disk's members, as after its I/O errors.
func (s *scene) failDisk(ctx context.Context) error {
	ms, err := simulate.FailDisk(ctx, s.c.Runner, s.c.Root, s.failedDev)
	if err == nil {
		s.say("md failed %d members of %s (%s)", len(ms), s.failed, s.failedDev)
	}
	return err
}

func (s *scene) vanish(ctx context.Context) error {
	if err := s.lab.Vanish(ctx, s.failed); err != nil {
		return err
	}
	s.say("%s (%s) vanished from the bus while md held it", s.failed, s.failedDev)
	return nil
}

// failRootMember fails only the failed disk's member of the root array.
func (s *scene) failRootMember(ctx context.Context) error {
	md := s.arrays[len(s.arrays)-1]
	if s.rootArray != "" {
		md = s.rootArray
	}
	ms, err := simulate.Members(s.c.Root)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Array == md && m.Disk == filepath.Base(s.failedDev) {
			if err := simulate.FailMember(ctx, s.c.Runner, md, m.Device); err != nil {
				return err
			}
			s.say("md failed %s's member %s of %s; its other members stay in sync", s.failed, m.Device, md)
			return nil
		}
	}
	return fmt.Errorf("%s has no member on %s", md, s.failedDev)
}

// flakySurvivor makes the survivor's member of the root array (the data, not /boot) fail
// reads in the middle, so the rebuild meets the errors.
func (s *scene) flakySurvivor(ctx context.Context) error {
	md := s.arrays[len(s.arrays)-1]
	if s.rootArray != "" {
		md = s.rootArray
	}
	if err := s.lab.Flaky(ctx, s.survivor, md); err != nil {
		return err
	}
	s.say("the survivor %s now fails reads in the middle of its %s data", s.survivor, md)
	return nil
}

// judgeFailedLoudly: the run must have ended with an error, and the journal must not mark
// the rebuild or the verification done.
func (s *scene) judgeFailedLoudly(ctx context.Context, runErr error) {
	c := s.card
	recs, jerr := s.journalRecords()
	var claimed []string
	for _, r := range recs {
		if claimsRedundant(r) && !contains(claimed, r.Step) {
			claimed = append(claimed, r.Step)
		}
	}
	sort.Strings(claimed)
	finished := false
	for _, r := range recs {
		finished = finished || r.Event == journal.EventFinished
	}
	c.Checks = append(c.Checks,
		Check{Name: "run ended with an error", OK: runErr != nil, Detail: errText(runErr)},
		Check{Name: "nothing claimed done", OK: jerr == nil && len(recs) > 0 && len(claimed) == 0 && !finished,
			Detail: fmt.Sprintf("%d journal records; rebuild/verify marked done: %s; finished: %v", len(recs), orNone(claimed), finished)})
	_ = s.lab.Restore(context.Background(), s.survivor)
	c.Result = FailedAsExpected
	for _, k := range c.Checks {
		if !k.OK {
			c.Result = Fail
			c.Reason = "expected a loud failure: " + k.Name + ": " + k.Detail
			return
		}
	}
	c.Reason = "the rebuild failed as it must: " + errText(runErr)
}

func errText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// judgeDirty: the replacement verifies, and its plan erased the new disk only because the
// trainee chose it.
func (s *scene) judgeDirty(ctx context.Context, runErr error) {
	recs, _ := s.journalRecords()
	wiped := false
	for _, r := range recs {
		if planWipes(r.Record) {
			wiped = true
		}
	}
	s.card.Checks = append(s.card.Checks, Check{Name: "erased only after the trainee chose it", OK: wiped && s.tally.Answers() > 0,
		Detail: map[bool]string{true: "the plan that ran erases the new disk (--wipe), built after the question", false: "no plan with --wipe ran"}[wiped]})
	s.judgeSuccess(ctx, runErr)
}
