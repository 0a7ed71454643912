package exec

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
)

// stallGrace is how long a degraded array may hold a spare with no recovery running before
// the rebuild wait asks md to start it; kicks is how often it asks.
const (
	stallGrace = 3 * time.Second
	maxKicks   = 3
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

// awaitRebuild waits until the arrays are redundant, showing progress; with a rebuild speed
// in the request it raises md's minimum speed meanwhile and restores it afterwards.
func (r *run) awaitRebuild(ctx context.Context, s plan.Step) error {
	want := r.p.Request.RebuildSpeedKiB
	if want > 0 && r.o.Speed != nil {
		// md never goes faster than speed_limit_max, whatever the minimum says.
		restoreMax, err := r.raiseLimit(s, "speed_limit_max", want, r.o.Speed.MaxSpeed, r.o.Speed.SetMaxSpeed)
		if err != nil {
			return err
		}
		defer restoreMax()
		restoreMin, err := r.raiseLimit(s, "speed_limit_min", want, r.o.Speed.MinSpeed, r.o.Speed.SetMinSpeed)
		if err != nil {
			return err
		}
		defer restoreMin()
	}
	uuids := map[string]bool{}
	for _, c := range s.Postconditions {
		uuids[c.ArrayUUID] = true
	}
	stalled := map[string]time.Time{}
	kicks := map[string]int{}
	return r.wait(ctx, s, "the rebuild", func() (bool, string, error) {
		r.o.View.Rebuild(Progress(r.w.sys, uuids))
		if err := r.kickStalled(s, uuids, stalled, kicks); err != nil {
			return false, "", err
		}
		ok, c, found := r.allHold(s.Postconditions)
		if !ok {
			return false, c.Text + ": " + found, nil
		}
		return true, "", nil
	})
}

// raiseSpeed raises both speed limits to the requested rebuild speed, keeping them raised
// (the rebuild wait restores them from the journal).
func (r *run) raiseSpeed(s plan.Step) error {
	want := r.p.Request.RebuildSpeedKiB
	if want <= 0 || r.o.Speed == nil {
		return nil
	}
	if _, err := r.raiseLimit(s, "speed_limit_max", want, r.o.Speed.MaxSpeed, r.o.Speed.SetMaxSpeed); err != nil {
		return err
	}
	_, err := r.raiseLimit(s, "speed_limit_min", want, r.o.Speed.MinSpeed, r.o.Speed.SetMinSpeed)
	return err
}

// raiseLimit raises one of md's speed limits to want for the rebuild wait, journalling the old
// value first (so a resumed run restores it too), and returns what restores it. A limit
// already at or above want is left alone.
func (r *run) raiseLimit(s plan.Step, name string, want int64, get func() (int64, error), set func(int64) error) (func(), error) {
	key := name + "_was"
	cur, err := get()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	old, had := r.j.Data(key)
	if !had {
		if cur >= want && name == "speed_limit_max" {
			return func() {}, nil
		}
		old = strconv.FormatInt(cur, 10)
		if err := r.j.Append(journal.Record{Event: journal.EventNote, Step: s.ID, Data: map[string]string{key: old}}); err != nil {
			return nil, err
		}
	}
	restore := func() {
		v, err := strconv.ParseInt(old, 10, 64)
		if err == nil {
			err = set(v)
		}
		if err != nil {
			r.o.View.Say(fmt.Sprintf("could not restore %s to %s: %v", name, old, err))
			return
		}
		r.log.Info().Str("event", "speed").Int64(name, v).Msg("restored " + name)
		r.j.Append(journal.Record{Event: journal.EventNote, Step: s.ID, Data: map[string]string{name + "_restored": old}})
	}
	if cur == want {
		return restore, nil
	}
	if err := set(want); err != nil {
		return nil, fmt.Errorf("raising %s: %w", name, err)
	}
	r.log.Info().Str("event", "speed").Int64(name, want).Str("was", old).Msg("raised " + name)
	return restore, nil
}

// kickStalled starts recovery on an array of the plan that is degraded, holds a spare and
// runs no sync for stallGrace: md leaves such an array alone when it was frozen by an mdadm
// killed mid-operation, or when its sync thread was never woken.
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
		if time.Since(since) < stallGrace || kicks[a.Name] >= maxKicks {
			continue
		}
		kicks[a.Name]++
		stalled[a.Name] = time.Now()
		if err := r.j.Append(journal.Record{Event: journal.EventNote, Step: s.ID, Data: map[string]string{"recovery_started": a.Name}}); err != nil {
			return err
		}
		r.o.View.Say(fmt.Sprintf("%s has a spare but no recovery running: asking md to recover (sync_action=recover)", a.Name))
		r.log.Warn().Str("event", "recover").Str("array", a.Name).Msg("started a stalled recovery")
		if err := r.o.Speed.StartRecovery(a.Name); err != nil {
			r.o.View.Say(fmt.Sprintf("could not start %s's recovery: %v", a.Name, err))
		}
	}
	return nil
}

// ArrayProgress is one array's rebuild, for a view.
type ArrayProgress struct {
	Array string
	// State is "waiting" (queued behind another array), "rebuilding", "done" or "degraded"
	// (nothing is rebuilding it).
	State    string
	Percent  float64
	SpeedKiB int64
	ETA      time.Duration
	SizeKiB  int64
}

// Progress reports the rebuild of the arrays with the given UUIDs (all arrays when nil).
func Progress(sys *discover.System, uuids map[string]bool) []ArrayProgress {
	var out []ArrayProgress
	for _, a := range sys.Arrays {
		if uuids != nil && !uuids[a.UUID] {
			continue
		}
		p := ArrayProgress{Array: a.Name, SizeKiB: a.SizeKiB}
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
