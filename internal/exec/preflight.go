package exec

import (
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/stream"
)

// preflight refuses the run when a program the plan runs is not an executable file on the
// live system: the programs come from the live distribution profile (the same Derive every
// step runs through), never from the plan file, and are looked at through the Root. It
// writes nothing and is the plan's first step, so a missing grub2-install stops the run
// before anything was changed, not after the rebuild.
func (r *run) preflight(s plan.Step) error {
	prof := r.w.sys.Host.Profile
	if !prof.Live {
		// A profile not read from the running system (a capture, a test's fixture) cannot
		// tell a program missing.
		return nil
	}
	progs, err := r.p.Programs(prof)
	if err != nil {
		return &RefusedError{Step: s.ID, Reason: err.Error()}
	}
	root := host.NewRoot(r.w.sys.Root)
	for _, prog := range progs {
		if !root.Executable(prog) {
			m := plan.MissingProgram{Program: prog, Package: prof.Package(prog), Family: prof.Family}
			return &RefusedError{Step: s.ID, Reason: m.Refusal()}
		}
	}
	return r.emit(stream.Record{Kind: stream.Did, Name: "preflight", Step: s.ID, Msg: "every program found", Lists: map[string][]string{"programs": progs}})
}
