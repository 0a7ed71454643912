package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/prompt"
	"github.com/raidswap/raidswap/internal/view"
	"github.com/raidswap/raidswap/internal/wizard"
)

// ExitInterrupted is a session the operator stopped with Ctrl-C (128 + SIGINT).
const ExitInterrupted = 130

// WizardOptions are the inputs of `raidswap` with no command on a terminal.
type WizardOptions struct {
	F       *Factory
	Request RequestOptions
	// PlanOnly prints the plan the answers give and stops (raidswap --plan).
	PlanOnly bool
	Plain    bool
	// Cold: the chassis has no hot-swap bays (--cold); the wizard stops after the detach and
	// says how to swap the disk with the power off (exit ExitPowerOff).
	Cold   bool
	Engine EngineOptions
}

// noTerminal is the one line `raidswap` says without a terminal.
const noTerminal = "the interactive wizard needs a terminal; without one use `raidswap replace --yes` (with --failed SERIAL) to act, or `raidswap --plan` to see the plan"

func runWizard(ctx context.Context, o *WizardOptions) error {
	f := o.F
	if !f.IO.Interactive {
		fmt.Fprintln(f.IO.ErrOut, "raidswap: "+noTerminal)
		return Silent(ExitUsage)
	}
	ctx, stop := stopOnSignals(ctx, f.IO.ErrOut, resumeHint)
	defer stop()
	base, err := o.Request.request()
	if err != nil {
		return WithCode(ExitUsage, err)
	}
	plain := o.Plain || plainTerminal()
	prompter, enter := f.wizardPrompter(ctx, plain)
	d := wizard.Deps{Out: f.IO.Out, Width: terminalWidth(), Prompt: prompter, Enter: enter, Cold: o.Cold}
	live := f.Live()
	var env *engine.Env
	var lock *exec.Lock
	if live && !o.PlanOnly {
		if env, lock, err = actingEnv(f, &o.Engine); err != nil {
			return err
		}
		defer lock.Release()
		// An open journal is continued, not planned around (wizard_resume.go).
		f.SetPrompter(prompter)
		o.Engine.Plain = plain
		if ok, err := wizardUnfinished(ctx, f, env, lock, &o.Engine, d.Width); ok {
			return err
		}
	} else {
		root, cleanup, err := f.DiscoveryRoot()
		if err != nil {
			return WithCode(ExitFailed, err)
		}
		defer cleanup()
		env = f.Env(root)
		env.Paths = o.Engine.where(env.Where())
	}
	env.Notes = nil // the wizard says which disk it picked itself
	d.Discover = env.Discover
	if live {
		d.Locate = env.Locate
	}
	d.Plan = func(r plan.Request) (*plan.Plan, error) { return env.Plan(r, !o.PlanOnly && live) }
	d.AuditLog = env.Where().Audit
	d.Run = func(ctx context.Context, p *plan.Plan, ro engine.RunOptions) (*exec.Result, error) {
		ro.WaitTimeout = o.Engine.WaitTimeout
		run := view.NewRunWidth(f.IO.Out, !plain, d.Width)
		defer run.Close()
		return env.Apply(ctx, p, lock, run, ro)
	}
	planOnly := o.PlanOnly || !live
	_, err = wizard.Run(ctx, d, base, planOnly)
	err = wizardError(err)
	if se := stoppedBy(ctx); se != nil && err != nil {
		// Whatever the run was doing when the signal came, it ends as interrupted: the exit
		// code names the signal, the message says how to go on.
		var intr *wizard.InterruptedError
		if errors.As(err, &intr) {
			err = WithCode(se.ExitCode(), intr)
		} else {
			err = interruptedError(se)
		}
	}
	var ec *ExitCodeError
	if errors.As(err, &ec) && ec.Err != nil {
		// Said here, wrapped to the terminal, rather than as one long line by Run.
		fmt.Fprintln(f.IO.ErrOut, view.Wrap("raidswap: "+ec.Err.Error(), d.Width))
		return Silent(ec.Code)
	}
	return err
}

func wizardError(err error) error {
	var intr *wizard.InterruptedError
	var none *wizard.NothingFailedError
	var declined *prompt.DeclinedError
	var off *wizard.PowerOffError
	switch {
	case errors.As(err, &declined):
		return WithCode(ExitRefused, err)
	case err == nil:
		return nil
	case errors.As(err, &intr):
		return WithCode(ExitInterrupted, err)
	case errors.As(err, &none):
		return WithCode(ExitOK, err)
	case errors.As(err, &off):
		return WithCode(ExitPowerOff, err)
	}
	return engineError(err)
}

// plainTerminal: a terminal that gets the line prompter with no escape codes: TERM=dumb or
// unset, or the terminal types a serial console's getty sets.
func plainTerminal() bool {
	switch os.Getenv("TERM") {
	case "", "dumb", "vt100", "vt102", "vt220", "unknown":
		return true
	}
	return false
}

// terminalWidth is the width of the terminal on stdout (COLUMNS, else 80, when unknown).
func terminalWidth() int {
	if ws, err := unix.IoctlGetWinsize(int(os.Stdout.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
		return int(ws.Col)
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 80
}
