package exec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/mdadm"
)

// This file notices a second failure while the plan's arrays rebuild: a member that was in
// sync when the wait began goes faulty or away, md's count of lost slots rises, or an array
// fails (the redundancy model, mdadm.Shape). The rebuild wait stops within a poll, says which
// array has no good copy left and which still rebuild, and journals it; resume then refuses
// to go on and says the way out.

// noteSecondFailure is the journal note (Data key) of a second failure; its value is the
// error's text. A run whose journal holds it is over: resume refuses it.
const noteSecondFailure = "second_failure"

// SecondFailureError is a failure during the rebuild that the plan cannot go on from.
type SecondFailureError struct {
	Step string
	// Failed says what failed: "md1 member vdb3 on vdb (WD-B) is faulty".
	Failed []string
	// Lost are the arrays with no good copy left (FAILED), Rebuilding the plan's arrays that
	// still rebuild or are redundant.
	Lost, Rebuilding []string
	// Resumed is set when resume found the failure in the journal; Text is what was said.
	Resumed bool
	Text    string
}

func (e *SecondFailureError) Error() string {
	if e.Resumed {
		return "this run cannot be resumed: " + e.Text
	}
	var b strings.Builder
	fmt.Fprintf(&b, "a second failure during the rebuild: %s. ", strings.Join(e.Failed, "; "))
	if len(e.Lost) > 0 {
		fmt.Fprintf(&b, "%s: no good copy left; md cannot serve its data and no rebuild brings it back: restore from backup. ", strings.Join(e.Lost, "; "))
	}
	if len(e.Rebuilding) > 0 {
		fmt.Fprintf(&b, "Still rebuilding or redundant: %s (the kernel goes on with them). ", strings.Join(e.Rebuilding, "; "))
	}
	b.WriteString("raidswap stopped here, and `raidswap resume` cannot continue this plan: run `raidswap status`, close this run with `raidswap abort`, replace the disk that just failed and, for an array that failed, restore it from backup")
	return b.String()
}

// inSyncBaseline records, per array UUID, the devices in sync (but the failed disk's) and
// md's count of lost slots when the rebuild wait begins.
type inSyncBaseline struct {
	inSync   map[string]map[string]bool
	degraded map[string]int
}

func newBaseline(sys *discover.System, uuids map[string]bool, failedSerial string) inSyncBaseline {
	b := inSyncBaseline{inSync: map[string]map[string]bool{}, degraded: map[string]int{}}
	for _, a := range sys.Arrays {
		if !uuids[a.UUID] {
			continue
		}
		set := map[string]bool{}
		for _, m := range a.Members {
			// The failed disk's members are expected to go (a finished --replace marks
			// them faulty).
			if m.State == discover.MemberInSync && m.Device != nil && (m.Serial == "" || m.Serial != failedSerial) {
				set[*m.Device] = true
			}
		}
		b.inSync[a.UUID] = set
		b.degraded[a.UUID] = a.Shape().Missing()
	}
	return b
}

// secondFailure compares the system now with the baseline: nil when nothing the plan relies
// on has failed since.
func secondFailure(step string, base inSyncBaseline, sys *discover.System, uuids map[string]bool) *SecondFailureError {
	e := &SecondFailureError{Step: step}
	var arrays []discover.Array
	for _, a := range sys.Arrays {
		if uuids[a.UUID] {
			arrays = append(arrays, a)
		}
	}
	sort.Slice(arrays, func(i, j int) bool { return mdadm.ArrayNameLess(arrays[i].Name, arrays[j].Name) })
	hit := false
	for _, a := range arrays {
		was, known := base.inSync[a.UUID]
		sh := a.Shape()
		if known {
			now := map[string]discover.Member{}
			for _, m := range a.Members {
				if m.Device != nil {
					now[*m.Device] = m
				}
			}
			var devs []string
			for d := range was {
				devs = append(devs, d)
			}
			sort.Strings(devs)
			for _, d := range devs {
				m, listed := now[d]
				switch {
				case !listed:
					hit = true
					e.Failed = append(e.Failed, fmt.Sprintf("%s member %s, in sync when the rebuild began, is gone from the array", a.Name, d))
				case m.State == discover.MemberFaulty || m.Gone:
					hit = true
					e.Failed = append(e.Failed, fmt.Sprintf("%s member %s is %s", a.Name, m.Label(), failedWord(m)))
				}
			}
			if a.MDDegraded > base.degraded[a.UUID] && !hit {
				hit = true
				e.Failed = append(e.Failed, fmt.Sprintf("md counts %d lost slot(s) in %s, %d when the rebuild began", a.MDDegraded, a.Name, base.degraded[a.UUID]))
			}
		}
		switch {
		case sh.Failed() || a.State == discover.ArrayFailed:
			hit = true
			e.Lost = append(e.Lost, fmt.Sprintf("%s (%s)", a.Name, sh.Describe()))
		default:
			e.Rebuilding = append(e.Rebuilding, fmt.Sprintf("%s (%s)", a.Name, sh.Describe()))
		}
	}
	if !hit {
		return nil
	}
	if len(e.Failed) == 0 {
		e.Failed = []string{"an array of the plan has failed"}
	}
	return e
}

func failedWord(m discover.Member) string {
	if m.Gone {
		return "gone (its disk vanished)"
	}
	return "faulty"
}

// mdstatWorse reports whether /proc/mdstat shows an array of the bars with more faulty
// members or fewer active ones than the last read: a failure the next full look must judge
// now, not in FullLookEvery.
func mdstatWorse(last map[string][2]int, stats []mdadm.MDStat, names map[string]bool) bool {
	worse := false
	for _, st := range stats {
		if !names[st.Name] {
			continue
		}
		faulty := 0
		for _, c := range st.Devices {
			if c.Faulty {
				faulty++
			}
		}
		if prev, ok := last[st.Name]; ok && (faulty > prev[0] || int(st.DisksActive) < prev[1]) {
			worse = true
		}
		last[st.Name] = [2]int{faulty, int(st.DisksActive)}
	}
	return worse
}
