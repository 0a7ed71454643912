package exec

import (
	"context"
	"sync"
	"time"

	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/progress"
	"github.com/raidswap/raidswap/internal/stream"
	"github.com/raidswap/raidswap/mdadm"
)

// rebuildFollower shows the rebuild from the first member added until the await-rebuild step
// takes over: md starts recovering the moment `mdadm --add` returns, and the steps between
// (mkswap, swapon, the bootloader installs) take long enough for a small array to finish
// unseen. It only reads /proc/mdstat (Options.MDStat) and draws; it decides nothing.
type rebuildFollower struct {
	r      *run
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// start begins following, once; without an mdstat reader it does nothing.
func (f *rebuildFollower) start(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != nil || f.r.o.MDStat == nil {
		return
	}
	uuids := rebuildArrays(f.r.p)
	if len(uuids) == 0 {
		return
	}
	bars := Progress(f.r.w.sys, uuids)
	ctx, f.cancel = context.WithCancel(ctx)
	f.done = make(chan struct{})
	go f.follow(ctx, bars)
}

// stop ends following and waits until the last bar update is drawn.
func (f *rebuildFollower) stop() {
	f.mu.Lock()
	cancel, done := f.cancel, f.done
	f.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (f *rebuildFollower) follow(ctx context.Context, bars []progress.Array) {
	defer close(f.done)
	_ = f.r.emit(stream.Record{Kind: stream.Rebuild, Bars: bars})
	tick := time.NewTicker(f.r.poll(plan.Step{Action: plan.ActionAwaitRebuild}))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		stats, err := f.r.o.MDStat()
		if err != nil {
			continue
		}
		bars = mdstatBars(bars, stats)
		_ = f.r.emit(stream.Record{Kind: stream.Rebuild, Bars: bars})
		if allDone(bars) {
			return
		}
	}
}

// rebuildArrays are the arrays whose redundancy the plan's await-rebuild step waits for.
func rebuildArrays(p *plan.Plan) map[string]bool {
	uuids := map[string]bool{}
	for _, s := range p.Steps {
		if s.Action != plan.ActionAwaitRebuild {
			continue
		}
		for _, c := range s.Postconditions {
			if c.ArrayUUID != "" {
				uuids[c.ArrayUUID] = true
			}
		}
	}
	return uuids
}

// mdstatBars updates bars from /proc/mdstat as the rebuild wait does (followMDStat), and
// marks an array done when mdstat shows it idle with every disk active. Only the bars say
// so: whether the plan's postconditions hold is the await-rebuild step's full look.
func mdstatBars(bars []progress.Array, stats []mdadm.MDStat) []progress.Array {
	out, _ := followMDStat(bars, stats)
	for i := range out {
		for _, st := range stats {
			if st.Name == out[i].Array && !st.Delayed && st.Action == "" && st.DisksTotal > 0 && st.DisksActive == st.DisksTotal {
				out[i].State, out[i].Percent, out[i].SpeedKiB, out[i].ETA = "done", 100, 0, 0
			}
		}
	}
	return out
}

func allDone(bars []progress.Array) bool {
	for _, b := range bars {
		if b.State != "done" {
			return false
		}
	}
	return len(bars) > 0
}
