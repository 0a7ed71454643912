package wizard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/paths"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/prompt"
	"github.com/raidswap/raidswap/internal/view"
)

// fakePrompter answers from a script, counts answers, and records the questions and the
// options it was offered.
type fakePrompter struct {
	typed   []string
	choose  []int
	asked   []string
	offered [][]string
	said    bytes.Buffer
}

// Confirm answers from the script by the one rule (prompt.Confirm); what it says goes to
// said.
func (f *fakePrompter) Confirm(q string, w prompt.Want) error {
	f.asked = append(f.asked, q)
	return prompt.Confirm(func(string) (string, error) {
		if len(f.typed) == 0 {
			return "", errors.New("no answer left")
		}
		got := f.typed[0]
		f.typed = f.typed[1:]
		if got == "^C" {
			return "", prompt.ErrInterrupted
		}
		return got, nil
	}, &f.said, q, w)
}

func (f *fakePrompter) Select(q string, opts []string, def int) (int, error) {
	f.asked = append(f.asked, q)
	f.offered = append(f.offered, opts)
	if len(f.choose) == 0 {
		return def, nil
	}
	c := f.choose[0]
	f.choose = f.choose[1:]
	return c, nil
}

func (f *fakePrompter) YesNo(q string, def bool) (bool, error) {
	f.asked = append(f.asked, q)
	return def, nil
}

// fixtureSystem discovers one of discover's captured fixtures.
func fixtureSystem(t *testing.T, name string) (*engine.Env, *discover.System) {
	t.Helper()
	in, err := os.Open(filepath.Join("..", "discover", "testdata", "fixtures", name+".tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dir := t.TempDir()
	if _, err := capture.Unpack(in, dir); err != nil {
		t.Fatal(err)
	}
	env := &engine.Env{Root: host.NewRoot(dir), Runner: host.NoRunner{Reason: "test"}, Version: "test",
		Paths: paths.Paths{Key: filepath.Join(t.TempDir(), "key")}, Now: func() time.Time { return time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC) }}
	sys, err := env.Discover()
	if err != nil {
		t.Fatal(err)
	}
	return env, sys
}

// world plays the operator's hands: the failed disk stays for pullAfter looks after the
// detach, then goes; the new disks appear insertAfter looks later.
type world struct {
	t           *testing.T
	sys         *discover.System
	failed      string
	detached    bool
	looks       int
	pullAfter   int
	insertAfter int
	newDisks    []discover.Disk
	runs        []engine.RunOptions
	runOut      *bytes.Buffer
	// runWidth is the run view's width, the terminal's as the CLI gives it (0: no wrapping).
	runWidth int
	stopAt   string // a phase-2 run returns context.Canceled at this step (Ctrl-C)
	// final is the system after the run (redundant again); nil keeps sys.
	final *discover.System
}

func (w *world) discover() (*discover.System, error) {
	if !w.detached {
		return w.sys, nil
	}
	if w.final != nil && len(w.runs) == 2 {
		return w.final, nil
	}
	w.looks++
	s := *w.sys
	s.Disks = nil
	for _, d := range w.sys.Disks {
		if d.Serial == w.failed && w.looks > w.pullAfter {
			continue
		}
		s.Disks = append(s.Disks, d)
	}
	if w.looks > w.pullAfter+w.insertAfter {
		s.Disks = append(s.Disks, w.newDisks...)
	}
	return &s, nil
}

// run stands for engine.Apply: it shows the steps through the run view the CLI uses, in
// text mode, and stops where it was told to.
func (w *world) run(ctx context.Context, p *plan.Plan, ro engine.RunOptions) (*exec.Result, error) {
	w.runs = append(w.runs, ro)
	v := view.NewRunWidth(w.runOut, false, w.runWidth)
	res := &exec.Result{Journal: "/var/lib/raidswap/journal/" + p.ID() + ".jsonl"}
	start := 0
	if ro.StopAfter == "" {
		for i, s := range p.Steps {
			if s.Action == plan.ActionAwaitRemoval || s.Action == plan.ActionAwaitNewDisk {
				start = i
				break
			}
		}
	}
	for i := start; i < len(p.Steps); i++ {
		s := p.Steps[i]
		if s.ID == w.stopAt {
			return res, context.Canceled
		}
		// As the executor does: the new disk has its name once it is in (after its wait).
		newName := ""
		if i > start && len(w.newDisks) > 0 && p.Steps[i-1].Action != plan.ActionAwaitRemoval {
			newName = w.newDisks[0].Name
		}
		v.Steps(p, newName)
		argv := s.Argv
		if exp, err := plan.Expand(argv, newName); newName != "" && err == nil {
			argv = exp
		}
		if s.Action == plan.ActionZeroSuperblock && newName != "" {
			// As the executor does after its own clone, which zeroed both ends of every new
			// partition (exec.superblocksCleared).
			v.StepSkipped(i, len(p.Steps), s, "partition-clone zeroed the first and last MiB of every new partition of "+
				w.newDisks[0].Label()+", where md keeps its superblocks: none is left to clear")
			res.Skipped = append(res.Skipped, s.ID)
			continue
		}
		v.StepStarting(i, len(p.Steps), s, argv)
		res.Ran = append(res.Ran, s.ID)
		if s.ID == ro.StopAfter {
			w.detached = true
			return res, exec.ErrStopped
		}
	}
	v.Say("done: every step of plan " + p.ID() + " holds")
	return res, nil
}

func newDisk(name, serial string, size uint64) discover.Disk {
	return discover.Disk{Name: name, Serial: serial, Model: "QEMU HARDDISK", SizeBytes: size, LogicalSectorSize: 512,
		PhysicalSectorSize: 512, Present: true, Verdict: discover.DiskUnused}
}

func newSession(t *testing.T, fixture string, fp *fakePrompter) (*world, Deps, *bytes.Buffer) {
	env, sys := fixtureSystem(t, fixture)
	var out bytes.Buffer
	w := &world{t: t, sys: sys, pullAfter: 2, insertAfter: 2, runOut: &out}
	w.failed, _ = plan.PickFailed(sys)
	w.newDisks = []discover.Disk{newDisk("vdc", "QM-NEW-7Q3Z", 128<<20)}
	_, w.final = fixtureSystem(t, "clean")
	clock := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	d := Deps{Out: &out, Width: 100, Prompt: fp, Discover: w.discover, Run: w.run, Poll: time.Millisecond,
		Plan: func(r plan.Request) (*plan.Plan, error) { return env.Plan(r, false) },
		Now:  func() time.Time { clock = clock.Add(90 * time.Second); return clock }, AuditLog: "/var/lib/raidswap/audit.jsonl"}
	return w, d, &out
}

// maxAnswers is the operator's effort the wizard promises for a swap: the seed's manual
// session took about 60 inputs across fdisk, mdadm and the GRUB shell.
const maxAnswers = 4

// TestSeedSwapAnswers: the seed's swap (one failed disk, one new disk appearing) takes two
// answers, the two typed confirmations; this fails when the count grows.
func TestSeedSwapAnswers(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		typed   []string
		want    int
	}{
		{"failed", []string{"B002", "7Q3Z"}, 2},
		{"vanished", []string{"B002", "7Q3Z"}, 2},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			fp := &fakePrompter{typed: tc.typed}
			w, d, out := newSession(t, tc.fixture, fp)
			o, err := Run(context.Background(), d, plan.Request{Mode: plan.ReplaceFailed}, false)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if o.Answers != tc.want || o.Answers > maxAnswers {
				t.Errorf("%d answers, want %d (at most %d): asked %q", o.Answers, tc.want, maxAnswers, fp.asked)
			}
			t.Logf("%s: %d answers", tc.fixture, o.Answers)
			if len(w.runs) != 2 || w.runs[0].StopAfter == "" || w.runs[1].NewSerial != "QM-NEW-7Q3Z" {
				t.Errorf("runs %+v: want phase 1 stopping before the pull, then phase 2 naming the new disk", w.runs)
			}
			if len(w.runs) == 2 && (w.runs[0].Continuing || !w.runs[1].Continuing) {
				t.Errorf("runs %+v: phase 2 continues phase 1's run (not announced as a resume), phase 1 continues nothing", w.runs)
			}
			for _, s := range []string{"The disk coming out: vdb (WD-WCC4N1KPB002)", "Pull the disk with serial WD-WCC4N1KPB002",
				"New disk: vdc (QM-NEW-7Q3Z)", "checks: ok", "DONE in", "mdadm --grow --bitmap=internal /dev/md0", "raidswap status"} {
				if tc.fixture == "vanished" && strings.HasPrefix(s, "Pull") {
					continue
				}
				if !strings.Contains(out.String(), s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

// TestWrongConfirmationRefused: three wrong last-4s (an empty line asks again and is not
// one) stop the session before anything runs; the survivor's serial typed is called the disk
// to KEEP; the expected answer is never said.
func TestWrongConfirmationRefused(t *testing.T) {
	fp := &fakePrompter{typed: []string{"A001", "", "a001", "xyz"}} // the survivor's serial ends in A001
	w, d, _ := newSession(t, "failed", fp)
	_, err := Run(context.Background(), d, plan.Request{Mode: plan.ReplaceFailed}, false)
	var de *prompt.DeclinedError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "nothing was done") || de.Keep != "WD-WCC4N1KPA001" {
		t.Fatalf("wrong confirmation: %v", err)
	}
	if said := fp.said.String() + err.Error(); !strings.Contains(said, "that is the disk you must KEEP") || strings.Contains(said, "B002") || len(fp.typed) != 0 {
		t.Errorf("said %q, left %q", said, fp.typed)
	}
	if len(w.runs) != 0 {
		t.Errorf("a run started after a wrong confirmation: %+v", w.runs)
	}
}

// TestSeveralNewDisks: two disks appear; the operator picks, and neither the survivor nor
// the failed disk is offered.
func TestSeveralNewDisks(t *testing.T) {
	fp := &fakePrompter{typed: []string{"B002", "8888"}, choose: []int{1}}
	w, d, out := newSession(t, "failed", fp)
	w.newDisks = []discover.Disk{newDisk("vdc", "QM-NEW-7Q3Z", 128<<20), newDisk("vdd", "QM-TWO-8888", 128<<20), newDisk("vde", "QM-SMALL-1", 1<<20)}
	o, err := Run(context.Background(), d, plan.Request{Mode: plan.ReplaceFailed}, false)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(fp.offered) != 1 || len(fp.offered[0]) != 2 || o.NewSerial != "QM-TWO-8888" || o.Answers != 3 {
		t.Fatalf("offered %q, took %s, %d answers", fp.offered, o.NewSerial, o.Answers)
	}
	for _, opt := range fp.offered[0] {
		if strings.Contains(opt, "WD-WCC4N1KPA001") || strings.Contains(opt, "WD-WCC4N1KPB002") || strings.Contains(opt, "QM-SMALL-1") {
			t.Errorf("offered %q", opt)
		}
	}
	if !strings.Contains(out.String(), "NOT TAKEN") || !strings.Contains(out.String(), "too small") {
		t.Errorf("the small disk's refusal is not shown:\n%s", out)
	}
}

// TestSeveralFailedSurvivorNeverOffered: with two failed disks the operator picks one; the
// healthy disk is never among the options.
func TestSeveralFailedSurvivorNeverOffered(t *testing.T) {
	fp := &fakePrompter{choose: []int{0}}
	_, d, _ := newSession(t, "failed", fp)
	_, sys := fixtureSystem(t, "failed")
	extra := newDisk("vdx", "WD-OTHER-FAIL", 128<<20)
	extra.Verdict = discover.DiskFailed
	sys.Disks = append(sys.Disks, extra)
	d.Discover = func() (*discover.System, error) { return sys, nil }
	d.Plan = func(plan.Request) (*plan.Plan, error) { return nil, errors.New("stop here") }
	_, err := Run(context.Background(), d, plan.Request{Mode: plan.ReplaceFailed}, false)
	if err == nil || len(fp.offered) != 1 || len(fp.offered[0]) != 2 {
		t.Fatalf("err %v, offered %q", err, fp.offered)
	}
	for _, o := range fp.offered[0] {
		if strings.Contains(o, "WD-WCC4N1KPA001") {
			t.Errorf("the survivor was offered: %q", o)
		}
	}
}

// TestCtrlCAfterDetach: Ctrl-C at the phase-2 confirmation stops cleanly and says how to
// resume; before the detach it says nothing was changed.
func TestCtrlCAfterDetach(t *testing.T) {
	fp := &fakePrompter{typed: []string{"B002", "^C"}}
	w, d, _ := newSession(t, "failed", fp)
	_, err := Run(context.Background(), d, plan.Request{Mode: plan.ReplaceFailed}, false)
	var ie *InterruptedError
	if !errors.As(err, &ie) || !ie.Detached || !strings.Contains(err.Error(), "raidswap resume") || len(w.runs) != 1 {
		t.Fatalf("Ctrl-C after detach: %v (runs %d)", err, len(w.runs))
	}
	fp = &fakePrompter{typed: []string{"^C"}}
	w, d, _ = newSession(t, "failed", fp)
	_, err = Run(context.Background(), d, plan.Request{Mode: plan.ReplaceFailed}, false)
	if !errors.As(err, &ie) || ie.Detached || !strings.Contains(err.Error(), "nothing was changed") || len(w.runs) != 0 {
		t.Fatalf("Ctrl-C before detach: %v (runs %d)", err, len(w.runs))
	}
	// Ctrl-C during the pull wait (the context ends).
	fp = &fakePrompter{typed: []string{"B002"}}
	w, d, _ = newSession(t, "failed", fp)
	w.pullAfter = 1 << 30
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel) // Ctrl-C: signal.NotifyContext cancels
	_, err = Run(ctx, d, plan.Request{Mode: plan.ReplaceFailed}, false)
	if !errors.As(err, &ie) || !ie.Detached {
		t.Fatalf("Ctrl-C while waiting for the pull: %v", err)
	}
}

// TestPlanOnly: raidswap --plan through the wizard prints the plan and runs nothing.
func TestPlanOnly(t *testing.T) {
	fp := &fakePrompter{}
	w, d, out := newSession(t, "failed", fp)
	o, err := Run(context.Background(), d, plan.Request{Mode: plan.ReplaceFailed}, true)
	if err != nil || o.Answers != 0 || len(w.runs) != 0 || !strings.Contains(out.String(), "PLAN: Replace failed disk vdb (WD-WCC4N1KPB002)") {
		t.Fatalf("err %v, %d answers, %d runs:\n%s", err, o.Answers, len(w.runs), out)
	}
}

// TestEnterDuringPull: a line typed while the disk is still in makes the wizard look at once,
// and is not taken as an answer.
func TestEnterDuringPull(t *testing.T) {
	fp := &fakePrompter{typed: []string{"B002", "7Q3Z"}}
	w, d, out := newSession(t, "failed", fp)
	d.Poll = time.Hour // only Enter makes it look again
	enter := make(chan string, 8)
	for range 8 {
		enter <- ""
	}
	d.Enter = enter
	if _, err := Run(context.Background(), d, plan.Request{Mode: plan.ReplaceFailed}, false); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if w.looks < w.pullAfter+w.insertAfter {
		t.Errorf("%d looks", w.looks)
	}
}

// TestWrongSecondConfirmation: a wrong last-4 of the new disk writes nothing to it and says
// the failed disk is already out, and how to go on.
func TestWrongSecondConfirmation(t *testing.T) {
	fp := &fakePrompter{typed: []string{"b002", "A001", "x", "y"}}
	w, d, _ := newSession(t, "failed", fp)
	_, err := Run(context.Background(), d, plan.Request{Mode: plan.ReplaceFailed}, false)
	var de *prompt.DeclinedError
	if !errors.As(err, &de) || !de.Detached || !strings.Contains(err.Error(), "raidswap resume") || len(w.runs) != 1 {
		t.Fatalf("wrong second confirmation: %v (runs %d)", err, len(w.runs))
	}
}

// TestBootReadinessShown: the new disk's bus identity shows, discovery's boot readiness shows in the disk table, a survivor that
// does not boot alone is a warning, and the summary gives every disk's readiness after the run.
func TestBootReadinessShown(t *testing.T) {
	fp := &fakePrompter{typed: []string{"B002", "7Q3Z"}}
	w, d, out := newSession(t, "failed", fp)
	w.sys.Disks[0].Boot = &bootloader.Readiness{State: bootloader.BootMissing, Reason: "no GRUB boot code in the MBR"}
	w.final.Disks[0].Boot = &bootloader.Readiness{State: bootloader.BootOK}
	w.final.Disks[1].Boot = &bootloader.Readiness{State: bootloader.BootOK}
	w.newDisks[0].Transport, w.newDisks[0].HCTL, w.newDisks[0].Firmware = "sata", "2:0:0:0", "2.5+"
	if _, err := Run(context.Background(), d, plan.Request{Mode: plan.ReplaceFailed}, false); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, s := range []string{"BOOT", "missing", "vda (WD-WCC4N1KPA001) does not boot alone (boot missing: no GRUB boot code in the MBR)",
		"boots alone  vda (WD-WCC4N1KPA001): ok", "boots alone  vdb (WD-WCC4N1KPB002): ok",
		"bus sata, HCTL 2:0:0:0, firmware 2.5+"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

// TestTicketKey: `t` (or "ticket") at the pull question prints what `raidswap ticket`
// prints and asks again; it is not a wrong answer, so two of them and two wrong answers
// still leave the third try.
func TestTicketKey(t *testing.T) {
	fp := &fakePrompter{typed: []string{"t", "x", "TICKET", "y", "B002", "7Q3Z"}}
	w, d, out := newSession(t, "failed", fp)
	o, err := Run(context.Background(), d, plan.Request{Mode: plan.ReplaceFailed}, false)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, &fp.said, out)
	}
	if o.Answers != 2 || len(w.runs) != 2 {
		t.Errorf("%d answers, %d runs", o.Answers, len(w.runs))
	}
	if n := strings.Count(fp.said.String(), "DISK REPLACEMENT on server"); n != 2 {
		t.Errorf("ticket printed %d times, want 2:\n%s", n, &fp.said)
	}
	// The same text as `raidswap ticket` for this system and plan.
	sys, _ := w.discover()
	p, _ := d.Plan(plan.Request{Mode: plan.ReplaceFailed, Failed: w.failed})
	var want bytes.Buffer
	if err := view.Ticket(&want, p, sys, view.TicketOptions{Host: sys.Host.Hostname, Now: time.Date(2026, 12, 1, 3, 1, 30, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	body := strings.SplitN(want.String(), "\n", 2)[1] // past the dated first line
	if !strings.Contains(fp.said.String(), body) {
		t.Errorf("the wizard's ticket is not raidswap ticket's:\n%s\nwant:\n%s", &fp.said, &want)
	}
	if !strings.Contains(fp.asked[0], "t prints a ticket for remote hands") {
		t.Errorf("the pull question does not offer the key: %q", fp.asked[0])
	}
}

// TestTicketKeyDuringPull: on the line prompter, t and Enter while the wizard waits for the
// pull prints the ticket too, and is only a look otherwise.
func TestTicketKeyDuringPull(t *testing.T) {
	fp := &fakePrompter{typed: []string{"B002", "7Q3Z"}}
	w, d, out := newSession(t, "failed", fp)
	d.Poll = time.Hour // only lines make it look again
	enter := make(chan string, 8)
	enter <- "t"
	for range 7 {
		enter <- ""
	}
	d.Enter = enter
	if _, err := Run(context.Background(), d, plan.Request{Mode: plan.ReplaceFailed}, false); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	pull := out.String()[strings.Index(out.String(), "Pull the disk"):]
	if !strings.Contains(pull, "(t and Enter prints a ticket for remote hands.)") || strings.Count(pull[:strings.Index(pull, "is out.")], "DISK REPLACEMENT on server") != 1 {
		t.Errorf("no ticket during the pull wait:\n%s", out)
	}
	if len(w.runs) != 2 {
		t.Errorf("runs %+v", w.runs)
	}
}

// ledLog records the wizard's LED calls against the questions asked so far.
type ledLog struct {
	fp     *fakePrompter
	events []string
}

func (l *ledLog) locate(_ context.Context, led *plan.LED, on bool) error {
	l.events = append(l.events, fmt.Sprintf("%s %s after %d questions", map[bool]string{true: "on", false: "off"}[on], led.Serial, len(l.fp.asked)))
	return nil
}

// TestLocateBeforeLabel: the failed disk's bay LED is lit before the label question (and the
// screen says it blinks) and turned off after it on every path: the answer, three wrong
// answers, Ctrl-C, and an error while asking.
func TestLocateBeforeLabel(t *testing.T) {
	for _, c := range []struct {
		name  string
		typed []string
		// discoverFails makes the ticket's discovery fail: an error at the question.
		discoverFails bool
		err           bool
	}{
		{name: "answer", typed: []string{"B002", "7Q3Z"}},
		{name: "declined", typed: []string{"x", "y", "z"}, err: true},
		{name: "interrupted", typed: []string{"^C"}, err: true},
		{name: "error", typed: []string{"t"}, discoverFails: true, err: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			fp := &fakePrompter{typed: c.typed}
			w, d, out := newSession(t, "failed", fp)
			env, _ := fixtureSystem(t, "failed")
			for i := range w.sys.Disks {
				if w.sys.Disks[i].Serial == w.failed {
					w.sys.Disks[i].Bay = enclosureBay("Slot 02")
				}
			}
			d.Plan = func(r plan.Request) (*plan.Plan, error) { return env.PlanFor(w.sys, r, false) }
			leds := &ledLog{fp: fp}
			d.Locate = leds.locate
			if c.discoverFails {
				looks := 0
				look := d.Discover
				d.Discover = func() (*discover.System, error) {
					if looks++; looks > 1 {
						return nil, errors.New("discovery failed")
					}
					return look()
				}
			}
			_, err := Run(context.Background(), d, plan.Request{Mode: plan.ReplaceFailed}, false)
			if (err != nil) != c.err {
				t.Fatalf("err %v\n%s", err, out)
			}
			want := []string{"on " + w.failed + " after 0 questions", "off " + w.failed + " after 1 questions"}
			if strings.Join(leds.events, "; ") != strings.Join(want, "; ") {
				t.Errorf("LED %q, want %q", leds.events, want)
			}
			if !strings.Contains(out.String(), "The locate LED of enclosure") || !strings.Contains(out.String(), "is blinking now") {
				t.Errorf("the screen does not say the LED blinks:\n%s", out)
			}
		})
	}
}

// enclosureBay is slot of an SES enclosure, as identify.BayOf gives it.
func enclosureBay(slot string) *identify.Bay {
	b := &identify.Bay{LED: identify.LEDEnclosure, Enclosure: "0:0:0:0", EnclosureID: "0x5001438012345678", Slot: slot}
	b.Locate, b.Fault = b.File(identify.LampLocate), b.File(identify.LampFault)
	return b
}
