package drill

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/prompt"
	"github.com/raidswap/raidswap/internal/view"
)

// resume continues the lab's unfinished run in-process, as `raidswap resume` does.
func (s *scene) resume(ctx context.Context, newSerial string) error {
	env, lock, err := s.lockedEnv()
	if err != nil {
		return err
	}
	defer lock.Release()
	p, path, err := env.Unfinished()
	if err != nil {
		return err
	}
	s.say("resuming plan %s from its journal %s", p.ID(), path)
	run := s.runView()
	defer run.Close()
	_, err = env.Apply(ctx, p, lock, run, engine.RunOptions{WaitTimeout: s.c.WaitTimeout, NewSerial: newSerial})
	return err
}

// fourKn: the wizard's run must refuse the 4Kn disk before writing to it; the hands swap it
// for a 512-byte disk and the run resumes onto that one. A raidswap that takes the 4Kn disk
// safely passes too, on the same checks.
func (s *scene) fourKn(ctx context.Context) error {
	err := s.wizard(ctx)
	if err == nil {
		return nil
	}
	if _, ok := sectorSizeRefusal(err); !ok {
		return err
	}
	s.card.Checks = append(s.card.Checks, Check{Name: "4Kn disk refused before any write", OK: true, Detail: firstSentence(err.Error())})
	s.say("raidswap refused the 4Kn disk %s; swapping it for a 512-byte disk", s.newSerial)
	dev, _ := s.lab.Device(s.newSerial)
	if err := s.pullWhenFree(ctx, s.newSerial, dev, "the refused 4Kn disk"); err != nil {
		return err
	}
	s.shelf = DiskSpec{Serial: s.lab.NewSerial(), Size: s.c.Layout.DiskSize, SectorSize: 512}
	s.newSerial = s.shelf.Serial
	if err := s.insertShelf(ctx); err != nil {
		return err
	}
	return s.resume(ctx, s.newSerial)
}

func firstSentence(s string) string {
	if i := strings.Index(s, ";"); i > 0 {
		return s[:i]
	}
	return s
}

// interrupted runs `raidswap replace --yes` in a child process confined to the lab, kills it
// with SIGKILL once its journal shows an add step started, and resumes in-process.
func (s *scene) interrupted(ctx context.Context) error {
	if s.c.Self == "" {
		return errors.New("the interrupted scenario runs raidswap as a child, and the path of this raidswap is unknown")
	}
	if _, err := s.confined(); err != nil {
		return err
	}
	kctx, kill := context.WithCancel(ctx)
	defer kill()
	argv := []string{s.c.Self, "replace", "--yes", "--plain", "--failed", s.failed, "--new", s.newSerial,
		"--drill-lab", s.lab.Dir(), "--wait-timeout", s.c.WaitTimeout.String()}
	s.say("running %s", strings.Join(argv, " "))
	type done struct {
		out string
		err error
	}
	child := make(chan done, 1)
	go func() {
		res, err := s.c.Runner.Run(kctx, argv...)
		child <- done{string(res.Stdout) + string(res.Stderr), err}
	}()
	stop := s.startHands(ctx)
	defer stop()
	killed := ""
	var d done
wait:
	for {
		select {
		case d = <-child:
			break wait
		case <-ctx.Done():
			kill()
			<-child
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		recs, _ := s.journalRecords()
		if len(recs) > 0 {
			s.markPlanned()
		}
		for _, r := range recs {
			if addStarted(r) {
				killed = r.Step
			}
		}
		if killed != "" {
			kill() // exec.CommandContext kills with SIGKILL
			d = <-child
			break
		}
	}
	if herr := stop(); herr != nil {
		return herr
	}
	if killed == "" {
		return fmt.Errorf("raidswap replace ended before it was killed (%v): %s", d.err, lastLines(d.out, 5))
	}
	s.say("killed raidswap replace with SIGKILL while step %s ran", killed)
	s.card.Checks = append(s.card.Checks, Check{Name: "killed mid-run", OK: true, Detail: "SIGKILL during " + killed})
	return s.resume(ctx, "")
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, " | ")
}

// wrongDisk makes the two mistakes the scenario is about, each of which must be refused,
// then runs the right replacement with the wizard. --auto makes both on purpose; the
// interactive trainee chooses among all the drill's disks.
func (s *scene) wrongDisk(ctx context.Context) error {
	env, err := s.confined()
	if err != nil {
		return err
	}
	t := s.trainee()
	disks := []string{s.survivor, s.failed}
	labels := []string{s.survivor + " (" + s.survivorDev + ")", s.failed + " (" + s.failedDev + ")"}
	out, in := s.survivor, s.survivor
	if s.c.Trainee != nil {
		i, err := t.Select("\n[drill] Which disk do you replace?", labels, 0)
		if err != nil {
			return err
		}
		out = disks[i]
		newLabels := append(append([]string(nil), labels...), s.newSerial+" (on the shelf)")
		j, err := t.Select("\n[drill] Which disk is to be the new disk?", newLabels, 2)
		if err != nil {
			return err
		}
		in = append(disks, s.newSerial)[j]
	} else {
		s.say("--auto: trying to replace the survivor %s, then to use it as the new disk (both on purpose)", s.survivor)
	}
	// 1: replace the survivor.
	if _, err := env.Plan(plan.Request{Mode: plan.ReplaceFailed, Failed: out}, true); err != nil {
		s.refusedMistake(fmt.Sprintf("plan to replace %s", out), "plan", err)
	} else if out == s.survivor {
		return fmt.Errorf("a plan to replace the survivor %s was built: it must be refused", out)
	}
	// 2: the survivor as the new disk.
	if _, err := env.Plan(plan.Request{Mode: plan.ReplaceFailed, Failed: s.failed, New: in}, true); err != nil {
		s.refusedMistake(fmt.Sprintf("plan with %s as the new disk", in), "plan", err)
	} else if in == s.survivor {
		return fmt.Errorf("a plan with the survivor %s as the new disk was built: it must be refused", in)
	}
	// 3: a plan forged in-process so that it detaches the survivor's member.
	if err := s.forgedSurvivorDetach(ctx, env); err != nil {
		return err
	}
	return s.wizard(ctx)
}

func (s *scene) refusedMistake(tried, by string, err error) {
	s.tally.Refused(Mistake{Tried: tried, RefusedBy: by, Reason: err.Error()})
	s.say("refused, as it must be: %v", err)
}

// forgedSurvivorDetach builds the right plan, rewrites its first detach step to take the
// survivor's member out instead, seals it with the lab's key (as someone holding it could),
// and applies it: the executor must refuse it before running anything.
func (s *scene) forgedSurvivorDetach(ctx context.Context, env *engine.Env) error {
	p, err := env.Plan(plan.Request{Mode: plan.ReplaceFailed, Failed: s.failed}, true)
	if err != nil {
		return fmt.Errorf("the right plan: %w", err)
	}
	sys, err := env.Discover()
	if err != nil {
		return err
	}
	idx := -1
	for i, st := range p.Steps {
		if st.Action == plan.ActionDetach && !st.Target.Detached {
			idx = i
			break
		}
	}
	if idx < 0 {
		return errors.New("the plan has no detach step to forge")
	}
	st := p.Steps[idx]
	part := survivorMember(sys, st.Target.Array, s.survivor)
	if part == "" {
		return fmt.Errorf("no member of %s on the survivor", st.Target.Array)
	}
	st.Target.Device, st.Target.Serial = part, s.survivor
	argv, err := plan.Derive(sys.Host.Profile, p, st)
	if err != nil {
		return err
	}
	st.Argv = argv
	p.Steps = append([]plan.Step(nil), p.Steps[:idx+1]...)
	p.Steps[idx] = st
	key, err := env.Key(true)
	if err != nil {
		return err
	}
	if err := p.Seal(key); err != nil {
		return err
	}
	lock, err := env.Lock()
	if err != nil {
		return err
	}
	defer lock.Release()
	res, err := env.Apply(ctx, p, lock, view.NewRun(discardWriter{}, false), engine.RunOptions{StopAfter: st.ID})
	if res != nil && res.Journal != "" {
		// Close the forged run's journal so it is not mistaken for an unfinished replacement.
		_, _ = env.Abort(res.Journal)
	}
	var re *exec.RefusedError
	if !errors.As(err, &re) {
		return fmt.Errorf("a forged plan detaching the survivor's %s was not refused by the executor (%v)", part, err)
	}
	if res != nil && contains(res.Ran, st.ID) {
		return fmt.Errorf("the forged step %s ran", st.ID)
	}
	s.refusedMistake(fmt.Sprintf("forged plan detaching the survivor's member %s", part), "executor", err)
	return nil
}

type discardWriter struct{}

func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }

func survivorMember(sys *discover.System, array, serial string) string {
	a := sys.Array(array)
	d := sys.DiskBySerial(serial)
	if a == nil || d == nil {
		return ""
	}
	for _, m := range a.Members {
		if m.Disk != nil && *m.Disk == d.Name && m.Device != nil {
			return *m.Device
		}
	}
	return ""
}

// judgeWrongDisk: both mistakes (and the forged plan) were refused, and the right
// replacement verifies.
func (s *scene) judgeWrongDisk(ctx context.Context, runErr error) {
	byPlan, byExec := 0, 0
	for _, m := range s.tally.Mistakes() {
		switch m.RefusedBy {
		case "plan":
			byPlan++
		case "executor":
			byExec++
		}
	}
	want := 2
	if s.c.Trainee != nil {
		want = 0 // the interactive trainee may choose right
	}
	s.card.Checks = append(s.card.Checks, Check{Name: "wrong disks refused", OK: byPlan >= want && byExec == 1,
		Detail: fmt.Sprintf("%d refused by plan.Build, %d by the executor", byPlan, byExec)})
	s.judgeSuccess(ctx, runErr)
}

// predictive copies the working failed disk onto the new one (inserted first) with
// mdadm --replace, while a sampler checks every 0.2 s that no array loses redundancy.
func (s *scene) predictive(ctx context.Context) error {
	env, lock, err := s.lockedEnv()
	if err != nil {
		return err
	}
	defer lock.Release()
	p, err := env.Plan(plan.Request{Mode: plan.ReplaceWorking, Failed: s.failed, New: s.newSerial}, true)
	if err != nil {
		return err
	}
	if err := view.PlanText(s.out, p); err != nil {
		return err
	}
	q := fmt.Sprintf("\nThe disk coming out still works; its serial is %s. Type its last 4 characters to copy it onto the new disk: ", s.failed)
	if err := s.trainee().Confirm(view.Wrap(q, s.c.Width), prompt.Want{Answer: Last4(s.failed)}); err != nil {
		return err
	}
	// The hands pull the old disk once the copy is done and it holds no member.
	s.markPlanned()
	pulled := make(chan error, 1)
	pctx, unpull := context.WithCancel(ctx)
	defer unpull()
	go func() {
		// Pulled when raidswap waits for it, after the copy and the bay's LED.
		if err := s.awaitJournal(pctx, awaitsRemoval); err != nil {
			pulled <- err
			return
		}
		pulled <- s.pullWhenFree(pctx, s.failed, s.failedDev, "the replaced disk")
	}()
	smp := &sampler{}
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); smp.run(sctx, s) }()
	run := s.runView()
	_, err = env.Apply(ctx, p, lock, run, engine.RunOptions{WaitTimeout: s.c.WaitTimeout})
	run.Close()
	stop()
	wg.Wait()
	s.card.Checks = append(s.card.Checks, Check{Name: "redundancy kept throughout", OK: smp.samples > 0 && len(smp.lost) == 0,
		Detail: fmt.Sprintf("%d samples every 0.2 s; without two members: %s", smp.samples, orNone(smp.lost))})
	unpull()
	perr := <-pulled
	if err != nil {
		return err
	}
	if perr != nil && !errors.Is(perr, context.Canceled) {
		return perr
	}
	return nil
}

func (s *scene) judgePredictive(ctx context.Context, runErr error) { s.judgeSuccess(ctx, runErr) }

// sampler reads every lab array's degraded count (md's own: in-sync devices missing from
// raid_disks; a member being replaced still counts) every 0.2 s.
type sampler struct {
	samples int
	lost    []string
}

func (m *sampler) run(ctx context.Context, s *scene) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		for _, a := range s.arrays {
			v, err := s.c.Root.ReadString("/sys/block/" + a + "/md/degraded")
			if err != nil || strings.TrimSpace(v) != "0" {
				if len(m.lost) < 10 {
					m.lost = append(m.lost, fmt.Sprintf("%s degraded=%q at %s", a, strings.TrimSpace(v), time.Now().Format("15:04:05.0")))
				}
			}
		}
		m.samples++
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
