package drill

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/exec"
	seam "github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/human"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/view"
	"github.com/raidswap/raidswap/internal/wizard"
	"github.com/raidswap/raidswap/simulate"
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

// setup makes the two disks, the layout, the mounts, canaries and GRUB.
func (s *scene) setup(ctx context.Context) error {
	l := s.c.Layout
	sector := l.SectorSize
	if sector == 0 {
		sector = 512
	}
	s.survivor, s.failed = s.lab.NewSerial(), s.lab.NewSerial()
	var err error
	if s.survivorDev, err = s.lab.Insert(ctx, DiskSpec{Serial: s.survivor, Size: l.DiskSize, SectorSize: sector}); err != nil {
		return err
	}
	if s.failedDev, err = s.lab.Insert(ctx, DiskSpec{Serial: s.failed, Size: l.DiskSize, SectorSize: sector}); err != nil {
		return err
	}
	s.say("disks: %s (%s) and %s (%s), %s each, layout of %s", s.survivor, s.survivorDev, s.failed, s.failedDev, human.Bytes(uint64(l.DiskSize)), l.Source)
	// The drill's arrays get md names no array uses, so they never take a host array's.
	names, err := freeArrayNames(s.c.Root, len(l.Options.Arrays))
	if err != nil {
		return err
	}
	arrays := append([]simulate.ArraySpec(nil), l.Options.Arrays...)
	s.bootArray, s.rootArray = "", ""
	for i := range arrays {
		if arrays[i].Name == l.BootArray || "md"+strings.TrimPrefix(arrays[i].Name, "md") == l.BootArray {
			s.bootArray = names[i]
		}
		if arrays[i].FS == "ext4" || arrays[i].FS == "" {
			s.rootArray = names[i] // the last ext4 array holds / (and the random canary)
		}
		arrays[i].Name = names[i]
	}
	if s.rootArray == s.bootArray && !l.BootOnRoot {
		s.rootArray = ""
	}
	l.Options.Arrays = arrays
	l.Options.Canary = true
	s.c.Layout = l
	s.arrays = names
	var dm []string
	for _, r := range s.sc.DM {
		dm = append(dm, s.serialOf(r))
	}
	if err := s.lab.Seed(ctx, l, []string{s.survivorDev, s.failedDev}, dm); err != nil {
		return err
	}
	if s.bootArray != "" && !l.BootOnRoot {
		if err := s.lab.MountArray(ctx, s.bootArray, s.bootDir()); err != nil {
			return err
		}
	}
	if s.rootArray != "" {
		if err := s.lab.MountArray(ctx, s.rootArray, s.rootDir()); err != nil {
			return err
		}
		if err := writeRandom(filepath.Join(s.rootDir(), "random.bin"), 4<<20); err != nil {
			return err
		}
	}
	if err := s.recordSums(); err != nil {
		return err
	}
	if s.bootArray != "" {
		// GRUB on both disks, as on the server: grub-install on one, and the same bytes
		// copied to the other (the replacement runs grub-install on every disk itself).
		if err := s.lab.InstallGRUB(ctx, s.bootMount(), s.survivorDev); err != nil {
			return err
		}
		if err := s.lab.CopyBootCode(ctx, l.Options.Table, sector, s.survivorDev, s.failedDev); err != nil {
			return err
		}
	}
	s.shelf = DiskSpec{Serial: s.lab.NewSerial(), Size: l.DiskSize * int64(max(1, s.sc.Shelf.SizeFactor)), SectorSize: sector}
	if s.sc.Shelf.SectorSize != 0 {
		s.shelf.SectorSize = s.sc.Shelf.SectorSize
	}
	s.newSerial = s.shelf.Serial
	return s.lab.Prepare(ctx, s.shelf, s.sc.Shelf.Dirty)
}

// bootMount is where /boot's file system is mounted: <lab>/boot, or <lab>/root/boot when
// /boot is a directory on the root array.
func (s *scene) bootMount() string {
	if s.c.Layout.BootOnRoot {
		return filepath.Join(s.rootDir(), "boot")
	}
	return s.bootDir()
}

func (s *scene) bootDir() string { return filepath.Join(s.lab.Dir(), "boot") }
func (s *scene) rootDir() string { return filepath.Join(s.lab.Dir(), "root") }

func (s *scene) serialOf(r Role) string {
	if r == Survivor {
		return s.survivor
	}
	return s.failed
}

// freeArrayNames are n md names no array uses, from md100 up, so a drill never takes the
// name of one of the host's arrays.
func freeArrayNames(root *seam.Root, n int) ([]string, error) {
	var out []string
	for i := 100; i < 127 && len(out) < n; i++ {
		name := fmt.Sprintf("md%d", i)
		if !root.Exists("/sys/block/"+name) && !root.Exists("/dev/"+name) {
			out = append(out, name)
		}
	}
	if len(out) < n {
		return nil, errors.New("no free md device names between md100 and md126")
	}
	return out, nil
}

func writeRandom(path string, n int64) error {
	src, err := os.Open("/dev/urandom")
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(dst, src, n); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// canaries are the files whose checksums a scenario must find unchanged.
func (s *scene) canaries() []string {
	var out []string
	if s.bootArray != "" && !s.c.Layout.BootOnRoot {
		out = append(out, filepath.Join(s.bootDir(), simulate.CanaryFile))
	}
	if s.rootArray != "" {
		out = append(out, filepath.Join(s.rootDir(), simulate.CanaryFile), filepath.Join(s.rootDir(), "random.bin"))
	}
	return out
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (s *scene) recordSums() error {
	for _, p := range s.canaries() {
		sum, err := fileSum(p)
		if err != nil {
			return fmt.Errorf("canary: %w", err)
		}
		s.sums[p] = sum
	}
	return nil
}

// confined is the engine of this drill: every path under the lab, discovery and the
// executor confined to the lab's disks.
func (s *scene) confined() (*engine.Env, error) {
	if s.env != nil {
		return s.env, nil
	}
	env := &engine.Env{Root: s.c.Root, Runner: s.c.Runner, Version: s.c.Version}
	if err := Confine(env, s.lab.Dir()); err != nil {
		return nil, err
	}
	s.env = env
	return env, nil
}

// Confine points env at the lab in dir: its own journal, lock, plan key, audit log and table backups under
// the lab, and a Scope that confines discovery and the executor to the lab's disks. It
// refuses a directory that is not a lab (no marker file).
func Confine(env *engine.Env, dir string) error {
	dir = filepath.Clean(dir)
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("lab %s: not an absolute path", dir)
	}
	if fi, err := os.Lstat(filepath.Join(dir, identify.DrillMarker)); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a drill lab: it has no %s", dir, identify.DrillMarker)
	}
	// The names are the lab's (simulate): its teardown removes what lies there.
	env.JournalDir = filepath.Join(dir, simulate.LabJournal)
	env.LockPath = filepath.Join(dir, simulate.LabLock)
	env.KeyPath = filepath.Join(dir, simulate.LabPlanKey)
	env.BackupDir = filepath.Join(dir, simulate.LabBackups)
	return confineScope(env, dir)
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

// lockedEnv is the lab's confined engine with the lab's raidswap lock taken, first, as
// every front end that writes takes it.
func (s *scene) lockedEnv() (*engine.Env, *exec.Lock, error) {
	env, err := s.confined()
	if err != nil {
		return nil, nil, err
	}
	lock, err := env.Lock()
	if err != nil {
		return nil, nil, err
	}
	return env, lock, nil
}

// wizard runs the same wizard as a real replacement, against the lab, with the hands
// pulling and inserting disks.
func (s *scene) wizard(ctx context.Context) error {
	env, lock, err := s.lockedEnv()
	if err != nil {
		return err
	}
	defer lock.Release()
	d := wizard.Deps{Out: s.out, Width: s.c.Width, Prompt: s.trainee(), Enter: s.c.Enter, Poll: 200 * time.Millisecond,
		Discover: env.Discover, AuditLog: filepath.Join(s.lab.Dir(), simulate.LabAuditLog), Now: s.c.Now}
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

// startHands starts the simulated hands; the returned function stops them and says what
// went wrong with them.
func (s *scene) startHands(ctx context.Context) func() error {
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.hands(hctx) }()
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() {
			cancel()
			if err = <-done; errors.Is(err, context.Canceled) {
				err = nil
			}
		})
		return err
	}
}

// hands do what an operator's hands do once the plan exists: when the failed disk holds no
// md member any more (the wizard's phase 1 is done) they pull it; about a second after it is
// gone they insert the new disk from the shelf (unless it went in first).
func (s *scene) hands(ctx context.Context) error {
	select {
	case <-s.planned:
	case <-ctx.Done():
		return ctx.Err()
	}
	// An operator pulls the disk when raidswap says so: once its phase 1 (detach, then the
	// bay's LED) is done, not between two of its steps.
	if err := s.awaitJournal(ctx, pullCue); err != nil {
		return err
	}
	if err := s.pullWhenFree(ctx, s.failed, s.failedDev, "the failed disk"); err != nil {
		return err
	}
	if s.sc.AfterDetach != nil {
		if err := s.sc.AfterDetach(s, ctx); err != nil {
			return err
		}
	}
	if s.sc.NewFirst {
		return nil
	}
	if err := sleep(ctx, time.Second); err != nil {
		return err
	}
	return s.insertShelf(ctx)
}

// awaitJournal waits until a record of the lab's journals matches.
func (s *scene) awaitJournal(ctx context.Context, match func(entry) bool) error {
	for {
		recs, _ := s.journalRecords()
		for _, r := range recs {
			if match(r) {
				return nil
			}
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// pullWhenFree waits until the disk holds no md member and pulls it; a disk already gone
// (vanished) is left as it is.
func (s *scene) pullWhenFree(ctx context.Context, serial, dev, what string) error {
	for {
		if _, ok := s.lab.Device(serial); !ok {
			return nil
		}
		held, err := holdsMember(s.c.Root, dev)
		if err != nil {
			return err
		}
		if !held {
			break
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	if err := s.lab.Pull(ctx, serial); err != nil {
		return fmt.Errorf("pulling %s: %w", serial, err)
	}
	s.say("pulled %s (%s, the bay of %s)", serial, dev, what)
	return nil
}

func (s *scene) insertShelf(ctx context.Context) error {
	dev, err := s.lab.Insert(ctx, s.shelf)
	if err != nil {
		return fmt.Errorf("inserting %s: %w", s.shelf.Serial, err)
	}
	s.say("inserted %s (%s, %s, %d-byte sectors%s) in the empty bay", s.shelf.Serial, dev, human.Bytes(uint64(s.shelf.Size)), s.shelf.SectorSize, map[bool]string{true: ", from another server: it holds an old array", false: ""}[s.sc.Shelf.Dirty])
	if s.sc.Shelf.Dirty {
		return s.stopForeign(ctx, dev)
	}
	return nil
}

// stopForeign stops an old array udev assembled from a dirty new disk (mdadm -I on the
// disk's arrival, as on a real server), as the operator must before the disk can be used:
// only an array whose every member is on that disk. udev may still be busy with the disk:
// probing the array it has just assembled (the stop is refused, "Cannot get exclusive
// access") or handling a late event for the disk (it assembles the array again). So after
// each stop it waits for udev's queue and looks again, until none is left (bounded).
func (s *scene) stopForeign(ctx context.Context, dev string) error {
	k := filepath.Base(dev)
	foreign := func() (map[string]bool, error) {
		ms, err := simulate.Members(s.c.Root)
		if err != nil {
			return nil, err
		}
		arrays := map[string]bool{}
		for _, m := range ms {
			if m.Disk == k {
				arrays[m.Array] = true
			}
		}
		for _, m := range ms {
			if m.Disk != k {
				delete(arrays, m.Array)
			}
		}
		return arrays, nil
	}
	var busy error
	stopped := false
	for i := 0; i < 15; i++ {
		arrays, err := foreign()
		if err != nil {
			return err
		}
		if len(arrays) == 0 {
			if stopped {
				return nil
			}
			if err := sleep(ctx, 200*time.Millisecond); err != nil {
				return err
			}
			continue
		}
		busy = nil
		for a := range arrays {
			if _, err := s.c.Runner.Run(ctx, seam.Mdadm, "--stop", "/dev/"+a); err != nil {
				busy = fmt.Errorf("stopping the old array %s assembled from %s: %w", a, dev, err)
				continue
			}
			s.say("udev assembled the old array %s from %s; stopped it (mdadm --stop /dev/%s), as you would before using the disk", a, dev, a)
			stopped = true
		}
		_, _ = s.c.Runner.Run(ctx, seam.Udevadm, "settle", "--timeout=30")
		if busy != nil {
			if err := sleep(ctx, 200*time.Millisecond); err != nil {
				return err
			}
		}
	}
	if busy != nil {
		return busy
	}
	if arrays, err := foreign(); err == nil && len(arrays) > 0 {
		return fmt.Errorf("udev assembled the old array again from %s each time it was stopped (%d tries)", dev, 15)
	}
	return nil
}

// holdsMember says whether any md array has a member on dev (or on a dm table over it).
func holdsMember(root *seam.Root, dev string) (bool, error) {
	ms, err := simulate.Members(root)
	if err != nil {
		return false, err
	}
	k := filepath.Base(dev)
	for _, m := range ms {
		if m.Disk == k {
			return true, nil
		}
	}
	return false, nil
}

// judgeSuccess: the run succeeded and the end state verifies.
func (s *scene) judgeSuccess(ctx context.Context, runErr error) {
	if runErr != nil {
		s.card.Result = Fail
		s.card.Reason = "the replacement failed: " + runErr.Error()
		return
	}
	s.verify(ctx, s.newSerial)
}

// verify checks the end state of a replacement onto newSerial and scores it.
func (s *scene) verify(ctx context.Context, newSerial string) {
	checks := s.verifyChecks(ctx, newSerial)
	s.card.Checks = append(s.card.Checks, checks...)
	s.card.Result = Pass
	for _, k := range s.card.Checks {
		if !k.OK {
			s.card.Result = Fail
			if s.card.Reason == "" {
				s.card.Reason = "check failed: " + k.Name + ": " + k.Detail
			}
		}
	}
}

func (s *scene) verifyChecks(ctx context.Context, newSerial string) []Check {
	var out []Check
	add := func(name string, ok bool, format string, a ...any) {
		out = append(out, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, a...)})
	}
	// Canaries, read back through the arrays with the page cache dropped.
	_ = s.c.Root.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"))
	bad := []string{}
	for _, p := range s.canaries() {
		sum, err := fileSum(p)
		if err != nil || sum != s.sums[p] {
			bad = append(bad, filepath.Base(p))
		}
	}
	add("canaries", len(bad) == 0, "%d files, sha256 %s", len(s.sums), map[bool]string{true: "unchanged", false: "CHANGED: " + strings.Join(bad, ", ")}[len(bad) == 0])
	env, err := s.confined()
	if err != nil {
		add("discovery", false, "%v", err)
		return out
	}
	sys, err := env.Discover()
	if err != nil {
		add("discovery", false, "%v", err)
		return out
	}
	nd := sys.DiskBySerial(newSerial)
	sv := sys.DiskBySerial(s.survivor)
	if nd == nil || sv == nil {
		add("disks", false, "the survivor %s or the new disk %s is not attached", s.survivor, newSerial)
		return out
	}
	for _, name := range s.arrays {
		a := sys.Array(name)
		if a == nil {
			add("array "+name, false, "not found")
			continue
		}
		var on []string
		inSync := 0
		for _, m := range a.Members {
			if m.State == discover.MemberInSync {
				inSync++
			}
			if m.Disk != nil {
				on = append(on, *m.Disk)
			}
		}
		sort.Strings(on)
		want := []string{nd.Name, sv.Name}
		sort.Strings(want)
		ok := a.State == discover.ArrayClean && inSync == 2 && len(a.Members) == 2 && strings.Join(on, " ") == strings.Join(want, " ")
		add("array "+name, ok, "%s, %d in_sync members on %s", a.State, inSync, strings.Join(on, " "))
	}
	res, err := s.c.Runner.Run(ctx, seam.Sgdisk, "-v", "/dev/"+nd.Name)
	add("partition table", err == nil && strings.Contains(string(res.Stdout), "No problems found"), "sgdisk -v /dev/%s: %s", nd.Name, firstLine(string(res.Stdout), err))
	add("alignment", true, "")
	out[len(out)-1] = alignment(s.c.Root, nd)
	for _, d := range []*discover.Disk{sv, nd} {
		ok := d.Boot != nil && d.Boot.State == "ok"
		why := "not judged"
		if d.Boot != nil {
			why = d.Boot.State
			if d.Boot.Reason != "" {
				why += " (" + d.Boot.Reason + ")"
			}
		}
		add("boot code on "+d.Serial, ok, "%s", why)
	}
	return out
}

func firstLine(s string, err error) string {
	if err != nil {
		return err.Error()
	}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "*") {
			return l
		}
	}
	return strings.TrimSpace(s)
}

// alignment: every partition of the new disk starts on a 1 MiB boundary.
func alignment(root *seam.Root, d *discover.Disk) Check {
	var bad []string
	for _, p := range d.Partitions {
		start, err := root.ReadString("/sys/class/block/" + p + "/start")
		var n int64
		if err == nil {
			_, err = fmt.Sscan(start, &n)
		}
		if err != nil || (n*512)%(1<<20) != 0 {
			bad = append(bad, p)
		}
	}
	return Check{Name: "alignment", OK: len(bad) == 0 && len(d.Partitions) > 0,
		Detail: fmt.Sprintf("%d partitions on 1 MiB boundaries%s", len(d.Partitions), map[bool]string{true: "", false: "; not: " + strings.Join(bad, ", ")}[len(bad) == 0])}
}

// realCost measures the rebuild in the journal and says what it would cost on this host.
func (s *scene) realCost() {
	bps := s.rebuildSpeed()
	s.card.RebuildBytesPerSec = bps
	if bps <= 0 {
		return
	}
	sys, err := discover.Discover(s.c.Root)
	if err != nil {
		return
	}
	cost := s.c.RealCost
	if cost == nil {
		cost = func(sys *discover.System, bps float64) (time.Duration, string) {
			var limit int64
			if v, err := s.c.Root.ReadString("/proc/sys/dev/raid/speed_limit_max"); err == nil {
				_, _ = fmt.Sscan(v, &limit)
			}
			return RealCost(sys, bps, limit)
		}
	}
	d, text := cost(sys, bps)
	s.card.RealCost, s.card.RealCostSeconds = text, d.Seconds()
}

// rebuildSpeed is the bytes of the lab's arrays over the time from the first add step's
// start to the rebuild wait's end, from the journal.
func (s *scene) rebuildSpeed() float64 {
	recs, err := s.journalRecords()
	if err != nil {
		return 0
	}
	var from, to time.Time
	for _, r := range recs {
		if addStarted(r) && from.IsZero() {
			from = r.Time
		}
		if rebuildDone(r) {
			to = r.Time
		}
	}
	if from.IsZero() || to.IsZero() || !to.After(from) {
		return 0
	}
	var bytes float64
	for _, name := range s.arrays {
		if v, err := s.c.Root.ReadString("/sys/block/" + name + "/size"); err == nil {
			var sectors int64
			if _, err := fmt.Sscan(v, &sectors); err == nil {
				bytes += float64(sectors) * 512
			}
		}
	}
	return bytes / to.Sub(from).Seconds()
}
