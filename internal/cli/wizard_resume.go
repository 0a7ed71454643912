package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/view"
)

// wizardUnfinished is what `raidswap` on a terminal does when a replacement's journal is
// still open (after Ctrl-C, a dropped ssh session, a power cut, or on purpose after the
// detach of a swap with the power off): it continues that run the way `raidswap resume`
// does — the journal's done and remaining steps, a confirmation against a disk that is
// present, the same executor — rather than plan a second replacement beside it. ok is false
// when there is no unfinished run.
func wizardUnfinished(ctx context.Context, f *Factory, env *engine.Env, lock *exec.Lock, e *EngineOptions, width int) (ok bool, err error) {
	p, path, err := env.Unfinished()
	var nothing *engine.NothingToResumeError
	if errors.As(err, &nothing) {
		return false, nil
	}
	refused := func(err error) error { return sayNext(f.IO.Out, f.IO.ErrOut, err, nextAfterRun(err, "", nil)) }
	if err != nil {
		return true, refused(engineError(err))
	}
	fmt.Fprint(f.IO.Out, view.Wrap(fmt.Sprintf("An unfinished replacement is open: %s coming out, plan %s. raidswap continues it from its journal.\n\n",
		p.Disks.Failed.Label(), p.ID()), width))
	confirm, err := showResume(f.IO.Out, env, p, path, "")
	if err != nil {
		return true, refused(WithCode(ExitFailed, err))
	}
	return true, applyPlan(ctx, f, env, p, e, lock, path, confirm)
}
