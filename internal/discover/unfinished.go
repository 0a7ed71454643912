package discover

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/journal"
)

// This file reads raidswap's own journals (internal/journal) for replacements begun and
// neither finished nor aborted: after a power cut or a reboot in the middle of one, the
// arrays can look clean while the plan's last steps (boot code, swap, the rebuild wait) never
// ran. Status warns until `raidswap resume` finishes the run or `raidswap abort` closes it.
// The journals are read through the Root like everything else (so --root and `snapshot` see
// them) and never opened for writing. A drill's discovery (Scope) leaves them out: the lab
// keeps its own journal, and the host's runs are not the drill's business.

// UnfinishedRun is a journalled replacement still open.
type UnfinishedRun struct {
	journal.Run
	// BeforeBoot: its last record is older than this boot (/proc/stat btime), so no raidswap
	// is running it now. Otherwise it may be running at this moment, or have been killed.
	BeforeBoot bool `json:"before_boot"`
	// NewSerial is the serial of the run's new disk: the one the executor chose and
	// journalled, else the one the plan names; "" when neither says.
	NewSerial string `json:"new_serial,omitempty"`
}

// readUnfinished returns the open runs journalled under dir, newest last record first.
func readUnfinished(root *host.Root, dir string, problems *[]string) []UnfinishedRun {
	paths, err := root.Glob(dir + "/*.jsonl")
	if err != nil {
		*problems = append(*problems, fmt.Sprintf("listing journals in %s: %v", dir, err))
		return nil
	}
	boot, bootKnown := bootTime(root)
	var out []UnfinishedRun
	for _, p := range paths {
		b, err := root.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // finished and removed between the listing and the read
		}
		if err != nil {
			*problems = append(*problems, fmt.Sprintf("reading journal %s: %v", p, err))
			continue
		}
		recs, err := journal.Parse(b)
		if err != nil {
			*problems = append(*problems, fmt.Sprintf("reading journal %s: %v", p, err))
		}
		if r := journal.Summarize(p, recs); r.Open {
			out = append(out, UnfinishedRun{Run: r, BeforeBoot: bootKnown && !r.Last.IsZero() && r.Last.Before(boot), NewSerial: newSerial(recs)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Last.After(out[j].Last) })
	return out
}

// newSerial is the serial of a run's new disk: the last new_serial the executor journalled
// (it is emptied when the chosen disk went away), else the plan record's.
func newSerial(recs []journal.Record) string {
	for i := len(recs) - 1; i >= 0; i-- {
		if v, ok := recs[i].Data["new_serial"]; ok {
			return v
		}
	}
	if len(recs) > 0 && recs[0].Event == journal.EventPlan {
		var p struct {
			Disks struct {
				New struct{ Serial string } `json:"new"`
			} `json:"disks"`
		}
		if json.Unmarshal(recs[0].Plan, &p) == nil {
			return p.Disks.New.Serial
		}
	}
	return ""
}

// markBootPending marks each present disk that an open run is making its new disk: its boot
// code comes at a later step of that run, so a disk that cannot boot alone yet is pending,
// not a warning.
func (s *System) markBootPending() {
	for _, r := range s.Unfinished {
		if r.NewSerial == "" {
			continue
		}
		if d := s.DiskBySerial(r.NewSerial); d != nil {
			d.BootPending = r.Plan
		}
	}
}

// unfinishedLines are the verdict's lines for open runs: each names its plan, where it
// stopped, and that `raidswap resume` continues it.
func unfinishedLines(s *System) []string {
	var out []string
	for _, r := range s.Unfinished {
		what := "replacement"
		if r.Failed != "" {
			what += " of " + r.Failed
		}
		if r.New != "" {
			what += " by " + r.New
		}
		where := "its last record is " + r.LastEvent
		if r.LastStep != "" {
			where = fmt.Sprintf("it stopped at step %s (last record: %s)", r.LastStep, r.LastEvent)
		}
		when := ""
		if !r.Last.IsZero() {
			when = " at " + r.Last.UTC().Format("2006-01-02 15:04:05Z")
		}
		if r.BeforeBoot {
			out = append(out, fmt.Sprintf("%s unfinished since before this boot: plan %s (journal %s), %s%s; `raidswap resume` continues it, `raidswap abort` closes it",
				what, r.Plan, r.File, where, when))
			continue
		}
		out = append(out, fmt.Sprintf("%s unfinished: plan %s (journal %s), %s%s; unless a raidswap is running it now, `raidswap resume` continues it, `raidswap abort` closes it",
			what, r.Plan, r.File, where, when))
	}
	return out
}

// bootTime is when this system booted, from /proc/stat's btime line.
func bootTime(root *host.Root) (time.Time, bool) {
	b, err := root.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n <= 0 {
				return time.Time{}, false
			}
			return time.Unix(n, 0), true
		}
	}
	return time.Time{}, false
}
