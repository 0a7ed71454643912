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

// TestZeroSuperblockAfterCleanClone: when the clone's libblkid probe found nothing where the
// new partitions lie, the zero-superblock step is skipped, said why and journalled so, and
// mdadm --zero-superblock never runs; every other command runs as in the seed.
func TestZeroSuperblockAfterCleanClone(t *testing.T) {
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
	o.Cloner.(*fakeCloner).clean = true
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

// TestSuperblocksProvedAbsent: the skip needs this journal's clone note, clean, of the same
// disk, for a step on the new disk's partitions; anything else runs the step.
func TestSuperblocksProvedAbsent(t *testing.T) {
	partStep := plan.Step{ID: "10-zero-superblock", Action: plan.ActionZeroSuperblock, Target: plan.Target{Device: plan.NewDiskToken, Partitions: []int{2, 3}}}
	wholeStep := plan.Step{ID: "09-zero-superblock", Action: plan.ActionZeroSuperblock, Target: plan.Target{Device: plan.NewDiskToken, WholeDisk: true}}
	note := func(clean, serial string) map[string]string {
		return map[string]string{noteClonedClean: clean, noteClonedSerial: serial}
	}
	tests := []struct {
		name  string
		notes []map[string]string
		step  plan.Step
		skip  bool
	}{
		{"clean clone of this disk", []map[string]string{note("true", plantest.New)}, partStep, true},
		{"no clone note", nil, partStep, false},
		{"the clone found data (--wipe)", []map[string]string{note("false", plantest.New)}, partStep, false},
		{"the clone was of another disk", []map[string]string{note("true", "WD-OTHER")}, partStep, false},
		{"a later clone found data", []map[string]string{note("true", plantest.New), note("false", plantest.New)}, partStep, false},
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
			why := r.superblocksProvedAbsent(tt.step)
			if (why != "") != tt.skip {
				t.Errorf("superblocksProvedAbsent = %q, want skip %v", why, tt.skip)
			}
			if why != "" && !strings.Contains(why, plantest.New) {
				t.Errorf("the reason %q does not name the disk", why)
			}
		})
	}
}
