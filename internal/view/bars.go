package view

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/plan"
)

// runBars is a Run with one mpb bar per array during a rebuild; other events print as lines
// above the bars.
type runBars struct {
	out  io.Writer
	text *RunText
	mu   sync.Mutex
	p    *mpb.Progress
	bars map[string]*mpb.Bar
	info map[string]exec.ArrayProgress
}

func (v *runBars) write(b []byte) (int, error) {
	v.mu.Lock()
	p := v.p
	v.mu.Unlock()
	if p != nil {
		return p.Write(b)
	}
	return v.out.Write(b)
}

func (v *runBars) StepStarting(i, n int, s plan.Step, argv []string) {
	v.text.StepStarting(i, n, s, argv)
}
func (v *runBars) StepSkipped(i, n int, s plan.Step, why string) { v.text.StepSkipped(i, n, s, why) }
func (v *runBars) StepDone(i, n int, s plan.Step)                { v.text.StepDone(i, n, s) }
func (v *runBars) Waiting(s plan.Step, what string)              { v.text.Waiting(s, what) }
func (v *runBars) Say(msg string)                                { v.text.Say(msg) }

const barTotal = 1000

// Rebuild draws (or updates) a bar per array.
func (v *runBars) Rebuild(prog []exec.ArrayProgress) {
	v.mu.Lock()
	if v.p == nil {
		v.p = mpb.New(mpb.WithOutput(v.out), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond))
		v.bars = map[string]*mpb.Bar{}
		v.info = map[string]exec.ArrayProgress{}
	}
	for _, a := range prog {
		v.info[a.Array] = a
		if _, ok := v.bars[a.Array]; ok {
			continue
		}
		name := a.Array
		v.bars[name] = v.p.AddBar(barTotal,
			mpb.PrependDecorators(decor.Name(name, decor.WC{W: 7, C: decor.DindentRight})),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
				v.mu.Lock()
				defer v.mu.Unlock()
				return progressText(v.info[name])
			})))
	}
	done := true
	for _, a := range prog {
		b := v.bars[a.Array]
		switch a.State {
		case "done":
			b.SetCurrent(barTotal)
		default:
			done = false
			b.SetCurrent(int64(a.Percent * barTotal / 100))
		}
	}
	p := v.p
	if done {
		v.p, v.bars = nil, nil
	}
	v.mu.Unlock()
	if done {
		p.Wait()
	}
}

// Close stops drawing, leaving the bars where they are.
func (v *runBars) Close() {
	v.mu.Lock()
	p, bars := v.p, v.bars
	v.p, v.bars = nil, nil
	v.mu.Unlock()
	if p == nil {
		return
	}
	for _, b := range bars {
		b.Abort(false)
	}
	p.Wait()
}

func progressText(a exec.ArrayProgress) string {
	switch a.State {
	case "rebuilding":
		s := fmt.Sprintf("%5.1f%%  %d MB/s", a.Percent, a.SpeedKiB*1024/1000000)
		if a.ETA > 0 {
			s += "  " + a.ETA.Round(time.Second).String() + " left"
		}
		return s
	case "waiting":
		return "waiting (md rebuilds one array at a time)"
	case "done":
		return "redundant"
	}
	return "degraded, nothing rebuilding"
}
