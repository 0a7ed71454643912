package view

import (
	"strings"
	"testing"
)

// TestPlanMarkdownChangeBoard: the markdown plan has the sections a change board asks for,
// in order; the go/no-go names the first step that changes the system; "cannot be undone"
// lists what no back-out brings back, not the reversible steps (issue 20, item 6).
func TestPlanMarkdownChangeBoard(t *testing.T) {
	p := seedPlanNoNew(t)
	var b strings.Builder
	if err := PlanMarkdown(&b, p); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	last := -1
	for _, h := range []string{"## Summary", "## Risk", "## Prerequisites", "## Roles", "## Window", "## Go / no-go", "## Observed state", "## Steps", "## What cannot be undone", "## How to back out", "## Post-change checks"} {
		i := strings.Index(md, "\n"+h+"\n")
		if i < 0 || i < last {
			t.Fatalf("section %q missing or out of order:\n%s", h, md)
		}
		last = i
	}
	first := ""
	for _, s := range p.Steps {
		if s.Destructive {
			first = s.ID
			break
		}
	}
	if !strings.Contains(md, "(`"+first+"`), the first that changes the system") {
		t.Errorf("go/no-go does not name %s", first)
	}
	undo := md[strings.Index(md, "## What cannot be undone"):strings.Index(md, "## How to back out")]
	for _, reversible := range []string{"add-md", "swapoff", "swapon"} {
		if strings.Contains(undo, reversible) {
			t.Errorf("a reversible step (%s) is listed as one that cannot be undone:\n%s", reversible, undo)
		}
	}
	for _, want := range []string{"detach-md0", "partition-clone", "can be put back: the survivor's boot code"} {
		if !strings.Contains(undo, want) {
			t.Errorf("cannot be undone lacks %q:\n%s", want, undo)
		}
	}
}
