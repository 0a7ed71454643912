package exec

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/stream"
)

// refresh re-discovers the system.
func (r *run) refresh() error {
	start := time.Now()
	sys, err := r.o.Discover()
	if err != nil {
		return fmt.Errorf("discovering the system: %w", err)
	}
	r.w.sys, r.lookedAt = sys, start
	return nil
}

// LookReuse is how old a look may be for the next check to use it instead of discovering
// again, when nothing ran since: the look that proved a step's postconditions (or ended its
// wait) is the one the next step's checks use, taken after the last command, a moment ago.
// Older than this (a slow terminal, a paused run), the step looks afresh.
const LookReuse = 500 * time.Millisecond

// look discovers the system unless the last look was taken after the last action and is
// younger than LookReuse. A look is reused once.
func (r *run) look() error {
	if !r.seen.IsZero() && time.Since(r.seen) <= LookReuse {
		r.seen = time.Time{}
		return nil
	}
	r.seen = time.Time{}
	return r.refresh()
}

// sawAfterAction marks the world last read as taken after the step's action: the next look
// may reuse it, aged from when that read began.
func (r *run) sawAfterAction() { r.seen = r.lookedAt }

// allHold evaluates conditions; it returns the first that does not hold.
func (r *run) allHold(cs []plan.Condition) (bool, plan.Condition, string) {
	for _, c := range cs {
		if ok, found := r.w.holds(c); !ok {
			return false, c, found
		}
	}
	return true, plan.Condition{}, ""
}

func (r *run) step(ctx context.Context, s plan.Step) error {
	if err := r.look(); err != nil {
		return err
	}
	newName := ""
	if d := r.w.newDisk(); d != nil {
		newName = d.Name
	}
	if doneInJournal(r.j, s) {
		r.res.Skipped = append(r.res.Skipped, s.ID)
		if !r.o.Continuing && !r.o.ProgressShown {
			_ = r.emit(stream.Record{Kind: stream.Recalled, Step: s.ID, Say: "done in an earlier run", NewDisk: newName})
		}
		return nil
	}
	// Already true on the live system (resume after a crash between "started" and "done",
	// or a member someone removed by hand): nothing to do.
	if len(s.Postconditions) > 0 && !isWait(s.Action) && s.Action != plan.ActionVerify {
		if ok, _, _ := r.allHold(s.Postconditions); ok {
			r.res.Skipped = append(r.res.Skipped, s.ID)
			return r.emit(stream.Record{Kind: stream.Skipped, Step: s.ID, Say: "already true on the system", NewDisk: newName})
		}
	}
	if why := r.superblocksCleared(s); why != "" {
		r.res.Skipped = append(r.res.Skipped, s.ID)
		return r.emit(stream.Record{Kind: stream.Skipped, Step: s.ID, Say: why, NewDisk: newName})
	}
	// Every step of a drill's run, in-process or not, is confined to its lab.
	if err := r.w.checkScope(r.p, s); err != nil {
		return r.refused(s, err)
	}
	if ok, c, found := r.allHold(s.Preconditions); !ok {
		err := &PreconditionError{Step: s.ID, Condition: c.Text, Found: found}
		return r.refused(s, err)
	}
	// The command comes from the step's typed operands, never from the plan file's argv
	// (CheckSteps refused a plan whose stored commands differ).
	argv, err := plan.Derive(r.w.sys.Host.Profile, r.p, s)
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
	if err := r.emit(stream.Record{Kind: stream.Started, Step: s.ID, Action: string(s.Action), Argv: argv, InProcess: inProcess, NewDisk: newName}); err != nil {
		return err
	}
	settled := false
	if err := r.do(ctx, s, argv); err != nil {
		var re *RefusedError
		var pe *PreconditionError
		if errors.As(err, &re) || errors.As(err, &pe) {
			return r.refused(s, err)
		}
		var wt *WaitTimeoutError
		if errors.As(err, &wt) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			// Not a failure: the step can be resumed.
			_ = r.emit(stream.Record{Kind: stream.Interrupted, Step: s.ID, Err: err})
			return err
		}
		var ee *host.ExitError
		if !errors.As(err, &ee) || !addsMember(s.Action) || r.settle(ctx, s) != nil {
			return r.failed(s, err)
		}
		// mdadm refused because the member is already in: udev's incremental assembly
		// (mdadm -I on the disk's add event) got there first. The step's result holds.
		_ = r.emit(stream.Record{Kind: stream.Raced, Level: stream.Warning, Step: s.ID, Err: err, Msg: "command failed, result holds",
			Say: fmt.Sprintf("%s exited %d (%s), but its result holds: the member was added by udev's incremental assembly meanwhile",
				argv[0], ee.Result.ExitCode, strings.TrimSpace(string(ee.Result.Stderr)))})
		settled = true
	}
	if !settled {
		if err := r.settle(ctx, s); err != nil {
			return r.failed(s, err)
		}
	}
	r.res.Ran = append(r.res.Ran, s.ID)
	return r.emit(stream.Record{Kind: stream.Done, Step: s.ID, NewDisk: newName})
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
	// md and udev show most results within tens of milliseconds; look again soon, then less
	// often, so a slow one costs few discoveries.
	pause := 25 * time.Millisecond
	for {
		// A wait's last look ended it, after its action: its first round here reuses it.
		if err := r.look(); err != nil {
			return err
		}
		ok, c, found := r.allHold(s.Postconditions)
		if ok {
			r.sawAfterAction()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after the step, %q does not hold: %s", c.Text, found)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(r.poll(s), pause)):
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}

func (r *run) refused(s plan.Step, err error) error {
	if jerr := r.emit(stream.Record{Kind: stream.Refused, Level: stream.Error, Step: s.ID, Err: err}); jerr != nil {
		return errors.Join(err, jerr)
	}
	return err
}

func (r *run) failed(s plan.Step, err error) error {
	rec := stream.Record{Kind: stream.Failed, Level: stream.Error, Step: s.ID, Err: err}
	var ee *host.ExitError
	if errors.As(err, &ee) {
		rec.ExitCode, rec.Stderr = ee.Result.ExitCode, string(ee.Result.Stderr)
	}
	if jerr := r.emit(rec); jerr != nil {
		return errors.Join(&StepFailedError{Step: s.ID, Err: err}, jerr)
	}
	return &StepFailedError{Step: s.ID, Err: err}
}

// addsMember reports whether an action puts a member into an array, which udev's incremental
// assembly may do first when the disk appears.
func addsMember(a plan.Action) bool {
	return a == plan.ActionAddMember || a == plan.ActionAddSpare || a == plan.ActionReAddMember
}
