package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/raidswap/raidswap/internal/drill"
	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/paths"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/prompt"
	"github.com/raidswap/raidswap/internal/view"
	"github.com/raidswap/raidswap/partition"
)

func init() { register(newApplyCmd) }

// EngineOptions are the settings apply, replace, resume and abort share.
type EngineOptions struct {
	Yes bool
	// JournalDir and LockPath are where the journal and the lock live (tests move them).
	JournalDir string
	LockPath   string
	// WaitTimeout bounds each wait (pull, new disk, rebuild); zero waits until Ctrl-C.
	WaitTimeout time.Duration
	// StopAfter stops the run after a step (drills and tests of resume).
	StopAfter string
	Plain     bool
	// NewSerial names the new disk on a resume (resume --new).
	NewSerial string
	// AcceptNewDiskSMART takes a new disk whose SMART reports bad sectors on a resume.
	AcceptNewDiskSMART bool
	// DrillLab confines the command to a drill's lab (hidden: the drill's interrupted
	// scenario runs `raidswap replace` and `resume` in it).
	DrillLab string
}

// where is p with --journal-dir (the journal, and the audit log and backups beside it) and
// --lock applied.
func (e *EngineOptions) where(p paths.Paths) paths.Paths {
	if e.JournalDir != "" && e.JournalDir != p.Journal {
		p = p.WithJournal(e.JournalDir)
	}
	if e.LockPath != "" {
		p.Lock = e.LockPath
	}
	return p
}

func addEngineFlags(cmd *cobra.Command, e *EngineOptions) {
	fl := cmd.Flags()
	fl.BoolVar(&e.Yes, "yes", false, "do not ask for confirmation (required when not running interactively)")
	fl.StringVar(&e.JournalDir, "journal-dir", paths.Host().Journal, "where journals are kept")
	fl.StringVar(&e.LockPath, "lock", paths.Host().Lock, "the lock file that keeps two raidswaps apart")
	fl.DurationVar(&e.WaitTimeout, "wait-timeout", 0, "give up a wait (pull, new disk, rebuild) after this long; 0 waits until Ctrl-C")
	fl.StringVar(&e.StopAfter, "stop-after", "", "stop after the step with this ID (for drills and resume tests)")
	fl.BoolVar(&e.Plain, "plain", false, "print one line per event instead of progress bars")
	_ = fl.MarkHidden("stop-after")
	_ = fl.MarkHidden("journal-dir")
	_ = fl.MarkHidden("lock")
	fl.StringVar(&e.DrillLab, "drill-lab", "", "confine the run to the drill lab in `DIR`: its disks, journal, lock and key")
	_ = fl.MarkHidden("drill-lab")
}

// ApplyOptions are the inputs of `raidswap apply`.
type ApplyOptions struct {
	F        *Factory
	PlanFile string
	Engine   EngineOptions
}

func newApplyCmd(f *Factory) *cobra.Command {
	o := &ApplyOptions{F: f}
	cmd := &cobra.Command{
		Use:   "apply PLANFILE",
		Short: "Carry out a saved replacement plan (from `raidswap --plan --out FILE`)",
		Long: `apply runs a plan saved with 'raidswap --plan --out FILE'. It refuses a plan that was
edited by hand, built on another machine or by another plan format, and a plan that is
stale: it re-reads the system first and names whatever changed since the plan was built
(a disk serial, an array, a member's state).

Each step's preconditions are checked on a fresh reading of the system right before it
runs, every step is journalled under /var/lib/raidswap/journal, and an interrupted apply
continues with 'raidswap resume' (or by running apply again). Without a terminal, --yes is
required; with one, you confirm by typing the serial of the disk coming out.`,
		Example: `  raidswap --plan --failed WD-WCC4N1KPB002 --new WD-WX42D8 --out /root/swap.plan
  raidswap apply /root/swap.plan`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.PlanFile = args[0]
			return runApply(cmd.Context(), o)
		},
	}
	addEngineFlags(cmd, &o.Engine)
	return cmd
}

func runApply(ctx context.Context, o *ApplyOptions) error {
	refused := func(err error) error { return sayNext(o.F.IO.Out, o.F.IO.ErrOut, err, nextAfterRun(err, "", nil)) }
	env, lock, err := actingEnv(o.F, &o.Engine)
	if err != nil {
		return refused(err)
	}
	defer lock.Release()
	key, err := env.Key(true)
	if err != nil {
		return refused(engineError(err))
	}
	in, err := os.Open(o.PlanFile)
	if err != nil {
		return refused(WithCode(ExitUsage, err))
	}
	p, err := plan.Read(in, key)
	in.Close()
	if err != nil {
		return refused(engineError(err))
	}
	return applyPlan(ctx, o.F, env, p, &o.Engine, lock, "", nil)
}

// actingEnv is the first thing a command that acts does: the engine on the live system, and
// the lock, taken before anything else is checked or said so that a second raidswap is told
// another one is running.
func actingEnv(f *Factory, e *EngineOptions) (*engine.Env, *exec.Lock, error) {
	if !f.Live() {
		return nil, nil, WithCode(ExitUsage, errors.New("--root reads a capture; raidswap changes the live system only"))
	}
	env := f.Env(f.Root())
	env.Paths = e.where(env.Where())
	if e.DrillLab != "" {
		if err := drill.Confine(env, e.DrillLab); err != nil {
			return nil, nil, WithCode(ExitUsage, err)
		}
	}
	lock, err := env.Lock()
	if err != nil {
		return nil, nil, engineError(err)
	}
	return env, lock, nil
}

// applyPlan confirms (unless --yes) and runs a plan through the engine, under the lock the
// caller took, and ends with the Next line. journal is the unfinished run's journal on a
// resume ("" otherwise); resumed, on a resume, is the disk to confirm with (the caller
// already showed the plan, as resume's progress).
func applyPlan(ctx context.Context, f *Factory, env *engine.Env, p *plan.Plan, e *EngineOptions, lock *exec.Lock, journalPath string, resumed *confirmDisk) error {
	ctx, stop := stopOnSignals(ctx, f.IO.ErrOut, resumeHint)
	defer stop()
	if err := confirmPlan(f, p, e.Yes, resumed); err != nil {
		return sayNext(f.IO.Out, f.IO.ErrOut, err, nextAfterConfirm(err, journalPath))
	}
	run := view.NewRun(f.IO.Out, f.IO.Interactive && !e.Plain)
	var shownRun view.Run = run
	if f.IO.Interactive {
		// A manual step (GRUB 0.97's commands) asks the operator on the terminal; without
		// one the run stops there and says what to do.
		shownRun = confirmingRun{Run: run, p: f.Prompter()}
	}
	res, err := env.Apply(ctx, p, lock, shownRun, engine.RunOptions{WaitTimeout: e.WaitTimeout, StopAfter: e.StopAfter, NewSerial: e.NewSerial, AcceptSMART: e.AcceptNewDiskSMART,
		ProgressShown: resumed != nil && journalPath != ""})
	run.Close()
	if res != nil && res.Journal != "" {
		journalPath = res.Journal
	}
	if se := stoppedBy(ctx); se != nil && err != nil {
		return sayNext(f.IO.Out, f.IO.ErrOut, interruptedError(se), nextAfterRun(se, journalPath, nil))
	}
	if err != nil {
		return sayNext(f.IO.Out, f.IO.ErrOut, engineError(err), nextAfterRun(err, journalPath, nil))
	}
	fmt.Fprintf(f.IO.Out, "journal: %s\n", res.Journal)
	newSerial := p.Disks.New.Serial
	if recs, lerr := journal.Load(res.Journal); lerr == nil {
		newSerial = exec.ReadProgress(p, recs, "").NewSerial
	}
	sys, derr := env.Discover()
	if derr != nil {
		sys = nil
	}
	return sayNext(f.IO.Out, f.IO.ErrOut, nil, nextAfterRun(nil, res.Journal, unprovenBoot(p, sys, newSerial)))
}

func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

// confirmDisk is the disk a confirmation names: its serial (the operator types it, or its
// last 4 characters when Last4) or, without one, its kernel name; why says what it is.
type confirmDisk struct {
	Serial, Device, Why string
	Last4               bool
}

func (d confirmDisk) want() (answer, ask string) {
	switch {
	case d.Serial == "":
		return d.Device, fmt.Sprintf("the kernel name of %s (%s)", d.Why, d.Device)
	case d.Last4:
		return prompt.Last4(d.Serial), fmt.Sprintf("the last 4 characters of the serial of %s (%s)", d.Why, d.Serial)
	}
	return d.Serial, fmt.Sprintf("the serial of %s (%s)", d.Why, d.Serial)
}

// confirmPlan shows the plan (unless resumed, whose caller showed its progress) and has the
// operator type the serial of the disk coming out, or on a resume the last 4 characters of
// resumed's (the new disk, present); without a terminal, --yes stands for that.
func confirmPlan(f *Factory, p *plan.Plan, yes bool, resumed *confirmDisk) error {
	if yes {
		return nil
	}
	if !f.IO.Interactive {
		return WithCode(ExitUsage, errors.New("--yes required when not running interactively"))
	}
	d := confirmDisk{Serial: p.Disks.Failed.Serial, Device: p.Disks.Failed.Device, Why: "the disk coming out"}
	if resumed != nil {
		d = *resumed
	} else if err := view.PlanText(f.IO.Out, p); err != nil {
		return err
	}
	want, ask := d.want()
	q := fmt.Sprintf("\nThis changes the arrays and writes to the new disk. Type %s to go ahead: ", ask)
	if err := f.Prompter().Confirm(q, prompt.Want{Answer: want, Keep: keepSerials(p)}); err != nil {
		return WithCode(ExitRefused, err)
	}
	return nil
}

// engineError maps the engine's typed errors to exit codes.
func engineError(err error) error {
	var (
		stale    *plan.StaleError
		invalid  *plan.InvalidError
		input    *plan.InputError
		unsafe   *plan.UnsafeError
		pick     *plan.AmbiguousError
		refused  *exec.RefusedError
		pre      *exec.PreconditionError
		locked   *exec.LockedError
		prefuse  *partition.RefusedError
		wait     *exec.WaitTimeoutError
		cannot   *engine.CannotPlanError
		key      *engine.KeyError
		nothing  *engine.NothingToResumeError
		jerr     *engine.JournalError
		declined *prompt.DeclinedError
		second   *exec.SecondFailureError
	)
	switch {
	case errors.As(err, &second):
		return WithCode(ExitSecondFailure, err)
	case errors.As(err, &pick):
		return WithCode(ExitUsage, err)
	case errors.As(err, &stale), errors.As(err, &invalid), errors.As(err, &input), errors.As(err, &unsafe),
		errors.As(err, &refused), errors.As(err, &pre), errors.As(err, &locked), errors.As(err, &prefuse),
		errors.As(err, &cannot), errors.As(err, &key), errors.As(err, &nothing), errors.As(err, &jerr),
		errors.As(err, &declined):
		return WithCode(ExitRefused, err)
	case errors.Is(err, exec.ErrStopped):
		return WithCode(ExitOK, nil)
	case errors.As(err, &wait):
		return WithCode(ExitFailed, err)
	case errors.Is(err, context.Canceled):
		return WithCode(ExitFailed, errors.New("interrupted: anything already started (a rebuild) continues in the kernel; `raidswap watch` shows it and `raidswap resume` finishes the plan"))
	}
	return WithCode(ExitFailed, err)
}

// confirmingRun is a run view that asks the operator through the prompter (exec.Confirmer).
type confirmingRun struct {
	view.Run
	p prompt.Prompter
}

func (c confirmingRun) ConfirmTyped(question, want string) error {
	return c.p.Confirm(question, prompt.Want{Answer: want})
}

// keepSerials are the serials of the disks a plan must keep: its survivor.
func keepSerials(p *plan.Plan) []string {
	if p.Disks.Survivor.Serial == "" {
		return nil
	}
	return []string{p.Disks.Survivor.Serial}
}
