package view

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
	"github.com/raidswap/raidswap/internal/progress"
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
	// What exec.ReadProgress gives for a journal: view renders it and does not read journals.
	// added: every step up to the first add done (the preflight runs again on every run, so it
	// is never done), the new disk chosen as vdc.
	added := progress.Run{Done: make([]bool, len(p.Steps)), NewSerial: plantest.New, NewDevice: "vdc"}
	found := false
	for i, s := range p.Steps {
		added.Done[i] = s.Action != plan.ActionPreflight
		if s.Action == plan.ActionAddMember {
			found = true
			break
		}
	}
	if !found {
		t.Fatal("the seed plan adds no member")
	}
	// detachOnly: the swapoff done, no new disk yet.
	detachOnly := progress.Run{Done: make([]bool, len(p.Steps))}
	for i, s := range p.Steps {
		if s.Action == plan.ActionSwapOff {
			detachOnly.Done[i] = true
			break
		}
	}
	for _, tc := range []struct {
		name, golden string
		prog         progress.Run
		newDevice    string
		want, not    []string
	}{
		{"after the first add, new disk attached", "resume-added.txt", added, "vdc",
			[]string{"with vdc (" + plantest.New + ")", "new disk: /dev/vdc (serial " + plantest.New + ")", "  done ", "  next ", "  to do ", "/dev/vdc"}, []string{"{new"}},
		{"after the first add, new disk not attached", "resume-new-gone.txt", added, "",
			[]string{"serial " + plantest.New + ", not attached now", "{new"}, nil},
		{"after the first step, no new disk yet", "resume-first.txt", detachOnly, "",
			[]string{"1 of", "not chosen yet", "{new"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			v := ResumeView{Plan: p, Journal: "/var/lib/raidswap/journal/" + p.ID() + ".jsonl", Progress: tc.prog, NewDevice: tc.newDevice}
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
