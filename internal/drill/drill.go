package drill

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/exec"
	seam "github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/paths"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/view"
	"github.com/raidswap/raidswap/internal/wizard"
)

// DiskSpec is a drill disk to make (simulate.DiskSpec).
type DiskSpec struct {
	Serial     string
	Size       int64
	SectorSize int // 512 or 4096
}

// Lab is the drill's throw-away disks: simulate.Lab through SimLab, a fake in tests.
type Lab interface {
	Dir() string
	NewSerial() string
	// Insert attaches a disk (made by Prepare, or fresh) and returns its device.
	Insert(ctx context.Context, d DiskSpec) (string, error)
	// Prepare makes a disk on the shelf, not attached; dirty gives it an old md superblock and
	// partition table.
	Prepare(ctx context.Context, d DiskSpec, dirty bool) error
	Pull(ctx context.Context, serial string) error
	Vanish(ctx context.Context, serial string) error
	Flaky(ctx context.Context, serial string, arrays ...string) error
	Restore(ctx context.Context, serial string) error
	// Device is the disk's device, when attached.
	Device(serial string) (string, bool)
	// Seed builds the layout on the disks (in order), with the members of the disks in dm on
	// dm linear tables.
	Seed(ctx context.Context, l Layout, disks []string, dm []string) error
	MountArray(ctx context.Context, md, dir string) error
	InstallGRUB(ctx context.Context, bootMount string, disks ...string) error
	// CopyBootCode copies the BIOS boot code of one disk onto another of the same layout.
	CopyBootCode(ctx context.Context, table string, sectorSize int, from, to string) error
	// Devices are the lab's attached devices, for --keep.
	Devices() []string
	Close(ctx context.Context) (Cleanup, error)
}

// Config is what a drill acts through.
type Config struct {
	Out   io.Writer
	Width int
	// Plain shows the run one line per event (no progress bars).
	Plain  bool
	Root   *seam.Root
	Runner seam.Runner
	// NewLab makes a fresh lab.
	NewLab func(ctx context.Context) (Lab, error)
	// Trainee is the interactive trainee's prompter; nil: --auto.
	Trainee wizard.Prompter
	// Enter delivers lines typed during the wizard's waits (interactive plain prompter).
	Enter <-chan string
	// Layout is what to build (SeedLayout when zero).
	Layout Layout
	// Keep leaves the lab in place.
	Keep bool
	// Self is the raidswap binary, run as a child by the interrupted scenario.
	Self string
	// Version is raidswap's, for plans.
	Version string
	// WaitTimeout bounds each of the engine's waits (2 minutes when zero).
	WaitTimeout time.Duration
	// RealCost says what the replacement would cost on this host (RealCost when nil).
	RealCost func(sys *discover.System, bytesPerSec float64) (time.Duration, string)
	// Now is the clock of the score card.
	Now func() time.Time
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Run runs the scenarios one after another, each in its own lab, and returns their cards.
// A cancelled ctx (Ctrl-C, SIGTERM) ends the scenario running, whose lab is still torn down
// (unless Keep), and skips the others.
func Run(ctx context.Context, c Config, scenarios []Scenario) Cards {
	if c.Layout.DiskSize == 0 || len(c.Layout.Options.Arrays) == 0 {
		c.Layout = SeedLayout()
	}
	if c.WaitTimeout == 0 {
		c.WaitTimeout = 2 * time.Minute
	}
	var cards Cards
	for _, sc := range scenarios {
		if ctx.Err() != nil {
			break
		}
		cards = append(cards, runScenario(ctx, c, sc))
	}
	return cards
}

// scene is one scenario's lab and its people: the trainee, the hands, the engine.
type scene struct {
	c     Config
	sc    Scenario
	lab   Lab
	env   *engine.Env
	tally *Tally
	out   io.Writer

	survivor, failed, newSerial string // serials
	survivorDev, failedDev      string // /dev/loopN
	shelf                       DiskSpec
	arrays                      []string // md names of the lab's arrays
	bootArray, rootArray        string   // the arrays mounted at <lab>/boot and <lab>/root
	sums                        map[string]string
	card                        *Card

	mu      sync.Mutex
	planned chan struct{} // closed once the replacement's plan exists
	once    sync.Once
	// rebuild is measured from the journal: bytes and seconds of the rebuild.
	rebuildBytes float64
	rebuildSecs  float64
}

func (s *scene) say(format string, a ...any) {
	fmt.Fprintf(s.out, "[drill] "+format+"\n", a...)
}

func (s *scene) markPlanned() { s.once.Do(func() { close(s.planned) }) }

func runScenario(ctx context.Context, c Config, sc Scenario) (card *Card) {
	start := c.now()
	card = &Card{Scenario: sc.Name, Expected: sc.Expect, Result: Fail}
	defer func() { card.Took = c.now().Sub(start) }()
	fmt.Fprintf(c.Out, "\n[drill] scenario %s: %s\n", sc.Name, sc.Teaches)
	lab, err := c.NewLab(ctx)
	if err != nil {
		card.Reason = "making the lab: " + err.Error()
		return card
	}
	card.Lab = lab.Dir()
	s := &scene{c: c, sc: sc, lab: lab, tally: &Tally{}, out: c.Out, card: card, planned: make(chan struct{}), sums: map[string]string{}}
	mark := start
	phase := func(name string) {
		now := c.now()
		card.Phases = append(card.Phases, Phase{Name: name, Seconds: roundSeconds(now.Sub(mark))})
		mark = now
	}
	defer func() {
		card.Answers = s.tally.Answers()
		card.Mistakes = append(s.tally.Mistakes(), card.Mistakes...)
		if c.Keep {
			card.Kept = true
			card.Devices = lab.Devices()
			return
		}
		// Torn down with a context of its own: Ctrl-C must not stop the cleanup.
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cl, err := lab.Close(cctx)
		card.Cleanup = cl
		if err != nil {
			card.CleanupError = err.Error()
		}
		phase("cleanup")
	}()
	if err := s.setup(ctx); err != nil {
		card.Reason = "building the lab: " + err.Error()
		return card
	}
	if err := s.remember(); err != nil {
		card.Reason = "recording the lab's inventory: " + err.Error()
		return card
	}
	phase("build")
	if sc.Break != nil {
		if err := sc.Break(s, ctx); err != nil {
			card.Reason = "breaking it: " + err.Error()
			return card
		}
	}
	phase("break")
	if sc.NewFirst {
		if err := s.insertShelf(ctx); err != nil {
			card.Reason = err.Error()
			return card
		}
	}
	replace := sc.Replace
	if replace == nil {
		replace = (*scene).wizard
	}
	err = replace(s, ctx)
	phase("replace")
	if ctx.Err() != nil {
		card.Reason = "interrupted: " + ctx.Err().Error()
		return card
	}
	judge := sc.Judge
	if judge == nil {
		judge = (*scene).judgeSuccess
	}
	judge(s, ctx, err)
	s.realCost()
	phase("verify")
	return card
}

// trainee is the prompter the wizard asks: the interactive trainee's or --auto's, counted.
func (s *scene) trainee() *Counting {
	p := s.c.Trainee
	if p == nil {
		p = &Auto{Failed: s.failed, New: s.newSerial, Log: s.out}
	}
	return &Counting{P: p, Tally: s.tally, Out: s.out}
}

// run is the executor's progress view for this drill.
func (s *scene) runView() view.Run { return view.NewRunWidth(s.out, !s.c.Plain, s.c.Width) }

// wizard runs the same wizard as a real replacement, against the lab, with the hands
// pulling and inserting disks.
func (s *scene) wizard(ctx context.Context) error {
	env, lock, err := s.lockedEnv()
	if err != nil {
		return err
	}
	defer lock.Release()
	d := wizard.Deps{Out: s.out, Width: s.c.Width, Prompt: s.trainee(), Enter: s.c.Enter, Poll: 200 * time.Millisecond,
		Discover: env.Discover, AuditLog: paths.Lab(s.lab.Dir()).Audit, Now: s.c.Now}
	d.Plan = func(r plan.Request) (*plan.Plan, error) {
		p, err := env.Plan(r, true)
		if err == nil {
			s.markPlanned()
		}
		return p, err
	}
	d.Run = func(ctx context.Context, p *plan.Plan, ro engine.RunOptions) (*exec.Result, error) {
		ro.WaitTimeout = s.c.WaitTimeout
		run := s.runView()
		defer run.Close()
		return env.Apply(ctx, p, lock, run, ro)
	}
	base := plan.Request{Mode: plan.ReplaceFailed}
	if s.sc.NewFirst {
		base.New = s.newSerial
	}
	stop := s.startHands(ctx)
	_, err = wizard.Run(ctx, d, base, false)
	if herr := stop(); herr != nil && err == nil {
		err = herr
	}
	return err
}
