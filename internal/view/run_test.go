package view

import (
	"bytes"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/progress"
)

// TestRunText: one line per event, the command quoted as a person would type it, a rebuild
// line only when the rounded progress changes, and no command for an in-process step.
func TestRunText(t *testing.T) {
	var b bytes.Buffer
	v := NewRun(&b, false)
	add := plan.Step{ID: "add-md0"}
	v.StepStarting(0, 3, add, []string{"/sbin/mdadm", "/dev/md0", "--add", "/dev/vdd2"})
	v.Waiting(add, "waiting for md0 to rebuild")
	rebuilding := []progress.Array{{Array: "md0", State: "rebuilding", Percent: 41.6}, {Array: "md1", State: "waiting"}}
	v.Rebuild(rebuilding)
	v.Rebuild([]progress.Array{{Array: "md0", State: "rebuilding", Percent: 42.4}, {Array: "md1", State: "waiting"}})
	v.StepDone(0, 3, add)
	v.StepSkipped(1, 3, plan.Step{ID: "mkswap"}, "its postconditions already hold")
	v.StepStarting(2, 3, plan.Step{ID: "clone-table", InProcess: true}, []string{"sfdisk", "--dump", "a b"})
	v.Say("done")
	v.Close()
	want := strings.Join([]string{
		"[1/3] add-md0",
		"      /sbin/mdadm /dev/md0 --add /dev/vdd2",
		"      waiting for md0 to rebuild",
		"      rebuild: md0 42%, md1 waiting",
		"[2/3] mkswap: skipped, its postconditions already hold",
		"[3/3] clone-table",
		"      done",
		"",
	}, "\n")
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestRunTextTitles: given the plan (Steps), each step line says what the step does in the
// operator's words with the new disk's real name, never its id or a {new} placeholder.
func TestRunTextTitles(t *testing.T) {
	p := &plan.Plan{Steps: []plan.Step{
		{ID: "11-add-md0", Action: plan.ActionAddMember, Target: plan.Target{Array: "md0", Device: "{new:2}"}},
		{ID: "14-await-rebuild", Action: plan.ActionAwaitRebuild},
	}}
	var b bytes.Buffer
	v := NewRun(&b, false)
	v.Steps(p, "vdc")
	v.StepStarting(0, 2, p.Steps[0], []string{"/sbin/mdadm", "/dev/md0", "--add", "/dev/vdc2"})
	v.StepSkipped(1, 2, p.Steps[1], "done in an earlier run")
	v.Close()
	out := b.String()
	for _, s := range []string{"[1/2] add vdc2 to md0", "      /sbin/mdadm /dev/md0 --add /dev/vdc2\n", "[2/2] wait until every array is redundant again: skipped"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "11-add-md0") || strings.Contains(out, "{new") {
		t.Errorf("an id or a placeholder on the operator's screen:\n%s", out)
	}
}

// TestRunBarsLines: with bars, the events that are not progress still print as lines, and
// the bars end when every array is redundant. (mpb draws nothing when its output is not a
// terminal, so the bars themselves are not asserted here.)
func TestRunBarsLines(t *testing.T) {
	var b bytes.Buffer
	v := NewRun(&b, true)
	v.Say("before the rebuild")
	v.Rebuild([]progress.Array{{Array: "md0", State: "rebuilding", Percent: 10}})
	v.Rebuild([]progress.Array{{Array: "md0", State: "done", Percent: 100}})
	v.Say("after the rebuild")
	v.Close()
	out := b.String()
	for _, s := range []string{"      before the rebuild\n", "      after the rebuild\n"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestProgressText(t *testing.T) {
	tests := []struct {
		a    progress.Array
		want string
	}{
		{progress.Array{State: "rebuilding", Percent: 5, SpeedKiB: 97656}, "  5.0%  99 MB/s"},
		{progress.Array{State: "rebuilding", Percent: 50, SpeedKiB: 97656, ETA: 65_400_000_000}, " 50.0%  99 MB/s  1m05s left"},
		{progress.Array{State: "waiting"}, "waiting (md rebuilds one array at a time)"},
		{progress.Array{State: "done"}, "redundant"},
		{progress.Array{State: "degraded"}, "degraded, nothing rebuilding"},
	}
	for _, tt := range tests {
		if got := progressText(tt.a); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.a, got, tt.want)
		}
	}
}
