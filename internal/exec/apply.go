package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/paths"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/progress"
	"github.com/raidswap/raidswap/internal/stream"
	"github.com/raidswap/raidswap/mdadm"
	"github.com/raidswap/raidswap/partition"
)

// Cloner copies the survivor's partition table onto the new disk, in-process (package
// partition). It re-checks that the target is not in use right before writing.
type Cloner interface {
	// add, when not nil, is a partition the clone adds beside the source's: the ESP the
	// failed disk alone had, remade on the new disk (plan.UEFITarget on the clone step).
	Clone(ctx context.Context, source, target string, wipe bool, add *partition.NewPartition) (Cloned, error)
	// Inspect refuses a new disk that holds data (unless wipe) or may hold the last copy of
	// an array this host knows: the same check Clone makes right before writing.
	Inspect(ctx context.Context, target string, wipe bool) error
}

// Cloned is what a clone did.
type Cloned struct {
	// Summary is the line for the person ("" for none).
	Summary string
	// Cleared says the clone zeroed the first and last MiB of every new partition, where md
	// keeps its superblocks of every version (partition.WriteReport.ClearedEnds).
	Cleared bool
}

// Options are what Apply acts through.
type Options struct {
	// Discover reads the live system; every check uses a fresh result.
	Discover func() (*discover.System, error)
	// MDStat, when set, reads /proc/mdstat alone: the rebuild wait follows the bars and
	// notices the end of a rebuild from it each second, and discovers the whole system only
	// every FullLookEvery and when mdstat says the rebuild may be over.
	MDStat func() ([]mdadm.MDStat, error)
	Runner host.Runner
	Cloner Cloner
	Speed  SpeedWriter
	// LEDs drives bay LEDs (locate, verify, led-off and resume steps); nil drives none and
	// says so.
	LEDs LEDDriver
	// Disks reads the disks for the boot steps' proofs (boot_bios.go); nil reads the live
	// devices under the discovered root.
	Disks DiskReader
	// Paths is where the journals, the lock and the survivor's boot code go (each empty
	// field is paths.Host's): the host's on a server, the lab's in a drill, a test's
	// temporary directory in a test.
	Paths paths.Paths
	// Key is this host's plan key; a plan it did not seal is refused.
	Key []byte
	// Lock, when set, is the raidswap lock the caller already holds (taken before anything
	// else, so a second raidswap is told so first); otherwise Apply takes it at Paths.Lock.
	Lock *Lock
	// Audit receives the JSON audit log (one line per record of the run's stream); nil
	// discards it.
	Audit io.Writer
	// Syslog is the local syslog socket the run's outcomes go to (stream.Syslog); "" sends
	// none.
	Syslog string
	// View shows progress to a person; nil shows nothing.
	View progress.View
	// Poll, when set, is how often every wait looks again (tests). Otherwise waits for a disk
	// to go or come look every DiskPoll, so the first --add follows the new disk within a
	// fraction of a second, and the rebuild wait every RebuildPoll.
	Poll time.Duration
	// Remind is how often a wait says it still waits, with the time so far (WaitRemind when
	// zero).
	Remind time.Duration
	// WaitTimeout bounds each wait step (pull, new disk, rebuild); zero waits until ctx ends.
	WaitTimeout time.Duration
	// SettleTimeout bounds how long a command's postconditions may take to show (10s when zero).
	SettleTimeout time.Duration
	// NewSerial, when set, names the new disk for a resumed run whose plan did not name one:
	// the operator swapped the disk an earlier run had chosen (resume --new).
	NewSerial string
	// AcceptSMART, when set, takes a new disk whose SMART reports bad sectors although
	// the plan does not accept it (resume --accept-new-disk-smart); the acceptance is
	// journalled.
	AcceptSMART bool
	// Scope, when set, confines the run to a drill's lab: every step that writes to, or names
	// an array with a member on, a device that is not one of the lab's drill disks is
	// refused right before it runs (scope.go), judged from the live sysfs.
	Scope *discover.Scope
	// Continuing says the caller ran this plan's earlier steps itself, in this session (the
	// wizard's second phase, after the pull): the run is not a resume, so it neither says
	// "resuming" nor lists the steps the first phase did as done in an earlier run.
	Continuing bool
	// ProgressShown says the caller has just shown which steps the journal has done and what
	// remains (resume's list): the run does not say "resuming" again nor list those steps as
	// skipped, one by one, after it.
	ProgressShown bool
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
	p *plan.Plan
	o Options
	j *journal.Journal
	// out is the run's stream: every record goes to the journal, the audit log, the view
	// and syslog through it (stream decides which keeps what).
	out   stream.Stream
	outMu sync.Mutex
	w     *world
	res   *Result
	// seen is when the read of the world that followed the last action began (look,
	// LookReuse); zero once a step's look has used it or discovered afresh, so it is
	// always zero while a step acts.
	seen time.Time
	// lookedAt is when the last discovery began.
	lookedAt time.Time
}

// Apply runs a plan, or resumes it when its journal shows an earlier run.
func Apply(ctx context.Context, p *plan.Plan, o Options) (*Result, error) {
	o.Paths = o.Paths.OrHost()
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
		if lock, err = AcquireLock(o.Paths.Lock); err != nil {
			return nil, err
		}
		defer lock.Release()
	}
	// The plan is untrusted input until its seal, its host and every step's command check out.
	if err := p.Verify(o.Key); err != nil {
		return nil, err
	}
	sys, err := o.Discover()
	if err != nil {
		return nil, fmt.Errorf("discovering the system: %w", err)
	}
	// Every program comes from the live system's distribution profile, never from the plan.
	if err := p.CheckSteps(sys.Host.Profile); err != nil {
		return nil, err
	}
	// Whose machine this is comes from the executor's own reading, never from its caller.
	if err := p.CheckHost(plan.Host{Hostname: sys.Host.Hostname, MachineID: sys.Host.MachineID}); err != nil {
		return nil, err
	}
	if inh, ok := o.Runner.(host.Inheritor); ok {
		o.Runner = inh.Inheriting(lock.f)
	}
	// What the executor runs besides the derived commands (efibootmgr -v, blkid, mount
	// for the ESP) takes the distribution's programs too.
	o.Runner = host.ProfileRunner{Runner: o.Runner, Profile: sys.Host.Profile}
	j, err := journal.Open(o.Paths.Journal, p.ID())
	if err != nil {
		return nil, err
	}
	defer j.Close()
	r := &run{p: p, o: o, j: j, res: &Result{Journal: j.File()}}
	r.wire(audit)
	if j.Finished() {
		r.say(fmt.Sprintf("plan %s already finished (journal %s)", p.ID(), j.File()))
		return r.res, nil
	}
	if j.Aborted() {
		return nil, &RefusedError{Reason: fmt.Sprintf("plan %s was aborted (journal %s): build a new plan", p.ID(), j.File())}
	}
	if text, at := j.DataIndex(noteSecondFailure); at >= 0 {
		return nil, &SecondFailureError{Resumed: true, Text: text}
	}
	resumed := len(j.Records) > 0
	if !resumed {
		// A fresh run: the system must be exactly what the plan was built on.
		if err := p.CheckFresh(sys); err != nil {
			_ = r.emit(stream.Record{Kind: stream.Stale, Level: stream.Warning, Err: err})
			return nil, err
		}
		var body bytes.Buffer
		if err := p.Write(&body); err != nil {
			return nil, err
		}
		if err := r.emit(stream.Record{Kind: stream.Plan, Plan: bytes.TrimSpace(body.Bytes()), Data: map[string]string{"journal": j.File()}}); err != nil {
			return nil, err
		}
	} else if !o.Continuing && !o.ProgressShown {
		_ = r.emit(stream.Record{Kind: stream.Resume, Say: fmt.Sprintf("resuming plan %s from its journal %s", p.ID(), j.File()), Msg: "resuming",
			Data: map[string]string{"journal": j.File()}})
	}
	r.w = &world{sys: sys, scope: o.Scope}
	if resumed {
		if err := r.followSurvivor(); err != nil {
			return r.res, err
		}
		p = r.p
	}
	if err := r.chooseNewDisk(); err != nil {
		return r.res, err
	}
	r.resumeLEDs(ctx)
	follower := &rebuildFollower{r: r}
	defer follower.stop()
	for _, s := range p.Steps {
		if err := ctx.Err(); err != nil {
			return r.res, err
		}
		if s.Action == plan.ActionAwaitRebuild {
			follower.stop()
		}
		if err := r.step(ctx, s); err != nil {
			return r.res, err
		}
		if addsMember(s.Action) || s.Action == plan.ActionReplaceMember {
			// The rebuild shows from the first member added, not only at await-rebuild.
			follower.start(ctx)
		}
		if o.StopAfter != "" && s.ID == o.StopAfter {
			return r.res, ErrStopped
		}
	}
	if err := r.emit(stream.Record{Kind: stream.Finished, Say: "done: every step of plan " + p.ID() + " holds", Msg: "plan finished"}); err != nil {
		return r.res, err
	}
	return r.res, nil
}
