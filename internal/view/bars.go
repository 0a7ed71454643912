package view

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/raidswap/raidswap/internal/human"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/progress"
)

// barsStallAfter is how long one call into the progress library (mpb) may take before the
// bars are given up for plain lines. Drawing a frame takes microseconds; a call still
// waiting after this long is a stall (issue 18: a bar froze and held the run for minutes).
const barsStallAfter = 2 * time.Second

// runBars is a Run with one mpb bar per array during a rebuild; other events print as lines
// above the bars.
//
// One goroutine (draw) owns the mpb container and makes every call into mpb; Rebuild, the
// lines and Close hand it a request and wait for it at most stallAfter. No lock is held
// across a call into mpb, and mpb's decorators read an atomic value, never a lock, so mpb
// cannot wait for the run nor the run for mpb. If a request is not done in time, drawing
// has stalled: the view says so once, stops mpb, and prints plain lines (RunText) from then
// on, so a stuck terminal or library can slow the output but never hold a step.
type runBars struct {
	out        io.Writer // shared by mpb's goroutines and the plain lines (drawTo)
	text       *RunText  // lines above the bars, written through the draw goroutine
	plain      *RunText  // lines straight to out, once the bars stopped
	stallAfter time.Duration
	opts       []mpb.ContainerOption
	// barText is what a bar shows after it (progressText; a test makes it block).
	barText func(progress.Array) string

	reqs      chan func()
	quit      chan struct{}
	closeOnce sync.Once
	mu        sync.Mutex // guards stalled only; never held across a call into mpb
	stalled   bool
	cur       atomic.Pointer[mpb.Progress] // the container drawing, for stall's Shutdown

	// Owned by the draw goroutine.
	p    *mpb.Progress
	bars map[string]*arrayBar
}

// arrayBar is one array's bar and its latest progress, which Rebuild stores and the bar's
// decorator loads without a lock.
type arrayBar struct {
	bar  *mpb.Bar
	info atomic.Pointer[progress.Array]
}

func newRunBars(w io.Writer, width int, opts ...mpb.ContainerOption) *runBars {
	out := drawTo(w)
	v := &runBars{
		out:        out,
		plain:      &RunText{W: out, Width: width},
		stallAfter: barsStallAfter,
		opts:       append([]mpb.ContainerOption{mpb.WithOutput(out), mpb.WithWidth(40), mpb.WithRefreshRate(200 * time.Millisecond)}, opts...),
		barText:    progressText,
		reqs:       make(chan func()),
		quit:       make(chan struct{}),
	}
	v.text = &RunText{W: writerFunc(v.write), Width: width}
	go v.draw()
	return v
}

func (v *runBars) draw() {
	for {
		select {
		case fn := <-v.reqs:
			fn()
		case <-v.quit:
			return
		}
	}
}

// do has the draw goroutine run fn and waits for it at most stallAfter. It is false when fn
// may not have run: the bars stalled (now or before) or were closed.
func (v *runBars) do(fn func()) bool {
	if v.isStalled() {
		return false
	}
	done := make(chan struct{})
	t := time.NewTimer(v.stallAfter)
	defer t.Stop()
	select {
	case v.reqs <- func() { defer close(done); fn() }:
	case <-v.quit:
		return false
	case <-t.C:
		v.stall()
		return false
	}
	select {
	case <-done:
		return true
	case <-t.C:
		v.stall()
		return false
	}
}

func (v *runBars) isStalled() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.stalled
}

// stall gives the bars up for plain lines, once: it says so and stops mpb without waiting
// for it (Shutdown cancels the bars, which frees a call blocked in mpb).
func (v *runBars) stall() {
	v.mu.Lock()
	was := v.stalled
	v.stalled = true
	v.mu.Unlock()
	if was {
		return
	}
	if p := v.cur.Load(); p != nil {
		go p.Shutdown()
	}
	v.plain.Say("(the progress bars stalled; progress continues as lines)")
}

// write hands mpb a copy of b: if drawing stalls, write returns (io.Writer's callers then
// reuse b, fmt's buffer for one) while mpb may still hold the line and read it later.
func (v *runBars) write(b []byte) (int, error) {
	b = append([]byte(nil), b...)
	var n int
	var err error
	if v.do(func() {
		if v.p != nil {
			n, err = v.p.Write(b)
		} else {
			n, err = v.out.Write(b)
		}
	}) {
		return n, err
	}
	return v.out.Write(b)
}

func (v *runBars) Steps(p *plan.Plan, newDisk string) { v.text.Steps(p, newDisk) }
func (v *runBars) StepStarting(i, n int, s plan.Step, argv []string) {
	v.text.StepStarting(i, n, s, argv)
}
func (v *runBars) StepSkipped(i, n int, s plan.Step, why string) { v.text.StepSkipped(i, n, s, why) }
func (v *runBars) StepDone(i, n int, s plan.Step)                { v.text.StepDone(i, n, s) }
func (v *runBars) Waiting(s plan.Step, what string)              { v.text.Waiting(s, what) }
func (v *runBars) Say(msg string)                                { v.text.Say(msg) }

const barTotal = 1000

// Rebuild draws (or updates) a bar per array; once the bars stalled, it prints a line.
func (v *runBars) Rebuild(prog []progress.Array) {
	prog = append([]progress.Array(nil), prog...)
	if !v.do(func() { v.update(prog) }) {
		v.plain.Rebuild(prog)
	}
}

// update runs on the draw goroutine.
func (v *runBars) update(prog []progress.Array) {
	if v.p == nil {
		v.p = mpb.New(v.opts...)
		v.cur.Store(v.p)
		v.bars = map[string]*arrayBar{}
	}
	for _, a := range prog {
		if ab, ok := v.bars[a.Array]; ok {
			ab.info.Store(&a)
			continue
		}
		ab := &arrayBar{}
		ab.info.Store(&a)
		text := v.barText
		ab.bar = v.p.AddBar(barTotal,
			mpb.PrependDecorators(decor.Name(a.Array, decor.WC{W: 7, C: decor.DindentRight})),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return text(*ab.info.Load()) })))
		v.bars[a.Array] = ab
	}
	done := true
	for _, a := range prog {
		b := v.bars[a.Array].bar
		switch a.State {
		case "done":
			b.SetCurrent(barTotal)
		default:
			done = false
			b.SetCurrent(int64(a.Percent * barTotal / 100))
		}
	}
	if done {
		v.p.Wait()
		v.p, v.bars = nil, nil
		v.cur.Store(nil)
	}
}

// Close stops drawing, leaving the bars where they are.
func (v *runBars) Close() {
	v.do(func() {
		if v.p == nil {
			return
		}
		for _, ab := range v.bars {
			ab.bar.Abort(false)
		}
		v.p.Wait()
		v.p, v.bars = nil, nil
		v.cur.Store(nil)
	})
	v.closeOnce.Do(func() { close(v.quit) })
}

// drawTo is the writer mpb and the plain lines share. A terminal (*os.File) is given to mpb
// as it is: mpb draws bars, and sizes them, only on an *os.File that is a terminal, and the
// file's writes need no lock. Any other writer gets a lock, held only across its Write.
func drawTo(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok {
		return f
	}
	return &lockedWriter{w: w}
}

// lockedWriter serialises writes from mpb's goroutines and the plain lines; its lock is held
// only across the write to the underlying writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func progressText(a progress.Array) string {
	switch a.State {
	case "rebuilding":
		s := fmt.Sprintf("%5.1f%%  %s", a.Percent, human.RateKiB(a.SpeedKiB))
		if a.ETA > 0 {
			s += "  " + human.Duration(a.ETA) + " left"
		}
		return s
	case "waiting":
		return "waiting (md rebuilds one array at a time)"
	case "done":
		return "redundant"
	}
	return "degraded, nothing rebuilding"
}
