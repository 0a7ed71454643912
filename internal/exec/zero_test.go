package exec

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// TestZeroSuperblockAfterClearingClone: when the clone zeroed both ends of every new partition,
// the zero-superblock step is skipped, said why and journalled so, and mdadm
// --zero-superblock never runs; every other command runs as in the seed.
func TestZeroSuperblockAfterClearingClone(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	var want []hosttest.Expect
	for _, e := range seedExpect(w) {
		if !slices.Contains(e.Argv, "--zero-superblock") {
			want = append(want, e)
		}
	}
	r := hosttest.NewFakeRunner(t, want...)
	o := options(t, w, r, t.TempDir())
	o.Cloner.(*fakeCloner).cleared = true
	v := &sayView{}
	o.View = v
	res, err := Apply(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Skipped, "10-zero-superblock") || slices.Contains(res.Ran, "10-zero-superblock") {
		t.Errorf("ran %v, skipped %v: want 10-zero-superblock skipped", res.Ran, res.Skipped)
	}
	recs, err := journal.Load(res.Journal)
	if err != nil {
		t.Fatal(err)
	}
	skipped := false
	for _, rec := range recs {
		if rec.Step == "10-zero-superblock" {
			if rec.Event != journal.EventSkipped {
				t.Errorf("journal: %s %s", rec.Event, rec.Step)
			}
			skipped = true
		}
	}
	if !skipped {
		t.Error("the journal does not record the skip")
	}
}

// TestSuperblocksCleared: the skip needs this journal's clone note, cleared, of the same disk,
// for a step on the new disk's partitions; anything else runs the step.
func TestSuperblocksCleared(t *testing.T) {
	partStep := plan.Step{ID: "10-zero-superblock", Action: plan.ActionZeroSuperblock, Target: plan.Target{Device: plan.NewDiskToken, Partitions: []int{2, 3}}}
	wholeStep := plan.Step{ID: "09-zero-superblock", Action: plan.ActionZeroSuperblock, Target: plan.Target{Device: plan.NewDiskToken, WholeDisk: true}}
	note := func(cleared, serial string) map[string]string {
		return map[string]string{noteClonedCleared: cleared, noteClonedSerial: serial}
	}
	tests := []struct {
		name  string
		notes []map[string]string
		step  plan.Step
		skip  bool
	}{
		{"a clone of this disk that zeroed the ends", []map[string]string{note("true", plantest.New)}, partStep, true},
		{"no clone note", nil, partStep, false},
		{"the clone did not zero the ends", []map[string]string{note("false", plantest.New)}, partStep, false},
		{"the clone was of another disk", []map[string]string{note("true", "WD-OTHER")}, partStep, false},
		{"a later clone did not zero them", []map[string]string{note("true", plantest.New), note("false", plantest.New)}, partStep, false},
		{"a whole-disk member", []map[string]string{note("true", plantest.New)}, wholeStep, false},
		{"not a zero-superblock step", []map[string]string{note("true", plantest.New)}, plan.Step{ID: "11-add", Action: plan.ActionAddMember, Target: plan.Target{Device: plan.NewDiskToken}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := journal.Open(t.TempDir(), "test")
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			for _, d := range tt.notes {
				if err := j.Append(journal.Record{Event: journal.EventNote, Step: "09-partition-clone", Data: d}); err != nil {
					t.Fatal(err)
				}
			}
			sys := &discover.System{Disks: []discover.Disk{plantest.Disk("vdb", plantest.New)}}
			r := &run{j: j, w: &world{sys: sys, newSerial: plantest.New}}
			why := r.superblocksCleared(tt.step)
			if (why != "") != tt.skip {
				t.Errorf("superblocksCleared = %q, want skip %v", why, tt.skip)
			}
			if why != "" && !strings.Contains(why, plantest.New) {
				t.Errorf("the reason %q does not name the disk", why)
			}
		})
	}
}
