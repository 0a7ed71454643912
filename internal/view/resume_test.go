package view

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// seedPlanNoNew is the seed replacement with the new disk not named: its steps on the new
// disk carry {new}/{new:N} until a run finds it.
func seedPlanNoNew(t *testing.T) *plan.Plan {
	t.Helper()
	req := plan.Request{Mode: plan.ReplaceFailed, Failed: plantest.Old, Firmware: plan.FirmwareBIOS,
		Swap: []plan.SwapPartition{{Partition: 4, UUID: plantest.SwapUUID, Active: true}}}
	p, err := plan.Build(plantest.Seed(), req, plan.Options{Version: "test", Now: time.Unix(0, 0), Key: []byte("raidswap view test plan key 32b!")})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestResumeText: resume marks each step done, next or to do as the journal says, and once
// the new disk is known and attached names it by its device instead of {new}/{new:N}.
func TestResumeText(t *testing.T) {
	p := seedPlanNoNew(t)
	var recs []journal.Record
	added := false
	for _, s := range p.Steps {
		if s.Action == plan.ActionAwaitNewDisk {
			// The executor notes the disk it found, then journals the wait done.
			recs = append(recs, journal.Record{Event: journal.EventNote, Step: s.ID, Data: map[string]string{"new_serial": plantest.New, "new_device": "vdc"}})
		}
		recs = append(recs, journal.Record{Event: journal.EventDone, Step: s.ID})
		if s.Action == plan.ActionAddMember {
			added = true
			break
		}
	}
	if !added {
		t.Fatal("the seed plan adds no member")
	}
	var detachOnly []journal.Record // the swapoff done: a step a resume does not run again
	for _, s := range p.Steps {
		if s.Action == plan.ActionSwapOff && detachOnly == nil {
			detachOnly = []journal.Record{{Event: journal.EventDone, Step: s.ID}}
		}
	}
	for _, tc := range []struct {
		name, golden string
		recs         []journal.Record
		newDevice    string
		want, not    []string
	}{
		{"after the first add, new disk attached", "resume-added.txt", recs, "vdc",
			[]string{"with vdc (" + plantest.New + ")", "new disk: /dev/vdc (serial " + plantest.New + ")", "  done ", "  next ", "  to do ", "/dev/vdc"}, []string{"{new"}},
		{"after the first add, new disk not attached", "resume-new-gone.txt", recs, "",
			[]string{"serial " + plantest.New + ", not attached now", "{new"}, nil},
		{"after the first step, no new disk yet", "resume-first.txt", detachOnly, "",
			[]string{"1 of", "not chosen yet", "{new"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			v := ResumeView{Plan: p, Journal: "/var/lib/raidswap/journal/" + p.ID() + ".jsonl", Progress: exec.ReadProgress(p, tc.recs, ""), NewDevice: tc.newDevice}
			if err := ResumeText(&out, v); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %q", w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(got, w) {
					t.Errorf("holds %q", w)
				}
			}
			if strings.Count(got, "  next ") != 1 {
				t.Errorf("%d steps marked next, want 1", strings.Count(got, "  next "))
			}
			golden.Check(t, filepath.Join("testdata", tc.golden), out.Bytes())
		})
	}
}
