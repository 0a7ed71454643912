package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/plan"
)

// Cloner copies the survivor's partition table onto the new disk, in-process (package
// partition). It re-checks that the target is not in use right before writing.
type Cloner interface {
	Clone(ctx context.Context, source, target string, wipe bool) (summary string, err error)
	// Inspect refuses a new disk that holds data (unless wipe) or may hold the last copy of
	// an array this host knows: the same check Clone makes right before writing.
	Inspect(ctx context.Context, target string, wipe bool) error
}

// SpeedWriter reads and sets md's minimum rebuild speed (KiB/s).
type SpeedWriter interface {
	MinSpeed() (int64, error)
	SetMinSpeed(kib int64) error
	MaxSpeed() (int64, error)
	SetMaxSpeed(kib int64) error
	// StartRecovery asks md to recover a degraded array onto its spares.
	StartRecovery(array string) error
}

// stallGrace is how long a degraded array may hold a spare with no recovery running before
// the rebuild wait asks md to start it; kicks is how often it asks.
const (
	stallGrace = 3 * time.Second
	maxKicks   = 3
)

// Options are what Apply acts through.
type Options struct {
	// Discover reads the live system; every check uses a fresh result.
	Discover func() (*discover.System, error)
	Runner   host.Runner
	Cloner   Cloner
	Speed    SpeedWriter
	// JournalDir holds the journals (journal.DefaultDir when empty).
	JournalDir string
	// LockPath is the lock file (DefaultLockPath when empty).
	LockPath string
	// Host is this machine; a plan from another is refused.
	Host plan.Host
	// Key is this host's plan key; a plan it did not seal is refused.
	Key []byte
	// Lock, when set, is the raidswap lock the caller already holds (taken before anything
	// else, so a second raidswap is told so first); otherwise Apply takes it at LockPath.
	Lock *Lock
	// Audit receives the JSON audit log (one zerolog line per event); nil discards it.
	Audit io.Writer
	// View shows progress to a person; nil shows nothing.
	View View
	// Poll is how often wait steps look again (2s when zero).
	Poll time.Duration
	// WaitTimeout bounds each wait step (pull, new disk, rebuild); zero waits until ctx ends.
	WaitTimeout time.Duration
	// SettleTimeout bounds how long a command's postconditions may take to show (10s when zero).
	SettleTimeout time.Duration
	// NewSerial, when set, names the new disk for a resumed run whose plan did not name one:
	// the operator swapped the disk an earlier run had chosen (resume --new).
	NewSerial string
	// StopAfter, when set, makes Apply return ErrStopped right after the step with this ID
	// is journalled done (tests and drills use it to interrupt a run at a step boundary).
	StopAfter string
}

// ErrStopped is returned when Options.StopAfter stopped the run.
var ErrStopped = errors.New("stopped after the requested step")

// Result is what a run did.
type Result struct {
	Journal string
	Ran     []string // step IDs that ran
	Skipped []string // step IDs found already done
}

type run struct {
	p   *plan.Plan
	o   Options
	j   *journal.Journal
	log zerolog.Logger
	w   *world
	res *Result
}

// Apply runs a plan, or resumes it when its journal shows an earlier run.
func Apply(ctx context.Context, p *plan.Plan, o Options) (*Result, error) {
	if o.JournalDir == "" {
		o.JournalDir = journal.DefaultDir
	}
	if o.LockPath == "" {
		o.LockPath = DefaultLockPath
	}
	if o.Poll == 0 {
		o.Poll = 2 * time.Second
	}
	if o.SettleTimeout == 0 {
		o.SettleTimeout = 10 * time.Second
	}
	if o.View == nil {
		o.View = nopView{}
	}
	audit := o.Audit
	if audit == nil {
		audit = io.Discard
	}
	lock := o.Lock
	if lock == nil {
		var err error
		if lock, err = AcquireLock(o.LockPath); err != nil {
			return nil, err
		}
		defer lock.Release()
	}
	// The plan is untrusted input until its seal, its host and every step's command check out.
	if err := p.Verify(o.Key); err != nil {
		return nil, err
	}
	if err := p.CheckHost(o.Host); err != nil {
		return nil, err
	}
	if err := p.CheckSteps(); err != nil {
		return nil, err
	}
	if inh, ok := o.Runner.(host.Inheritor); ok {
		o.Runner = inh.Inheriting(lock.f)
	}
	j, err := journal.Open(o.JournalDir, p.ID())
	if err != nil {
		return nil, err
	}
	defer j.Close()
	r := &run{p: p, o: o, j: j, res: &Result{Journal: j.File()},
		log: zerolog.New(audit).With().Timestamp().Str("plan", p.ID()).Logger()}
	if j.Finished() {
		o.View.Say(fmt.Sprintf("plan %s already finished (journal %s)", p.ID(), j.File()))
		return r.res, nil
	}
	if j.Aborted() {
		return nil, &RefusedError{Reason: fmt.Sprintf("plan %s was aborted (journal %s): build a new plan", p.ID(), j.File())}
	}
	sys, err := o.Discover()
	if err != nil {
		return nil, fmt.Errorf("discovering the system: %w", err)
	}
	if len(j.Records) == 0 {
		// A fresh run: the system must be exactly what the plan was built on.
		if err := p.CheckFresh(sys); err != nil {
			r.log.Warn().Str("event", "stale").Err(err).Msg("plan refused")
			return nil, err
		}
		var body bytes.Buffer
		if err := p.Write(&body); err != nil {
			return nil, err
		}
		if err := j.Append(journal.Record{Event: journal.EventPlan, Plan: bytes.TrimSpace(body.Bytes())}); err != nil {
			return nil, err
		}
		r.log.Info().Str("event", "plan").Str("journal", j.File()).Msg("apply started")
	} else {
		o.View.Say(fmt.Sprintf("resuming plan %s from its journal %s", p.ID(), j.File()))
		r.log.Info().Str("event", "resume").Str("journal", j.File()).Msg("resuming")
	}
	r.w = &world{sys: sys}
	if err := r.chooseNewDisk(); err != nil {
		return r.res, err
	}
	for i, s := range p.Steps {
		if err := ctx.Err(); err != nil {
			return r.res, err
		}
		if err := r.step(ctx, i, s); err != nil {
			return r.res, err
		}
		if o.StopAfter != "" && s.ID == o.StopAfter {
			return r.res, ErrStopped
		}
	}
	if err := j.Append(journal.Record{Event: journal.EventFinished}); err != nil {
		return r.res, err
	}
	r.log.Info().Str("event", "finished").Msg("plan finished")
	o.View.Say("done: every step of plan " + p.ID() + " holds")
	return r.res, nil
}

// noteNewSerial is the journal note that records which disk is the new one.
const noteNewSerial = "new_serial"

// onNewDisk reports whether step s acts on the new disk.
func onNewDisk(s plan.Step) bool {
	_, ok := plan.ParsePlaceholder(s.Target.Device)
	return ok || s.Action == plan.ActionPartitionClone
}

// chooseNewDisk settles, at the start of a run, which disk is the new one: the plan's, the one
// an earlier run chose (journalled), or the one the operator names now (Options.NewSerial).
// When the disk an earlier run chose has gone before anything was written to it (it was
// refused, say too small, and swapped), the run waits for a new disk again.
func (r *run) chooseNewDisk() error {
	p := r.p
	chosen := p.Disks.New.Serial
	at := -1
	if v, i := r.j.DataIndex(noteNewSerial); i >= 0 {
		chosen, at = v, i
	}
	if named := r.o.NewSerial; named != "" && named != chosen {
		if p.Disks.New.Serial != "" {
			return &RefusedError{Serial: named, Reason: fmt.Sprintf("the plan names the new disk %s: build a new plan to use %s instead", p.Disks.New.Serial, named)}
		}
		for _, a := range r.w.sys.Arrays {
			for _, m := range a.Members {
				if m.Gone && r.planArray(a.UUID) {
					return &RefusedError{Serial: chosen, Reason: fmt.Sprintf("%s still lists a member whose device has gone (%s's, added earlier?): take it out first with `mdadm /dev/%s --fail detached --remove detached`, then resume --new %s",
						a.Name, orNone(chosen), a.Name, named)}
				}
			}
		}
		r.o.View.Say(fmt.Sprintf("the new disk is now the one with serial %s (was %s)", named, orNone(chosen)))
		r.w.newSerial = named
		return r.j.Append(journal.Record{Event: journal.EventNote, Data: map[string]string{noteNewSerial: named, "new_disk_named_by": "resume --new"}})
	}
	r.w.newSerial = chosen
	if chosen == "" || p.Disks.New.Serial != "" || r.w.newDisk() != nil {
		return nil
	}
	for _, rec := range r.j.Records[at+1:] {
		if rec.Event != journal.EventStarted {
			continue
		}
		if s, ok := p.Step(rec.Step); ok && onNewDisk(s) && s.Action != plan.ActionAwaitNewDisk && s.Action != plan.ActionCheckNewDisk {
			// Something was written to it: which disk is new is the operator's call.
			return nil
		}
	}
	r.o.View.Say(fmt.Sprintf("the new disk %s chosen in an earlier run is not attached and nothing was written to it: waiting for a new disk again", chosen))
	r.w.newSerial = ""
	return r.j.Append(journal.Record{Event: journal.EventNote, Data: map[string]string{noteNewSerial: "", "new_disk_gone": chosen}})
}

// planArray reports whether the plan changes the array with this UUID.
func (r *run) planArray(uuid string) bool {
	for _, s := range r.p.Steps {
		if s.Target.ArrayUUID == uuid && uuid != "" {
			return true
		}
	}
	return false
}

// refresh re-discovers the system.
func (r *run) refresh() error {
	sys, err := r.o.Discover()
	if err != nil {
		return fmt.Errorf("discovering the system: %w", err)
	}
	r.w.sys = sys
	return nil
}

// allHold evaluates conditions; it returns the first that does not hold.
func (r *run) allHold(cs []plan.Condition) (bool, plan.Condition, string) {
	for _, c := range cs {
		if ok, found := r.w.holds(c); !ok {
			return false, c, found
		}
	}
	return true, plan.Condition{}, ""
}

func (r *run) step(ctx context.Context, i int, s plan.Step) error {
	n := len(r.p.Steps)
	if err := r.refresh(); err != nil {
		return err
	}
	// A step on the new disk counts as done only for the new disk chosen last: after the
	// operator swapped it, its steps run again for the disk now in the bay.
	_, newSince := r.j.DataIndex(noteNewSerial)
	if at := r.j.LastIndex(s.ID, journal.EventDone, journal.EventSkipped); at >= 0 && s.Action != plan.ActionVerify &&
		(!onNewDisk(s) || at > newSince) {
		r.res.Skipped = append(r.res.Skipped, s.ID)
		r.o.View.StepSkipped(i, n, s, "done in an earlier run")
		return nil
	}
	// Already true on the live system (resume after a crash between "started" and "done",
	// or a member someone removed by hand): nothing to do.
	if len(s.Postconditions) > 0 && !isWait(s.Action) && s.Action != plan.ActionVerify {
		if ok, _, _ := r.allHold(s.Postconditions); ok {
			r.res.Skipped = append(r.res.Skipped, s.ID)
			r.o.View.StepSkipped(i, n, s, "already true on the system")
			r.log.Info().Str("event", "skipped").Str("step", s.ID).Msg("already done")
			return r.j.Append(journal.Record{Event: journal.EventSkipped, Step: s.ID})
		}
	}
	if ok, c, found := r.allHold(s.Preconditions); !ok {
		err := &PreconditionError{Step: s.ID, Condition: c.Text, Found: found}
		return r.refused(s, err)
	}
	// The command comes from the step's typed operands, never from the plan file's argv
	// (CheckSteps refused a plan whose stored commands differ).
	argv, err := plan.Derive(r.p, s)
	if err != nil {
		return r.refused(s, err)
	}
	inProcess := plan.InProcessAction(s.Action, s.Target)
	if !inProcess && len(argv) > 0 {
		if err := r.w.checkSafety(r.p, s); err != nil {
			return r.refused(s, err)
		}
		if argv, err = r.resolve(argv); err != nil {
			return r.refused(s, &RefusedError{Step: s.ID, Device: s.Target.Device, Reason: err.Error()})
		}
	}
	r.o.View.StepStarting(i, n, s, argv)
	rec := journal.Record{Event: journal.EventStarted, Step: s.ID}
	if !inProcess {
		rec.Argv = argv
	}
	if err := r.j.Append(rec); err != nil {
		return err
	}
	r.log.Info().Str("event", "started").Str("step", s.ID).Str("action", string(s.Action)).Strs("argv", rec.Argv).Msg("step started")
	if err := r.do(ctx, s, argv); err != nil {
		var re *RefusedError
		var pe *PreconditionError
		if errors.As(err, &re) || errors.As(err, &pe) {
			return r.refused(s, err)
		}
		var wt *WaitTimeoutError
		if errors.As(err, &wt) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			// Not a failure: the step can be resumed.
			r.log.Info().Str("event", "interrupted").Str("step", s.ID).Err(err).Msg("wait interrupted")
			return err
		}
		return r.failed(s, err)
	}
	if err := r.settle(ctx, s); err != nil {
		return r.failed(s, err)
	}
	r.res.Ran = append(r.res.Ran, s.ID)
	r.o.View.StepDone(i, n, s)
	r.log.Info().Str("event", "done").Str("step", s.ID).Msg("step done")
	return r.j.Append(journal.Record{Event: journal.EventDone, Step: s.ID})
}

func isWait(a plan.Action) bool {
	return a == plan.ActionAwaitRemoval || a == plan.ActionAwaitNewDisk || a == plan.ActionAwaitRebuild
}

// settle waits (briefly) until the step's postconditions show on the system: md and udev
// update sysfs a moment after mdadm returns.
func (r *run) settle(ctx context.Context, s plan.Step) error {
	if len(s.Postconditions) == 0 {
		return nil
	}
	deadline := time.Now().Add(r.o.SettleTimeout)
	for {
		if err := r.refresh(); err != nil {
			return err
		}
		ok, c, found := r.allHold(s.Postconditions)
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after the step, %q does not hold: %s", c.Text, found)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(r.o.Poll, 500*time.Millisecond)):
		}
	}
}

func (r *run) refused(s plan.Step, err error) error {
	r.log.Error().Str("event", "refused").Str("step", s.ID).Err(err).Msg("step refused")
	if jerr := r.j.Append(journal.Record{Event: journal.EventRefused, Step: s.ID, Error: err.Error()}); jerr != nil {
		return errors.Join(err, jerr)
	}
	return err
}

func (r *run) failed(s plan.Step, err error) error {
	rec := journal.Record{Event: journal.EventFailed, Step: s.ID, Error: err.Error()}
	var ee *host.ExitError
	if errors.As(err, &ee) {
		rec.ExitCode, rec.Stderr = ee.Result.ExitCode, string(ee.Result.Stderr)
	}
	r.log.Error().Str("event", "failed").Str("step", s.ID).Int("exit_code", rec.ExitCode).Str("stderr", rec.Stderr).Err(err).Msg("step failed")
	if jerr := r.j.Append(rec); jerr != nil {
		return errors.Join(&StepFailedError{Step: s.ID, Err: err}, jerr)
	}
	return &StepFailedError{Step: s.ID, Err: err}
}

// resolve fills the new-disk placeholders from the new disk's serial.
func (r *run) resolve(argv []string) ([]string, error) {
	name := ""
	if d := r.w.newDisk(); d != nil {
		name = d.Name
	}
	return plan.Expand(argv, name)
}

// do performs one step.
func (r *run) do(ctx context.Context, s plan.Step, argv []string) error {
	switch s.Action {
	case plan.ActionLocate:
		r.o.View.Say(s.Reason)
		return nil
	case plan.ActionAwaitRemoval:
		f := r.p.Disks.Failed
		return r.wait(ctx, s, "the failed disk to be pulled", func() (bool, string, error) {
			if d := r.w.sys.DiskBySerial(f.Serial); d != nil && d.Present && d.Name != f.Device {
				// Pulled and put back before we looked: it is not gone, and not new.
				return false, "", &RefusedError{Step: s.ID, Device: d.Name, Serial: d.Serial,
					Reason: fmt.Sprintf("it is the failed disk %s, back (now named %s): pull it and insert the new disk", d.Serial, d.Name)}
			}
			ok, _, found := r.allHold(s.Postconditions)
			return ok, found, nil
		})
	case plan.ActionAwaitNewDisk:
		return r.awaitNewDisk(ctx, s)
	case plan.ActionCheckNewDisk:
		return r.checkNewDisk(ctx, s)
	case plan.ActionPartitionClone:
		d := r.w.newDisk()
		if err := r.w.checkSafety(r.p, s); err != nil {
			return err
		}
		if r.o.Cloner == nil {
			return errors.New("no partition cloner configured")
		}
		src := r.p.Disks.Survivor
		// The source is found by serial too: its name may have changed.
		sd := r.w.sys.DiskBySerial(src.Serial)
		if sd == nil || !sd.Present {
			return &RefusedError{Step: s.ID, Device: src.Device, Serial: src.Serial, Reason: "the survivor is not attached"}
		}
		from, to := "/dev/"+sd.Name, "/dev/"+d.Name
		r.log.Info().Str("event", "clone").Str("step", s.ID).Str("from", from).Str("to", to).Bool("wipe", r.p.Disks.New.Wipe).Msg("partition clone")
		sum, err := r.o.Cloner.Clone(ctx, from, to, r.p.Disks.New.Wipe)
		if err != nil {
			return err
		}
		if sum != "" {
			r.o.View.Say(sum)
		}
		return r.j.Append(journal.Record{Event: journal.EventNote, Step: s.ID, Data: map[string]string{"clone_from": from, "clone_to": to}})
	case plan.ActionAwaitRebuild:
		return r.awaitRebuild(ctx, s)
	case plan.ActionVerify:
		if ok, c, found := r.allHold(s.Postconditions); !ok {
			return fmt.Errorf("verification failed: %q does not hold: %s", c.Text, found)
		}
		return nil
	case plan.ActionBootloader:
		if len(argv) == 0 {
			r.o.View.Say(s.Reason)
			return nil
		}
		return r.command(ctx, s, argv)
	case plan.ActionAddMember, plan.ActionAddSpare, plan.ActionReplaceMember:
		// Raise the rebuild speed before the first member goes in: md throttles a recovery to
		// speed_limit_min while the later steps (mkswap, grub-install) do I/O on the same
		// disks. The old values are journalled; the rebuild wait restores them.
		if err := r.raiseSpeed(s); err != nil {
			return err
		}
		return r.command(ctx, s, argv)
	case plan.ActionSwapOff, plan.ActionDetach, plan.ActionZeroSuperblock,
		plan.ActionRemoveReplaced, plan.ActionReAddMember, plan.ActionMkswap, plan.ActionSwapOn:
		return r.command(ctx, s, argv)
	default:
		return fmt.Errorf("unreachable: action %q is unknown to this raidswap", s.Action)
	}
}

func (r *run) command(ctx context.Context, s plan.Step, argv []string) error {
	res, err := r.o.Runner.Run(ctx, argv...)
	ev := r.log.Info()
	if err != nil {
		ev = r.log.Error().Err(err)
	}
	ev.Str("event", "command").Str("step", s.ID).Strs("argv", argv).Int("exit_code", res.ExitCode).
		Dur("duration", res.Duration).Str("stdout", string(res.Stdout)).Str("stderr", string(res.Stderr)).Msg("command")
	return err
}

// wait polls until ready reports true, the wait times out, or ctx ends.
func (r *run) wait(ctx context.Context, s plan.Step, what string, ready func() (bool, string, error)) error {
	var deadline time.Time
	if r.o.WaitTimeout > 0 {
		deadline = time.Now().Add(r.o.WaitTimeout)
	}
	said := false
	for {
		ok, status, err := ready()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if !said {
			r.o.View.Waiting(s, "waiting for "+what)
			said = true
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return &WaitTimeoutError{Step: s.ID, Waiting: what + " (" + status + ")"}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(r.o.Poll):
		}
		if err := r.refresh(); err != nil {
			return err
		}
	}
}

// awaitNewDisk waits for the new disk: by serial when the plan names it, else the one disk
// that appears which was not attached when the plan was built. It refuses the failed disk
// coming back under another name, and the survivor.
func (r *run) awaitNewDisk(ctx context.Context, s plan.Step) error {
	p := r.p
	known := map[string]bool{}
	for _, k := range p.Disks.New.KnownSerials {
		known[k] = true
	}
	want := p.Disks.New.Serial
	if want == "" {
		want = r.o.NewSerial
	}
	return r.wait(ctx, s, "the new disk", func() (bool, string, error) {
		if want != "" {
			r.w.newSerial = want
			if r.w.newDisk() != nil {
				return true, "", nil
			}
			return false, "no disk with serial " + want + " is attached", nil
		}
		var cands []*discover.Disk
		for i := range r.w.sys.Disks {
			d := &r.w.sys.Disks[i]
			if !d.Present {
				continue
			}
			if d.Serial != "" && d.Serial == p.Disks.Failed.Serial {
				if p.Request.Mode == plan.ReplaceFailed {
					// It was pulled (or had vanished): it has come back.
					return false, "", &RefusedError{Step: s.ID, Device: d.Name, Serial: d.Serial,
						Reason: fmt.Sprintf("it is the failed disk %s, back (now named %s); it is not a new disk: to return it to its arrays, build a re-add plan", d.Serial, d.Name)}
				}
				continue
			}
			if d.Serial == "" || known[d.Serial] {
				continue
			}
			cands = append(cands, d)
		}
		switch len(cands) {
		case 0:
			return false, "no disk has appeared", nil
		case 1:
			d := cands[0]
			r.w.newSerial = d.Serial
			r.o.View.Say(fmt.Sprintf("new disk: %s", d.Label()))
			return true, "", r.j.Append(journal.Record{Event: journal.EventNote, Step: s.ID, Data: map[string]string{noteNewSerial: d.Serial, "new_device": d.Name}})
		default:
			var names []string
			for _, d := range cands {
				names = append(names, d.Label())
			}
			return false, "", &RefusedError{Step: s.ID, Reason: fmt.Sprintf("more than one new disk appeared (%s): name the new disk by serial", strings.Join(names, ", "))}
		}
	})
}

// checkNewDisk checks the new disk against the plan: not the survivor or the failed disk,
// large enough, free, and blank unless wiping.
func (r *run) checkNewDisk(ctx context.Context, s plan.Step) error {
	p := r.p
	d := r.w.newDisk()
	if d == nil {
		return &RefusedError{Step: s.ID, Device: plan.NewDiskToken, Serial: r.w.newSerial, Reason: fmt.Sprintf(
			"the new disk %s is not attached: put it back, or continue with another disk (`raidswap resume --new SERIAL`), or close this run (`raidswap abort`)", orNone(r.w.newSerial))}
	}
	refuse := func(format string, a ...any) error {
		return &RefusedError{Step: s.ID, Device: "/dev/" + d.Name, Serial: d.Serial, Reason: fmt.Sprintf(format, a...)}
	}
	const swap = "; put a suitable disk in its place and `raidswap resume` waits for that one"
	switch {
	case d.Serial == p.Disks.Survivor.Serial:
		return refuse("it is the survivor")
	case d.Serial == p.Disks.Failed.Serial && p.Request.Mode != plan.ReAdd:
		return refuse("it is the failed disk")
	case d.SizeBytes < p.Disks.New.MinSizeBytes:
		return refuse("it is too small: %d bytes, the survivor has %d"+swap, d.SizeBytes, p.Disks.New.MinSizeBytes)
	}
	if why := inUse(d); why != "" {
		return refuse("%s", why)
	}
	if r.o.Cloner == nil {
		return errors.New("no partition cloner configured to inspect the new disk with")
	}
	// libblkid's probes, through package partition: the one rule for "this disk holds
	// something", and the last-copy guard.
	return r.o.Cloner.Inspect(ctx, "/dev/"+d.Name, p.Disks.New.Wipe)
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
