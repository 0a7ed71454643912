package view

import (
	"bytes"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/plan"
)

// A plan whose arrays do not simply mirror the survivor says what each rebuilds from instead
// of calling the survivor "the good copy" (issue 17, item 8).
func TestPlanRebuildsFrom(t *testing.T) {
	p := &plan.Plan{Disks: plan.Disks{Survivor: plan.DiskRef{Device: "vda", Serial: "WD-A"}},
		RebuildsFrom: []string{"md1 rebuilds from parity: md reads every in-sync member (vda3 on vda (WD-A), vdb3 on vdb (WD-B)); no single disk holds a copy"}}
	var txt, md bytes.Buffer
	if err := PlanText(&txt, p); err != nil {
		t.Fatal(err)
	}
	if err := PlanMarkdown(&md, p); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"text": txt.String(), "markdown": md.String()} {
		if strings.Contains(out, "good copy") {
			t.Errorf("%s calls a disk the good copy:\n%s", name, out)
		}
		// This plan clones no table (its arrays are built over whole disks, issue 17).
		if strings.Contains(out, "partition table") {
			t.Errorf("%s speaks of a partition table the plan does not clone:\n%s", name, out)
		}
		if !strings.Contains(out, "md1 rebuilds from parity") {
			t.Errorf("%s does not say what md1 rebuilds from:\n%s", name, out)
		}
	}
}
