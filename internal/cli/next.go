package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/drill"
	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/partition"
)

// Every end of a command that acts (replace, apply, resume, abort) says what to do next, in
// one line that starts with "Next:", success and failure alike. The rules are here, one
// place; status's own next step is discover.NextStep.

// nextAfterRun is what to do after a run that ended with err (nil: it finished). journal is
// the run's journal, "" when the run never began one (then nothing was changed); unproven
// lists the disks whose boot code the finished run could not prove.
func nextAfterRun(err error, journal string, unproven []string) string {
	var (
		second  *exec.SecondFailureError
		locked  *exec.LockedError
		stale   *plan.StaleError
		nothing *engine.NothingToResumeError
		jerr    *engine.JournalError
		pick    *plan.AmbiguousError
		wait    *exec.WaitTimeoutError
		refused *exec.RefusedError
		pre     *exec.PreconditionError
		prefuse *partition.RefusedError
		sig     *SignalError
		invalid *plan.InvalidError
		key     *engine.KeyError
	)
	switch {
	case err == nil && len(unproven) > 0:
		return "boot code not proven on " + strings.Join(unproven, "; ") +
			": boot that disk alone once (the other one pulled, or chosen in the firmware's boot menu); `raidswap status` shows the arrays"
	case err == nil:
		return "`raidswap status` shows the arrays redundant again and every disk's boot code"
	case errors.Is(err, exec.ErrStopped):
		return "`raidswap resume` continues the plan from the next step"
	case errors.As(err, &second):
		return "`raidswap status` shows what is left; `raidswap abort` closes this run, then replace the disk that just failed"
	case errors.As(err, &locked):
		return "let the other raidswap finish (`raidswap status` shows an unfinished run), then run this again"
	case errors.As(err, &nothing):
		return "`raidswap status` says whether a disk needs replacing"
	case errors.As(err, &jerr):
		return "`raidswap status` lists the unfinished runs; `raidswap abort` closes the newest"
	case errors.As(err, &sig), errors.Is(err, context.Canceled):
		if journal == "" {
			return "nothing was changed; run the same command again when ready"
		}
		return "`raidswap resume` continues from where this stopped; `raidswap status` shows the arrays"
	case errors.As(err, &wait):
		return "`raidswap resume` waits again from where this stopped; `raidswap abort` closes the run"
	case errors.As(err, &stale):
		return "the system changed since the plan was built: build a new one with `raidswap --plan` (or run `sudo raidswap`)"
	case errors.As(err, &pick):
		return "name the disk coming out with --failed SERIAL (`raidswap status` lists the disks)"
	case errors.As(err, &invalid), errors.As(err, &key):
		if journal != "" {
			return "this plan cannot run here: `raidswap abort` closes its run, then `raidswap --plan` builds one on this machine"
		}
		return "nothing was changed; `raidswap --plan` builds a plan on this machine"
	case journal == "":
		return "nothing was changed; `raidswap --plan` shows what raidswap would do, `raidswap status` the arrays"
	case errors.As(err, &refused), errors.As(err, &pre), errors.As(err, &prefuse):
		return "put right what the line above names, then `raidswap resume`; `raidswap abort` closes the run unfinished"
	}
	return fmt.Sprintf("the journal %s has the failed command's output; once the cause is fixed `raidswap resume` retries that step, `raidswap abort` closes the run", journal)
}

// nextAfterConfirm is what to do when the confirmation before a run did not go ahead;
// journal is the unfinished run's journal on a resume, "" otherwise.
func nextAfterConfirm(err error, journal string) string {
	switch {
	case isUsage(err):
		return "run it on a terminal to confirm by typing the serial, or add --yes"
	case journal == "":
		return "nothing was changed; run it again and type the serial printed on the disk's label"
	}
	return "nothing more was done; `raidswap resume` asks again, `raidswap abort` closes the run"
}

// isUsage: the command line, not the system, stopped the run (--yes missing, say).
func isUsage(err error) bool {
	var ec *ExitCodeError
	return errors.As(err, &ec) && ec.Code == ExitUsage
}

// nextAfterAbort is what to do after `raidswap abort`.
func nextAfterAbort(err error) string {
	var nothing *engine.NothingToResumeError
	var locked *exec.LockedError
	switch {
	case err == nil:
		return "`raidswap status` shows the arrays as they are now; `sudo raidswap` (or `raidswap --plan`) builds a new plan"
	case errors.As(err, &nothing):
		return "`raidswap status` says whether a disk needs replacing"
	case errors.As(err, &locked):
		return "let the other raidswap finish (`raidswap status` shows it), then abort again if need be"
	}
	return "`raidswap status` shows the arrays and the unfinished run; the journal is left as it was"
}

// unprovenBoot lists the plan's disks (survivor and new) whose boot code the live system does
// not show as ready to boot alone, and any disk whose boot code was installed by hand.
func unprovenBoot(p *plan.Plan, sys *discover.System, newSerial string) []string {
	var out []string
	for _, st := range p.Steps {
		if st.Action == plan.ActionBootByHand {
			return []string{"any disk (its GRUB commands were typed by hand)"}
		}
	}
	if sys == nil {
		return nil
	}
	for _, serial := range []string{p.Disks.Survivor.Serial, newSerial} {
		if serial == "" {
			continue
		}
		d := sys.DiskBySerial(serial)
		if d == nil || !d.Present || d.Boot == nil || d.Boot.State == "" || d.Boot.State == bootloader.BootOK {
			continue
		}
		line := d.Label() + " (" + string(d.Boot.State)
		if d.Boot.Reason != "" {
			line += ": " + d.Boot.Reason
		}
		out = append(out, line+")")
	}
	return out
}

// sayNext ends a command with its Next line: on w when it succeeded; after the error's own
// line on errOut when it failed, keeping the error's exit code.
func sayNext(w, errOut io.Writer, err error, next string) error {
	if err == nil {
		fmt.Fprintln(w, "Next: "+next)
		return nil
	}
	code := exitCode(err)
	var ec *ExitCodeError
	if errors.As(err, &ec) && ec.Err == nil && code == ExitOK {
		fmt.Fprintln(w, "Next: "+next)
		return nil
	}
	if !errors.As(err, &ec) || ec.Err != nil {
		fmt.Fprintln(errOut, "raidswap:", err)
	}
	fmt.Fprintln(errOut, "Next: "+next)
	return Silent(code)
}

// nextAfterDrill is what to do after a drill's score card: stopped says a signal ended it,
// all that every scenario ran.
func nextAfterDrill(cards drill.Cards, stopped, all bool) string {
	for _, c := range cards {
		if c.CleanupError != "" {
			return "`sudo raidswap drill --cleanup` removes what the drill could not (" + c.Scenario + "'s lab)"
		}
	}
	if stopped {
		return "`sudo raidswap drill --cleanup` removes what is left of the lab; run the drill again when ready"
	}
	for _, c := range cards {
		if c.Kept {
			return "look around the lab at " + c.Lab + ", then `sudo raidswap drill --cleanup` removes it"
		}
	}
	for _, c := range cards {
		if !c.Met() {
			return fmt.Sprintf("read %s's FAIL lines above; `sudo raidswap drill --scenario %s --keep` runs it again and leaves its lab to look at", c.Scenario, c.Scenario)
		}
	}
	if len(cards) == 0 {
		return "`sudo raidswap drill` runs the default scenario"
	}
	if !all {
		return "`sudo raidswap drill --scenario all` rehearses every case; on a real failure run `raidswap status`, then `sudo raidswap`"
	}
	return "on a real failure run `raidswap status`, then `sudo raidswap`: the same wizard as this drill"
}
