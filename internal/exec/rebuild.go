package exec

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/progress"
	"github.com/raidswap/raidswap/internal/stream"
	"github.com/raidswap/raidswap/mdadm"
)

// SpeedWriter reads and sets md's minimum rebuild speed (KiB/s).
type SpeedWriter interface {
	MinSpeed() (int64, error)
	SetMinSpeed(kib int64) error
	MaxSpeed() (int64, error)
	SetMaxSpeed(kib int64) error
	// StartRecovery asks md to recover a degraded array onto its spares.
	StartRecovery(array string) error
}

// FullLookEvery is how often the rebuild wait discovers the whole system when it can follow
// the rebuild in /proc/mdstat: a full discovery is tens of milliseconds (under emulation),
// reading mdstat well under one, and a rebuild runs for hours.
const FullLookEvery = 10 * time.Second

// awaitRebuild waits until the arrays are redundant, showing progress, and starts a recovery
// md left stalled as the step's recovery policy says. Between full discoveries it follows
// the rebuild in /proc/mdstat (Options.MDStat); the end of the rebuild there triggers a full
// discovery at once, so the step ends within a poll of the kernel finishing.
func (r *run) awaitRebuild(ctx context.Context, s plan.Step) error {
	uuids := map[string]bool{}
	for _, c := range s.Postconditions {
		uuids[c.ArrayUUID] = true
	}
	stalled := map[string]time.Time{}
	kicks := map[string]int{}
	lastFull := time.Now()
	var bars []progress.Array
	base := newBaseline(r.w.sys, uuids, r.p.Disks.Failed.Serial)
	names := map[string]bool{}
	for _, a := range r.w.sys.Arrays {
		names[a.Name] = names[a.Name] || uuids[a.UUID]
	}
	lastStat := map[string][2]int{}
	return r.wait(ctx, s, "the rebuild", func() (bool, string, error) {
		lastFull = time.Now()
		bars = Progress(r.w.sys, uuids)
		_ = r.emit(stream.Record{Kind: stream.Rebuild, Bars: bars})
		if e := secondFailure(s.ID, base, r.w.sys, uuids); e != nil {
			return false, "", r.stopOnSecondFailure(e)
		}
		if err := r.kickStalled(s, uuids, stalled, kicks); err != nil {
			return false, "", err
		}
		ok, c, found := r.allHold(s.Postconditions)
		if !ok {
			return false, c.Text + ": " + found, nil
		}
		return true, "", nil
	}, func() bool {
		// Between full looks: follow the bars in mdstat, and look fully when mdstat says
		// the plan's arrays are idle and whole, or when it cannot be read.
		if r.o.MDStat == nil || time.Since(lastFull) >= FullLookEvery {
			return true
		}
		stats, err := r.o.MDStat()
		if err != nil {
			return true
		}
		if mdstatWorse(lastStat, stats, names) {
			return true // a member failed: judge it now
		}
		var idle bool
		bars, idle = followMDStat(bars, stats)
		_ = r.emit(stream.Record{Kind: stream.Rebuild, Bars: bars})
		return idle
	})
}

// followMDStat updates the bars of the last full look from /proc/mdstat, and reports whether
// every array of the bars is idle (no sync running or pending) with all its disks active:
// then the rebuild may be over, which only a full look can tell.
func followMDStat(bars []progress.Array, stats []mdadm.MDStat) ([]progress.Array, bool) {
	byName := map[string]mdadm.MDStat{}
	for _, st := range stats {
		byName[st.Name] = st
	}
	out := make([]progress.Array, len(bars))
	idle := true
	for i, b := range bars {
		out[i] = b
		st, ok := byName[b.Array]
		if !ok {
			idle = false
			continue
		}
		switch {
		case st.Delayed:
			out[i].State = "waiting"
			idle = false
		case st.Action != "":
			out[i].State, out[i].Percent, out[i].SpeedKiB = "rebuilding", st.BlocksSyncedPct, int64(st.BlocksSyncedSpeed)
			out[i].ETA = time.Duration(st.BlocksSyncedFinishTime * float64(time.Minute))
			idle = false
		case st.DisksActive < st.DisksTotal:
			idle = false
		}
	}
	return out, idle
}

// raiseSpeed raises md's speed limits to the step's rebuild speed: speed_limit_max first when
// it is lower (md never goes faster than it), then speed_limit_min. Each old value is
// journalled before it is changed, once, so a resumed run, the restore step and abort all
// write back what the system had.
func (r *run) raiseSpeed(s plan.Step) error {
	if r.o.Speed == nil {
		return errors.New("no speed-limit writer configured")
	}
	want := s.Target.SpeedKiB
	for _, l := range []struct {
		name string
		get  func() (int64, error)
		set  func(int64) error
	}{{"speed_limit_max", r.o.Speed.MaxSpeed, r.o.Speed.SetMaxSpeed}, {"speed_limit_min", r.o.Speed.MinSpeed, r.o.Speed.SetMinSpeed}} {
		cur, err := l.get()
		if err != nil {
			return fmt.Errorf("reading %s: %w", l.name, err)
		}
		if l.name == "speed_limit_max" && cur >= want {
			continue
		}
		if _, at := r.j.DataIndex(l.name + "_was"); at < 0 {
			if err := r.note(s, map[string]string{l.name + "_was": strconv.FormatInt(cur, 10)}); err != nil {
				return err
			}
		}
		if cur == want {
			continue
		}
		if err := l.set(want); err != nil {
			return fmt.Errorf("raising %s: %w", l.name, err)
		}
		_ = r.emit(stream.Record{Kind: stream.Did, Name: "speed", Step: s.ID, Msg: "raised " + l.name,
			Data: map[string]string{l.name: strconv.FormatInt(want, 10), "was": strconv.FormatInt(cur, 10)}})
	}
	return nil
}

// restoreSpeed writes back the speed limits journalled before the rebuild.
func (r *run) restoreSpeed(s plan.Step) error {
	if r.o.Speed == nil {
		return errors.New("no speed-limit writer configured")
	}
	// Each restore's record says it to the person too.
	_, err := restoreLimits(r.j, r.out, r.o.Speed, s.ID)
	return err
}

// restoreLimits writes back each speed limit journalled as raised and not yet restored, and
// records each restore to out (its line is the record's Say, and one of said). The restore
// step and abort both use it.
func restoreLimits(j *journal.Journal, out stream.Sink, speed SpeedWriter, step string) ([]string, error) {
	var said []string
	for _, l := range []struct {
		name string
		set  func(int64) error
	}{{"speed_limit_min", speed.SetMinSpeed}, {"speed_limit_max", speed.SetMaxSpeed}} {
		was, at := j.DataIndex(l.name + "_was")
		if at < 0 {
			continue
		}
		if _, rat := j.DataIndex(l.name + "_restored"); rat > at {
			continue
		}
		v, err := strconv.ParseInt(was, 10, 64)
		if err != nil {
			return said, fmt.Errorf("journal %s: %s_was is %q, not a number: set /proc/sys/dev/raid/%s by hand", j.File(), l.name, was, l.name)
		}
		if err := l.set(v); err != nil {
			return said, fmt.Errorf("restoring %s to %d: %w", l.name, v, err)
		}
		msg := fmt.Sprintf("restored /proc/sys/dev/raid/%s to %d", l.name, v)
		if err := out.Put(stream.Record{Kind: stream.Note, Name: "speed", Step: step, Data: map[string]string{l.name + "_restored": was}, Say: msg}); err != nil {
			return said, err
		}
		said = append(said, msg)
	}
	return said, nil
}

// kickStalled starts recovery on an array of the plan that is degraded, holds a spare and
// runs no sync for the step's RecoverAfterSeconds (at most RecoverTimes per array): md leaves
// such an array alone when it was frozen by an mdadm killed mid-operation, or when its sync
// thread was never woken.
func (r *run) kickStalled(s plan.Step, uuids map[string]bool, stalled map[string]time.Time, kicks map[string]int) error {
	if r.o.Speed == nil || r.w == nil || r.w.sys == nil {
		return nil
	}
	for _, a := range r.w.sys.Arrays {
		if !uuids[a.UUID] || a.Sync != nil || a.State != discover.ArrayDegraded {
			delete(stalled, a.Name)
			continue
		}
		spare := false
		for _, m := range a.Members {
			spare = spare || m.State == discover.MemberSpare || m.State == discover.MemberRebuilding
		}
		if !spare {
			delete(stalled, a.Name)
			continue
		}
		since, seen := stalled[a.Name]
		if !seen {
			stalled[a.Name] = time.Now()
			continue
		}
		grace := time.Duration(s.Target.RecoverAfterSeconds) * time.Second
		if s.Target.RecoverTimes > 0 && kicks[a.Name] >= s.Target.RecoverTimes && time.Since(since) >= grace {
			// md stopped the recovery and would not go on after every restart: it cannot
			// read what it copies (a survivor's unreadable sectors fill the bad block log).
			// Waiting longer changes nothing, so the step fails, loudly, now.
			return &RebuildStoppedError{Array: a.Name, Spares: spareNames(a), Tries: kicks[a.Name]}
		}
		if s.Target.RecoverTimes == 0 || time.Since(since) < grace || kicks[a.Name] >= s.Target.RecoverTimes {
			continue
		}
		kicks[a.Name]++
		stalled[a.Name] = time.Now()
		if err := r.emit(stream.Record{Kind: stream.Note, Name: "recover", Level: stream.Warning, Step: s.ID, Data: map[string]string{"recovery_started": a.Name},
			Say: fmt.Sprintf("%s has a spare but no recovery running: asking md to recover (sync_action=recover)", a.Name)}); err != nil {
			return err
		}
		if err := r.o.Speed.StartRecovery(a.Name); err != nil {
			r.say(fmt.Sprintf("could not start %s's recovery: %v", a.Name, err))
		}
	}
	return nil
}

// RebuildStoppedError is a recovery md stopped and did not resume after every restart the
// plan allows: the array stays degraded with the new member a spare.
type RebuildStoppedError struct {
	Array  string
	Spares []string
	Tries  int
}

func (e *RebuildStoppedError) Error() string {
	return fmt.Sprintf("the rebuild of %s stopped and did not resume after %d restarts: %s stays a spare and %s is still degraded. "+
		"md stops a recovery it cannot read from: the survivor probably has unreadable sectors (see dmesg and `raidswap status`). "+
		"Nothing more is written; back up what %s holds now, then replace or ddrescue the survivor",
		e.Array, e.Tries, strings.Join(e.Spares, ", "), e.Array, e.Array)
}

func spareNames(a discover.Array) []string {
	var out []string
	for _, m := range a.Members {
		if (m.State == discover.MemberSpare || m.State == discover.MemberRebuilding) && m.Device != nil {
			out = append(out, "/dev/"+*m.Device)
		}
	}
	if len(out) == 0 {
		out = []string{"the new member"}
	}
	return out
}

// Progress reports the rebuild of the arrays with the given UUIDs (all arrays when nil).
func Progress(sys *discover.System, uuids map[string]bool) []progress.Array {
	var out []progress.Array
	for _, a := range sys.Arrays {
		if uuids != nil && !uuids[a.UUID] {
			continue
		}
		p := progress.Array{Array: a.Name, SizeKiB: a.SizeKiB}
		switch ok, _ := redundant(&a); {
		case ok:
			p.State, p.Percent = "done", 100
		case a.Sync != nil && a.Sync.Delayed:
			p.State = "waiting"
		case a.Sync != nil:
			p.State, p.Percent, p.SpeedKiB = "rebuilding", a.Sync.Percent, a.Sync.SpeedKiB
			if a.Sync.ETASeconds >= 0 {
				p.ETA = time.Duration(a.Sync.ETASeconds) * time.Second
			}
		case hasNewMember(&a):
			p.State = "waiting"
		default:
			p.State = "degraded"
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].SizeKiB < out[j].SizeKiB })
	return out
}

// hasNewMember reports whether an array has a member waiting to be rebuilt.
func hasNewMember(a *discover.Array) bool {
	for _, m := range a.Members {
		if m.State == discover.MemberRebuilding || m.State == discover.MemberSpare {
			return true
		}
	}
	return false
}

// stopOnSecondFailure journals the second failure, so resume knows the run is over, and
// says it.
func (r *run) stopOnSecondFailure(e *SecondFailureError) error {
	if err := r.emit(stream.Record{Kind: stream.Note, Name: "second_failure", Level: stream.Critical, Step: e.Step, Msg: "second failure during the rebuild",
		Data: map[string]string{noteSecondFailure: e.Error()}, Lists: map[string][]string{"failed": e.Failed, "lost": e.Lost}}); err != nil {
		return errors.Join(e, err)
	}
	return e
}
