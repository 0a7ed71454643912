package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/plan"
)

func init() { register(newWatchCmd) }

// WatchOptions are the inputs of `raidswap watch`.
type WatchOptions struct {
	F        *Factory
	Interval time.Duration
	Plain    bool
}

func newWatchCmd(f *Factory) *cobra.Command {
	o := &WatchOptions{F: f}
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Follow running rebuilds, one progress bar per array; Ctrl-C detaches",
		Long: `watch shows each array's rebuild with speed and time left; arrays md queues behind
another (resync=DELAYED) show as waiting. It only reads. Ctrl-C detaches: the rebuild goes
on in the kernel, and 'raidswap watch' shows it again. It ends when no array is rebuilding.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runWatch(cmd.Context(), o) },
	}
	cmd.Flags().DurationVar(&o.Interval, "interval", time.Second, "how often to look")
	cmd.Flags().BoolVar(&o.Plain, "plain", false, "print a line when progress changes instead of bars")
	return cmd
}

func runWatch(ctx context.Context, o *WatchOptions) error {
	root, cleanup, err := o.F.DiscoveryRoot()
	if err != nil {
		return WithCode(ExitUnknown, err)
	}
	defer cleanup()
	ctx, stop := signal.NotifyContext(orBackground(ctx), os.Interrupt, syscall.SIGTERM)
	defer stop()
	view := newRunView(o.F.IO, o.Plain)
	defer func() {
		if c, ok := view.(interface{ Close() }); ok {
			c.Close()
		}
	}()
	started := false
	for {
		sys, err := discover.Discover(root)
		if err != nil {
			return WithCode(ExitUnknown, err)
		}
		prog := exec.Progress(sys, nil)
		active := false
		for _, p := range prog {
			if p.State == "rebuilding" || p.State == "waiting" {
				active = true
			}
		}
		if !active {
			if !started {
				fmt.Fprintf(o.F.IO.Out, "no rebuild is running: %s\n", sys.Summary)
			} else {
				view.Rebuild(prog)
				fmt.Fprintln(o.F.IO.Out, "every rebuild has finished")
			}
			return Silent(sys.Verdict.ExitCode())
		}
		started = true
		view.Rebuild(prog)
		if !root.IsLive() {
			// A capture does not move: one picture is all there is.
			return Silent(sys.Verdict.ExitCode())
		}
		select {
		case <-ctx.Done():
			if c, ok := view.(interface{ Close() }); ok {
				c.Close()
			}
			fmt.Fprintln(o.F.IO.Out, "detached: the rebuild continues in the kernel; `raidswap watch` shows it again")
			return nil
		case <-time.After(o.Interval):
		}
	}
}

// newRunView picks progress bars on a terminal and plain lines elsewhere.
func newRunView(s *IOStreams, plain bool) exec.View {
	if plain || !s.Interactive {
		return &exec.TextView{W: s.Out}
	}
	v := &barView{out: s.Out}
	v.text = &exec.TextView{W: writerFunc(v.write)}
	return v
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// barView is an exec.View with one mpb bar per array during a rebuild; other events print as
// lines above the bars.
type barView struct {
	out  io.Writer
	text *exec.TextView
	mu   sync.Mutex
	p    *mpb.Progress
	bars map[string]*mpb.Bar
	info map[string]exec.ArrayProgress
}

func (v *barView) write(b []byte) (int, error) {
	v.mu.Lock()
	p := v.p
	v.mu.Unlock()
	if p != nil {
		return p.Write(b)
	}
	return v.out.Write(b)
}

func (v *barView) StepStarting(i, n int, s plan.Step, argv []string) {
	v.text.StepStarting(i, n, s, argv)
}
func (v *barView) StepSkipped(i, n int, s plan.Step, why string) { v.text.StepSkipped(i, n, s, why) }
func (v *barView) StepDone(i, n int, s plan.Step)                { v.text.StepDone(i, n, s) }
func (v *barView) Waiting(s plan.Step, what string)              { v.text.Waiting(s, what) }
func (v *barView) Say(msg string)                                { v.text.Say(msg) }

const barTotal = 1000

// Rebuild draws (or updates) a bar per array.
func (v *barView) Rebuild(prog []exec.ArrayProgress) {
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
func (v *barView) Close() {
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
