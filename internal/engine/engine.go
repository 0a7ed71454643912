// Package engine is the composition root every front end calls: `raidswap --plan`, `plan`,
// `replace`, `apply`, `resume`, `abort`, and the wizard and the drill to come. It wires the
// Root, the Runner, the plan key, the journal, the lock, the partition cloner and md's speed
// limits into the flow
//
//	discover (read-only) -> plan.Build (pure) -> exec.Apply (re-discovers, checks, runs)
//
// and owns no rule of its own: what may be written is exec's and partition's, what a plan
// holds is plan's. A front end gathers answers and shows results; it never issues a command.
package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/paths"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plankey"
	"github.com/raidswap/raidswap/internal/progress"
	"github.com/raidswap/raidswap/internal/stream"
	"github.com/raidswap/raidswap/mdadm"
)

// Env is what the engine acts through. The zero values of the paths are the system's.
type Env struct {
	// Root is what discovery reads: the live "/" or an unpacked capture.
	Root *host.Root
	// Runner runs every external command (it refuses all of them under a capture).
	Runner host.Runner
	// Now is the clock plans are stamped with.
	Now func() time.Time
	// Version is raidswap's, recorded in plans.
	Version string
	// Paths is where this raidswap keeps its journal, lock, plan key, audit log, backups and
	// inventory: each empty field is paths.Host's; a drill's are its lab's (paths.Lab).
	Paths paths.Paths
	// Notes receives what the engine tells the operator on the side (which disk it picked).
	Notes io.Writer
	// Cloner and Speed default to package partition's in-process clone and /proc/sys/dev/raid.
	Cloner exec.Cloner
	Speed  exec.SpeedWriter
	// Scope, when set, confines everything to a drill's lab: discovery sees only its disks
	// and arrays (discover.Scope), and the executor refuses any step outside it.
	Scope *discover.Scope
	// Profile is the distribution profile (host.DetectProfile): what this system calls and
	// where it keeps the tools raidswap runs. Resolved once, through Root, on first use and
	// handed to every discovery, so plan.Build and the executor derive each command's
	// program from it; set it only to test.
	Profile     *host.Profile
	profileOnce sync.Once
}

// CannotPlanError is a system raidswap cannot plan for at all (no md driver, nothing to read).
type CannotPlanError struct{ Reason string }

func (e *CannotPlanError) Error() string { return "cannot plan: " + e.Reason }

// KeyError is a plan key raidswap cannot use (not root, a key file anyone can read).
type KeyError struct{ Err error }

func (e *KeyError) Error() string {
	return fmt.Sprintf("the plan key: %v (plans are sealed and applied as root)", e.Err)
}
func (e *KeyError) Unwrap() error { return e.Err }

// Where is the Env's Paths with every empty field filled from paths.Host.
func (e *Env) Where() paths.Paths { return e.Paths.OrHost() }

func (e *Env) notes() io.Writer {
	if e.Notes == nil {
		return io.Discard
	}
	return e.Notes
}

// Lock takes the raidswap lock. Every front end that writes takes it first, so a second
// raidswap is told that another one runs before anything else is checked.
func (e *Env) Lock() (*exec.Lock, error) {
	return exec.AcquireLock(e.Where().Lock)
}

// Key is the host's plan key. A plan that is only to be read (printed, or built from a
// capture) may do without it: with need false, a key this user cannot read gives an
// ephemeral one, which seals a plan no apply accepts.
func (e *Env) Key(need bool) ([]byte, error) {
	key, err := plankey.LoadOrCreate(e.Where().Key)
	if err != nil {
		if need {
			return nil, &KeyError{Err: err}
		}
		return plankey.Ephemeral(), nil
	}
	return key, nil
}

// Discover reads the system through the Root (a drill's lab only, under a Scope).
func (e *Env) Discover() (*discover.System, error) {
	o := discover.DefaultOptions(e.Root)
	o.Scope = e.Scope
	e.profileOnce.Do(func() {
		if e.Profile == nil {
			prof := host.DetectProfile(e.Root)
			e.Profile = &prof
		}
	})
	o.Profile = e.Profile
	o.Paths = e.Paths
	return discover.DiscoverWith(e.Root, o)
}

// leds drives bay LEDs; a drill's disks sit in no bay, so under a scope nothing is driven.
func (e *Env) leds() exec.LEDDriver {
	if e.Scope != nil {
		return nil
	}
	return exec.SysLEDs{Root: e.Root, Runner: e.Runner}
}

// Locate lights (on) or turns off the plan's bay LED l outside a run: the wizard lights the
// failed disk's bay while the operator reads its label, before anything runs. Lighting is
// re-checked on a fresh discovery (plan.LEDHolds), as the locate step does. Nothing is
// journalled: the caller turns it off on every path.
func (e *Env) Locate(ctx context.Context, l *plan.LED, on bool) error {
	leds := e.leds()
	if leds == nil {
		return errors.New("a drill's disks sit in no bay")
	}
	sys, err := e.Discover()
	if err != nil {
		return err
	}
	if on {
		if err := plan.LEDHolds(sys, l); err != nil {
			return err
		}
	}
	return exec.DriveLED(ctx, leds, sys, l, on)
}

// Plan discovers the system and builds the plan for a request; a request without a failed
// disk gets the one disk that failed (plan.PickFailed). A plan that will be applied or saved
// needs the host's plan key (needKey).
func (e *Env) Plan(req plan.Request, needKey bool) (*plan.Plan, error) {
	sys, err := e.Discover()
	if err != nil {
		return nil, err
	}
	return e.PlanFor(sys, req, needKey)
}

// PlanFor is Plan on a system already discovered (a caller that shows the system too).
func (e *Env) PlanFor(sys *discover.System, req plan.Request, needKey bool) (*plan.Plan, error) {
	var err error
	if sys.Verdict == discover.Unknown && len(sys.Arrays) == 0 {
		return nil, &CannotPlanError{Reason: sys.Summary}
	}
	if e.Root.IsLive() && sys.Host.MachineID == "" {
		return nil, &CannotPlanError{Reason: "this machine has no machine-id (/etc/machine-id), so a plan cannot be bound to it"}
	}
	if req.Failed == "" {
		if req.Failed, err = plan.PickFailed(sys); err != nil {
			return nil, err
		}
		fmt.Fprintf(e.notes(), "the disk coming out: %s (the only one that failed; --failed names another)\n", req.Failed)
	}
	key, err := e.Key(needKey && e.Root.IsLive())
	if err != nil {
		return nil, err
	}
	req.Firmware = sys.Host.Firmware
	if req.Firmware == "" {
		req.Firmware = plan.FirmwareBIOS
	}
	req.Swap, req.SwapNotes = plan.SwapFor(sys, req.Failed)
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	return plan.Build(sys, req, plan.Options{Version: e.Version, Now: now(), Key: key})
}

// RunOptions are the settings of one run.
type RunOptions struct {
	// WaitTimeout bounds each wait (pull, new disk, rebuild); zero waits until ctx ends.
	WaitTimeout time.Duration
	// StopAfter stops the run after the step with this ID (drills, resume tests).
	StopAfter string
	// NewSerial names the new disk on a resume (resume --new).
	NewSerial string
	// AcceptSMART takes a new disk whose SMART reports bad sectors on a resume (resume
	// --accept-new-disk-smart).
	AcceptSMART bool
	// Continuing: the caller ran the plan's earlier steps itself in this session (the
	// wizard's second phase); the run is not announced as a resume (exec.Options.Continuing).
	Continuing bool
	// ProgressShown: the caller showed the journal's done and remaining steps (resume): the
	// run does not repeat them (exec.Options.ProgressShown).
	ProgressShown bool
}

// Apply runs a plan through the executor under the lock the caller holds, showing progress
// in view.
func (e *Env) Apply(ctx context.Context, p *plan.Plan, lock *exec.Lock, view progress.View, ro RunOptions) (*exec.Result, error) {
	if !e.Root.IsLive() {
		return nil, errors.New("a plan is applied to the live system only, not to a capture")
	}
	key, err := e.Key(true)
	if err != nil {
		return nil, err
	}
	where := e.Where()
	if err := os.MkdirAll(where.Journal, 0o700); err != nil {
		return nil, fmt.Errorf("journal directory: %w", err)
	}
	audit, err := journal.OpenAudit(where.Audit)
	if err != nil {
		return nil, err
	}
	defer audit.Close()
	cloner := e.Cloner
	if cloner == nil {
		cloner = PartitionCloner{Root: e.Root, Runner: e.Runner, BackupDir: where.Backups}
	}
	speed := e.Speed
	if speed == nil {
		speed = exec.ProcSpeed{Root: e.Root}
	}
	// A replacement's outcomes go to the system's syslog too; a drill's stay in its lab.
	syslog := stream.DefaultSyslog
	if e.Scope != nil {
		syslog = ""
	}
	return exec.Apply(ctx, p, exec.Options{
		Discover:      e.Discover,
		MDStat:        func() ([]mdadm.MDStat, error) { return mdadm.ReadMDStat(e.Root) },
		Runner:        e.Runner,
		Cloner:        cloner,
		Speed:         speed,
		LEDs:          e.leds(),
		Paths:         where,
		Lock:          lock,
		Key:           key,
		Audit:         audit,
		Syslog:        syslog,
		View:          view,
		WaitTimeout:   ro.WaitTimeout,
		StopAfter:     ro.StopAfter,
		NewSerial:     ro.NewSerial,
		AcceptSMART:   ro.AcceptSMART,
		Continuing:    ro.Continuing,
		ProgressShown: ro.ProgressShown,
		Scope:         e.Scope,
	})
}

// NothingToResumeError says there is no unfinished run.
type NothingToResumeError struct{ Dir string }

func (e *NothingToResumeError) Error() string {
	return fmt.Sprintf("nothing to resume: no unfinished journal in %s", e.Dir)
}

// JournalError is an unfinished journal raidswap cannot continue from.
type JournalError struct{ Reason string }

func (e *JournalError) Error() string { return e.Reason }

// Unfinished reads the plan of the one unfinished run, and its journal's path.
func (e *Env) Unfinished() (*plan.Plan, string, error) {
	dir := e.Where().Journal
	open, err := journal.Unfinished(dir)
	if err != nil {
		return nil, "", err
	}
	switch len(open) {
	case 0:
		return nil, "", &NothingToResumeError{Dir: dir}
	case 1:
	default:
		return nil, "", &JournalError{Reason: fmt.Sprintf("more than one unfinished journal in %s (%v): raidswap runs one replacement at a time; `raidswap abort` closes the newest", dir, open)}
	}
	recs, err := journal.Load(open[0])
	if err != nil {
		return nil, "", err
	}
	if len(recs) == 0 || recs[0].Event != journal.EventPlan || len(recs[0].Plan) == 0 {
		return nil, "", &JournalError{Reason: open[0] + ": the journal does not start with its plan"}
	}
	key, err := e.Key(true)
	if err != nil {
		return nil, "", err
	}
	p, err := plan.Read(bytes.NewReader(recs[0].Plan), key)
	if err != nil {
		return nil, "", err
	}
	return p, open[0], nil
}

// Abort closes the unfinished run journalled at path (see exec.Abort), under the caller's lock.
func (e *Env) Abort(path string) ([]string, error) {
	speed := e.Speed
	if speed == nil {
		speed = exec.ProcSpeed{Root: e.Root}
	}
	if l := e.leds(); l != nil {
		return exec.Abort(path, speed, l)
	}
	return exec.Abort(path, speed)
}
