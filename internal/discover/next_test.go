package discover

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/journal"
)

// TestNextStep: status names the command for its verdict (issue 20, item 2): an unfinished
// run is resumed, a failed disk replaced through the wizard (or its plan read first), a
// rebuild on one copy followed; OK needs nothing.
func TestNextStep(t *testing.T) {
	whole := Array{Name: "md0", Level: "raid1", RaidDisks: 2, ActiveDisks: 2, Members: []Member{{Slot: intp(0), State: MemberInSync}, {Slot: intp(1), State: MemberInSync}}}
	whole.State = ArrayClean
	degraded := whole
	degraded.State, degraded.ActiveDisks = ArrayDegraded, 1
	degraded.Members = []Member{{Slot: intp(0), State: MemberInSync}, {Device: strp("sdb1"), Disk: strp("sdb"), State: MemberFaulty}}
	rebuilding := whole
	rebuilding.State, rebuilding.ActiveDisks, rebuilding.Sync = ArrayRecovering, 1, &Sync{Action: SyncRecover, Percent: 42}
	rebuilding.Members = []Member{{Slot: intp(0), State: MemberInSync}, {Slot: intp(1), State: MemberRebuilding}}
	failedDisk := Disk{Name: "sdb", Serial: "WD-X9", Present: true, Verdict: DiskFailed}
	open := UnfinishedRun{Run: journal.Run{Plan: "p1", File: "/var/lib/raidswap/journal/p1.jsonl", Failed: "sdb (WD-X9)"}, BeforeBoot: true}
	tests := []struct {
		name      string
		s         System
		want      Verdict
		command   string
		also, why string
	}{
		{"ok", System{Arrays: []Array{whole}}, OK, "", "", "nothing to do"},
		{"failed disk", System{Arrays: []Array{degraded}, Disks: []Disk{failedDisk}}, Critical, "sudo raidswap", "raidswap --plan --failed WD-X9", "disk sdb (WD-X9) has failed"},
		{"degraded, no disk named", System{Arrays: []Array{degraded}}, Critical, "sudo raidswap", "raidswap --plan", "md0 degraded"},
		{"unfinished run first", System{Arrays: []Array{degraded}, Disks: []Disk{failedDisk}, Unfinished: []UnfinishedRun{open}}, Critical, "raidswap resume", "raidswap abort", "replacement of sdb (WD-X9) is unfinished (plan p1"},
		{"rebuild on one copy", System{Arrays: []Array{rebuilding}}, Critical, "raidswap watch", "", "md0 rebuilding with one copy until done"},
		{"array failed", System{Arrays: []Array{{Name: "md2", Level: "raid5", State: ArrayFailed, RaidDisks: 3, Members: []Member{{Slot: intp(0), State: MemberInSync}}}}}, Critical, "", "", "restore it from backup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			s.Verdict, s.Summary = judge(&s)
			n := nextStep(&s)
			if s.Verdict != tt.want || n.Command != tt.command || n.Also != tt.also || !strings.Contains(n.Why, tt.why) {
				t.Errorf("verdict %s (%s), next %+v; want %s, command %q, also %q, why saying %q", s.Verdict, s.Summary, n, tt.want, tt.command, tt.also, tt.why)
			}
		})
	}
}

// TestBootPendingDuringRun: the new disk of an open replacement has no boot code until the
// run's bootloader step: pending, not a warning; the same disk with no run open is warned
// about, and so is any other disk (issue 20, item 5).
func TestBootPendingDuringRun(t *testing.T) {
	missing := &bootloader.Readiness{State: bootloader.BootMissing, Reason: "no boot code in the MBR"}
	run := UnfinishedRun{Run: journal.Run{Plan: "p1", File: "/j/p1.jsonl"}, NewSerial: "WD-NEW"}
	tests := []struct {
		name    string
		runs    []UnfinishedRun
		pending string
		warned  bool
	}{
		{"no run open", nil, "", true},
		{"its run open", []UnfinishedRun{run}, "p1", false},
		{"a run for another disk", []UnfinishedRun{{Run: run.Run, NewSerial: "WD-OTHER"}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &System{Disks: []Disk{{Name: "vdc", Serial: "WD-NEW", Present: true, Boot: missing}}, Unfinished: tt.runs}
			s.Host.Boot.Boot.Array = "md0"
			s.markBootPending()
			if got := s.Disks[0].BootPending; got != tt.pending {
				t.Errorf("BootPending %q, want %q", got, tt.pending)
			}
			_, sum := judge(s)
			if got := strings.Contains(sum, "cannot boot alone"); got != tt.warned {
				t.Errorf("warned %v, want %v: %s", got, tt.warned, sum)
			}
		})
	}
}

// TestNewSerialFromJournal: the run's new disk is the one the executor journalled last
// (emptied when it went away), else the plan's.
func TestNewSerialFromJournal(t *testing.T) {
	plan := journal.Record{Event: journal.EventPlan, Plan: []byte(`{"disks":{"new":{"serial":"WD-PLAN"}}}`)}
	chose := journal.Record{Event: journal.EventNote, Data: map[string]string{"new_serial": "WD-SEEN"}}
	gone := journal.Record{Event: journal.EventNote, Data: map[string]string{"new_serial": ""}}
	for _, tt := range []struct {
		recs []journal.Record
		want string
	}{
		{[]journal.Record{plan}, "WD-PLAN"},
		{[]journal.Record{plan, chose}, "WD-SEEN"},
		{[]journal.Record{plan, chose, gone}, ""},
		{nil, ""},
	} {
		if got := newSerial(tt.recs); got != tt.want {
			t.Errorf("%d records: %q, want %q", len(tt.recs), got, tt.want)
		}
	}
}
