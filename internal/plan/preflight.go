package plan

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
)

// Programs are the programs the plan's command steps run (not its in-process steps), in the
// order the plan first runs them, each derived with the distribution profile prof, as apply
// runs them.
func (p *Plan) Programs(prof host.Profile) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, s := range p.Steps {
		argv, err := Derive(prof, p, s)
		if err != nil {
			return nil, err
		}
		if len(argv) == 0 || InProcessAction(s.Action, s.Target) || seen[argv[0]] {
			continue
		}
		seen[argv[0]] = true
		out = append(out, argv[0])
	}
	return out, nil
}

// MissingProgram is a program the plan runs that the system does not have (as an
// executable file), with the package that ships it on this distribution.
type MissingProgram struct {
	Program, Package string
	Family           host.Family
}

// Refusal is the one line that refuses a run for it.
func (m MissingProgram) Refusal() string {
	pkg := m.Package
	if pkg == "" {
		pkg = "the package that ships it"
	}
	return fmt.Sprintf("%s, which this plan runs, does not exist or is not executable: install %s (%s family) and run raidswap again", m.Program, pkg, m.Family)
}

// preflightStep is the plan's first step when it runs any command: it names every program
// the plan runs, found with the system's profile, and those not found now.
func preflightStep(p *Plan, prof host.Profile) (*Step, error) {
	progs, err := p.Programs(prof)
	if err != nil || len(progs) == 0 {
		return nil, err
	}
	reason := "check that every program this plan runs exists and is executable: " + strings.Join(progs, ", ") + " ("
	if prof.OS.Name != "" {
		reason += prof.OS.Name + ", "
	}
	fam := prof.Family
	if fam == "" {
		fam = host.FamilyUnknown
	}
	reason += fmt.Sprintf("%s family); it runs before any step that writes, so no run stops half way for a missing program, and again on every resume", fam)
	var missing []string
	for _, prog := range progs {
		if prof.Live && !prof.Found(prog) {
			missing = append(missing, MissingProgram{Program: prog, Package: prof.Package(prog), Family: fam}.Refusal())
		}
	}
	if len(missing) > 0 {
		reason += ". Not found now: " + strings.Join(missing, "; ")
	}
	return &Step{ID: "preflight", Action: ActionPreflight, Reason: reason, Undo: "none needed: it writes nothing"}, nil
}
