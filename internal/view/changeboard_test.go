package view

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
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

// riskSystem is one array md1 of the given level over partition 3 of n disks: vda (WD-SURV),
// then WD-B, WD-C, ... and last vdX (WD-OLD), whose member has failed. lost names other slots
// missing too.
func riskSystem(level string, n, layout int, lost ...int) *discover.System {
	var disks []discover.Disk
	var members []discover.Member
	for i := range n {
		name := fmt.Sprintf("vd%c", 'a'+i)
		serial := fmt.Sprintf("WD-%c", 'A'+i)
		switch i {
		case 0:
			serial = plantest.Survivor
		case n - 1:
			serial = plantest.Old
		}
		disks = append(disks, plantest.Disk(name, serial))
		switch {
		case i == n-1:
			members = append(members, plantest.Member(name+"3", name, "", -1, discover.MemberFaulty), plantest.Missing(i, ""))
		case slices.Contains(lost, i):
			members = append(members, plantest.Missing(i, serial))
		default:
			members = append(members, plantest.Member(name+"3", name, "", i, discover.MemberInSync))
		}
	}
	a := discover.Array{Name: "md1", UUID: plantest.RootUUID, Level: level, Metadata: "1.2", RaidDisks: n, Members: members,
		SizeKiB: plantest.RootKiB, Bitmap: "none", MDDegraded: -1}
	if layout >= 0 {
		a.Layout = &layout
	}
	return plantest.Finish(&discover.System{Arrays: []discover.Array{a}, Disks: disks})
}

// TestChangeBoardRisk: the risk section says per array what the redundancy model says it can
// still lose while the failed disk's member is out, not "no redundancy left" for every array
// (issue 20, item 6).
func TestChangeBoardRisk(t *testing.T) {
	for _, c := range []struct {
		name string
		sys  *discover.System
		want string
		// single: the closing line warns of a single copy (else it says each survives one more).
		single bool
	}{
		{"raid1 2-way", riskSystem("raid1", 2, -1), "md1 (raid1, 2 members): a single copy, on WD-SURV", true},
		{"raid1 3-way", riskSystem("raid1", 3, -1), "md1 (raid1, 3 members): survives one more lost member (in sync on WD-SURV, WD-B)", false},
		{"raid5", riskSystem("raid5", 3, -1), "md1 (raid5, 3 members): no redundancy left: losing any one of WD-SURV, WD-B stops it", true},
		{"raid6 one lost", riskSystem("raid6", 4, -1), "md1 (raid6, 4 members): survives one more lost member (in sync on WD-SURV, WD-B, WD-C)", false},
		{"raid6 two lost", riskSystem("raid6", 5, -1, 1), "md1 (raid6, 5 members): no redundancy left: losing any one of WD-SURV, WD-C, WD-D stops it", true},
		// near2 on 4: slots {0,1} and {2,3} hold the copies; WD-OLD is slot 3, so WD-C (slot 2)
		// holds the only copy of half the data and WD-SURV or WD-B may go.
		{"raid10 near2", riskSystem("raid10", 4, 0x102), "md1 (raid10 near2, 4 members): a single copy of part of its data, on WD-C (losing it stops the array); it survives the loss of one of WD-SURV, WD-B", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := plan.Request{Mode: plan.ReplaceFailed, Failed: plantest.Old, New: "", Firmware: plan.FirmwareBIOS}
			p, err := plan.Build(c.sys, req, plan.Options{Version: "test", Now: time.Unix(0, 0), Key: []byte("raidswap view test plan key 32b!")})
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := PlanMarkdown(&b, p); err != nil {
				t.Fatal(err)
			}
			md := b.String()
			risk := md[strings.Index(md, "## Risk"):strings.Index(md, "## Prerequisites")]
			if !strings.Contains(risk, "  - "+c.want+"\n") {
				t.Errorf("risk lacks %q:\n%s", c.want, risk)
			}
			if strings.Contains(risk, "have no redundancy left") {
				t.Errorf("risk says every array has no redundancy left:\n%s", risk)
			}
			if got := strings.Contains(risk, "the only copy"); got != c.single {
				t.Errorf("closing warning of a single copy: %t, want %t:\n%s", got, c.single, risk)
			}
		})
	}
}

// TestChangeBoardRiskOldPlan: a plan built before Plan.Exposure existed gets no claim about
// its arrays' redundancy, only that it does not record it.
func TestChangeBoardRiskOldPlan(t *testing.T) {
	p := seedPlanNoNew(t)
	p.Exposure = nil
	var b strings.Builder
	if err := PlanMarkdown(&b, p); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	risk := md[strings.Index(md, "## Risk"):strings.Index(md, "## Prerequisites")]
	for _, a := range []string{"md0", "md1"} {
		if !strings.Contains(risk, "  - "+a+": this plan does not record what it can lose") {
			t.Errorf("risk for %s:\n%s", a, risk)
		}
	}
	if strings.Contains(risk, "single copy") || strings.Contains(risk, "survives") {
		t.Errorf("risk claims what the plan does not record:\n%s", risk)
	}
}
