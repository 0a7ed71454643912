package discover

import (
	"fmt"
	"strings"
)

// This file names the next step status gives for its verdict: the one command to run (or
// none), so no screen leaves the operator to guess what comes after the alarm.

// NextStep is what to run next for the verdict. Command is "" when there is nothing to run:
// the arrays are fine, or the way out is not a raidswap command (restore from backup).
type NextStep struct {
	Command string `json:"command"`
	// Also is the other way to the same end (the plan to read before the wizard).
	Also string `json:"also,omitempty"`
	// Why says what the step answers.
	Why string `json:"why"`
}

// nextStep is the step for the judged system, first match wins: an open replacement is
// finished first (resume), a failed disk is replaced (the wizard, or the plan), a rebuild
// is waited for (watch), a failing disk is copied while it still works; OK needs nothing.
func nextStep(s *System) NextStep {
	if s.Verdict == Unknown {
		return NextStep{Why: "raidswap cannot judge the arrays (see the summary); nothing is known to be OK"}
	}
	if len(s.Unfinished) > 0 {
		r := s.Unfinished[0]
		what := "a replacement"
		if r.Failed != "" {
			what += " of " + r.Failed
		}
		why := fmt.Sprintf("%s is unfinished (plan %s, journal %s)", what, r.Plan, r.File)
		if !r.BeforeBoot {
			why += "; unless a raidswap is running it now"
		}
		return NextStep{Command: "raidswap resume", Also: "raidswap abort", Why: why + ": resume finishes it, abort closes it unfinished"}
	}
	var failed []Disk
	for _, d := range s.Disks {
		if d.Drill != "" && s.Scope == nil {
			continue
		}
		switch d.Verdict {
		case DiskFailed, DiskPartiallyFailed, DiskVanished:
			failed = append(failed, d)
		}
	}
	var single, degraded, lost []string
	for _, a := range s.Arrays {
		if a.Drill != "" && s.Scope == nil {
			continue
		}
		switch {
		case a.State == ArrayFailed:
			lost = append(lost, a.Name)
		case a.State == ArrayDegraded:
			degraded = append(degraded, a.Name)
		case a.State == ArrayRecovering && a.SingleCopy():
			single = append(single, a.Name)
		}
	}
	switch {
	case len(failed) == 1:
		d := failed[0]
		return NextStep{Command: "sudo raidswap", Also: "raidswap --plan --failed " + commandName(d),
			Why: fmt.Sprintf("disk %s has %s: the wizard replaces it; --plan shows every step first", d.Label(), strings.ReplaceAll(string(d.Verdict), "_", " "))}
	case len(failed) > 1:
		return NextStep{Command: "sudo raidswap", Also: "raidswap --plan --failed SERIAL",
			Why: fmt.Sprintf("%d disks have failed or vanished: replace one at a time, the one whose arrays have the least left first", len(failed))}
	case len(degraded) > 0:
		return NextStep{Command: "sudo raidswap", Also: "raidswap --plan",
			Why: strings.Join(degraded, ", ") + " degraded: --plan names the disk to replace (or the candidates)"}
	case len(lost) > 0:
		return NextStep{Why: strings.Join(lost, ", ") + " has FAILED: no rebuild brings it back; restore it from backup"}
	case len(single) > 0:
		return NextStep{Command: "raidswap watch", Why: strings.Join(single, ", ") + " rebuilding with one copy until done: follow it, keep the disks in place"}
	}
	for _, d := range s.Disks {
		if d.SMARTReplaceCandidate && (d.Drill == "" || s.Scope != nil) {
			return NextStep{Command: "raidswap --plan --replace --failed " + commandName(d), Why: fmt.Sprintf("SMART says disk %s is failing while its members are in sync: copy it while it works", d.Label())}
		}
	}
	for _, a := range s.Arrays {
		if a.Sync != nil && a.Sync.Pending && (a.Drill == "" || s.Scope != nil) {
			if cmd := quoted(a.Sync.Reason); cmd != "" {
				return NextStep{Command: cmd, Why: a.Name + ": " + a.Sync.Reason}
			}
		}
	}
	for _, a := range s.Arrays {
		if a.State == ArrayRecovering && (a.Drill == "" || s.Scope != nil) {
			return NextStep{Command: "raidswap watch", Why: a.Name + " is " + a.Rebuilding()}
		}
	}
	if s.Verdict == OK {
		return NextStep{Why: "nothing to do"}
	}
	return NextStep{Why: "no command: see the summary"}
}

// quoted is the first `command` a line names, "" when none.
func quoted(line string) string {
	_, rest, ok := strings.Cut(line, "`")
	if !ok {
		return ""
	}
	cmd, _, ok := strings.Cut(rest, "`")
	if !ok {
		return ""
	}
	return cmd
}

// commandName is how a command names a disk: its serial, or its device when it has none.
func commandName(d Disk) string {
	if d.Serial != "" && d.IdentityProblem == "" {
		return d.Serial
	}
	return "/dev/" + d.Name
}
