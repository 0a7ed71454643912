package view

import (
	"bytes"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8"

	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/progress"
)

// hangBound is a hang detector, not a timing assertion: the calls under test take
// milliseconds, and a deadlock never ends.
const hangBound = 20 * time.Second

// finishes runs f and fails the test, with every goroutine's stack, if f is still running
// after hangBound.
func finishes(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(hangBound):
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
		t.Fatalf("%s did not return within %s: deadlock", what, hangBound)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunBarsConcurrent (issue 18): rebuild updates and step output from several goroutines
// at once, with mpb drawing every millisecond, neither deadlock nor race (run with -race),
// every line arrives whole and once, and the bars do not give up on the way. Before the
// fix, Rebuild held its mutex across Bar.SetCurrent while the bar's decorator waited for
// that mutex, and the lines (write) waited behind both.
func TestRunBarsConcurrent(t *testing.T) {
	var out syncBuffer
	v := newRunBars(&out, 0, mpb.WithAutoRefresh(), mpb.WithRefreshRate(time.Millisecond))
	v.stallAfter = hangBound // a stall here is the bug, not something to degrade around
	const rounds = 300
	arrays := []string{"md0", "md1", "md2"}
	finishes(t, "concurrent Rebuild and Say", func() {
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					var prog []progress.Array
					for _, a := range arrays {
						prog = append(prog, progress.Array{Array: a, State: "rebuilding", Percent: float64(i%99) + float64(g)/10, SpeedKiB: 1000})
					}
					v.Rebuild(prog)
				}
			}()
		}
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					if i%2 == 0 {
						v.Say(fmt.Sprintf("say g%d i%d", g, i))
					} else {
						v.StepStarting(i, rounds, plan.Step{ID: fmt.Sprintf("step-g%d-i%d", g, i)}, nil)
					}
				}
			}()
		}
		wg.Wait()
		var done []progress.Array
		for _, a := range arrays {
			done = append(done, progress.Array{Array: a, State: "done", Percent: 100})
		}
		v.Rebuild(done)
		v.Say("after the rebuild")
		v.Close()
	})
	if v.isStalled() {
		t.Errorf("the bars gave up (stalled) although nothing blocked them")
	}
	got := out.String()
	for g := range 2 {
		for i := range rounds {
			want := fmt.Sprintf("      say g%d i%d\n", g, i)
			if i%2 == 1 {
				want = fmt.Sprintf("[%d/%d] step-g%d-i%d\n", i+1, rounds, g, i)
			}
			if n := strings.Count(got, want); n != 1 {
				t.Fatalf("line %q appears %d times, want once", want, n)
			}
		}
	}
	if !strings.Contains(got, "      after the rebuild\n") {
		t.Errorf("the line after the rebuild is missing")
	}
}

// TestRunBarsStall (issue 18): when drawing stalls (here mpb's render of a bar blocks in its
// decorator until the test ends; in the field a frozen library), Rebuild and the lines still return, say
// once that the bars stalled, and go on as plain lines.
func TestRunBarsStall(t *testing.T) {
	var out syncBuffer
	v := newRunBars(&out, 0, mpb.WithAutoRefresh(), mpb.WithRefreshRate(time.Millisecond))
	v.stallAfter = hangBound // until mpb is stuck: nothing may stall before
	release := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	entered := make(chan struct{})
	var enteredOnce sync.Once
	v.barText = func(a progress.Array) string {
		if a.State == "rebuilding" && a.Percent >= 50 {
			enteredOnce.Do(func() { close(entered) })
			<-release
		}
		return progressText(a)
	}
	finishes(t, "Rebuild and Say while drawing is stalled", func() {
		v.Say("before")
		v.Rebuild([]progress.Array{{Array: "md0", State: "rebuilding", Percent: 10}})
		v.Rebuild([]progress.Array{{Array: "md0", State: "rebuilding", Percent: 60}})
		<-entered // mpb is now stuck drawing md0
		v.stallAfter = 50 * time.Millisecond
		v.Say("during")
		v.Rebuild([]progress.Array{{Array: "md0", State: "rebuilding", Percent: 70}})
		v.Say("after")
		once.Do(func() { close(release) })
		v.Close()
	})
	got := out.String()
	if !v.isStalled() {
		t.Fatalf("the bars did not notice the stall:\n%s", got)
	}
	for _, want := range []string{"      before\n", "      (the progress bars stalled; progress continues as lines)\n", "      rebuild: md0 70%\n", "      after\n"} {
		if n := strings.Count(got, want); n != 1 {
			t.Errorf("%q appears %d times, want once:\n%s", want, n, got)
		}
	}
	if strings.Count(got, "      during\n") < 1 {
		t.Errorf("the line written as drawing stalled is lost:\n%s", got)
	}
}
