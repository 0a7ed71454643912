package wizard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/exec"
	"github.com/raidswap/raidswap/internal/human"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/prompt"
	"github.com/raidswap/raidswap/internal/view"
)

// Prompter is prompt.Prompter, named here for the wizard's and the drill's fields.
type Prompter = prompt.Prompter

// Deps are what the wizard acts through.
type Deps struct {
	Out io.Writer
	// Width is the terminal's width; the wizard's text is wrapped to it (0: not wrapped).
	Width  int
	Prompt Prompter
	// Discover reads the system (read-only).
	Discover func() (*discover.System, error)
	// Plan builds the plan for a request through the engine.
	Plan func(plan.Request) (*plan.Plan, error)
	// Locate lights (on) or turns off a plan's bay LED outside a run (engine.Env.Locate): the
	// failed disk's bay blinks while the operator reads its label. Nil: no LED is lit before
	// the question (the plan's locate step still lights it).
	Locate func(ctx context.Context, l *plan.LED, on bool) error
	// Run applies the plan through the executor (engine.Apply), showing its own progress.
	Run func(ctx context.Context, p *plan.Plan, ro engine.RunOptions) (*exec.Result, error)
	// Poll is how often the pull and the insertion are looked for (1s when zero).
	Poll time.Duration
	// Enter delivers a line the operator typed while the wizard waits (nil: none is read).
	Enter <-chan string
	// Now is the clock of the summary's "time taken".
	Now func() time.Time
	// AuditLog is the audit log's path, for the summary.
	AuditLog string
	// Cold: the chassis has no hot-swap bays (raidswap --cold); the session stops after
	// phase 1 and says how to swap the disk with the power off (cold.go).
	Cold bool
}

// Outcome is what a session did.
type Outcome struct {
	Plan    *plan.Plan
	Journal string
	// Answers counts what the operator typed or chose.
	Answers int
	// NewSerial is the new disk taken.
	NewSerial string
}

// InterruptedError is a session the operator stopped. After the detach, the run is in
// its journal and `raidswap resume` continues it.
type InterruptedError struct {
	Detached bool
	Journal  string
}

func (e *InterruptedError) Error() string {
	if !e.Detached {
		return "interrupted: nothing was changed"
	}
	j := ""
	if e.Journal != "" {
		j = " (journal " + e.Journal + ")"
	}
	return "interrupted after the failed disk was taken out of its arrays" + j + ": `raidswap resume` continues from where this stopped, `raidswap status` shows the arrays"
}

// NothingFailedError is a system on which no disk needs replacing.
type NothingFailedError struct{ Summary string }

func (e *NothingFailedError) Error() string {
	return "no disk has failed (" + e.Summary + "): nothing to replace. A working disk that SMART says is failing is replaced with: raidswap replace --replace --failed SERIAL --new SERIAL"
}

type session struct {
	d       Deps
	ctx     context.Context
	answers int
	start   time.Time
}

func (s *session) printf(format string, a ...any) {
	fmt.Fprint(s.d.Out, view.Wrap(fmt.Sprintf(format, a...), s.d.Width))
}

// counted prompts count every answer, and turn Ctrl-C into a clean stop.
func (s *session) confirm(q string, w prompt.Want) error {
	s.answers++
	return s.d.Prompt.Confirm(view.Wrap(q, s.d.Width), w)
}

func (s *session) selectOne(q string, opts []string, def int) (int, error) {
	s.answers++
	return s.d.Prompt.Select(view.Wrap(q, s.d.Width), opts, def)
}

// Run holds the session for base (the request from the command line: --failed, --new,
// --wipe, ...). With planOnly it prints the plan the answers give and stops.
func Run(ctx context.Context, d Deps, base plan.Request, planOnly bool) (*Outcome, error) {
	if d.Poll == 0 {
		d.Poll = time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &session{d: d, ctx: ctx, start: d.Now()}
	out := &Outcome{}
	sys, err := d.Discover()
	if err != nil {
		return out, err
	}
	view.WizardShow(d.Out, sys, d.Width)
	req := base
	if req.Failed == "" {
		if req.Failed, err = s.pickFailed(sys); err != nil {
			out.Answers = s.answers
			return out, err
		}
	}
	p, err := d.Plan(req)
	if err != nil && !req.Wipe {
		// A new disk named up front that holds data: erased only if the operator says so.
		var held *plan.NewDiskError
		if errors.As(err, &held) && held.Rule == plan.NewDiskHoldsData {
			wipe, werr := s.askWipe(held)
			if werr != nil {
				out.Answers = s.answers
				return out, werr
			}
			if wipe {
				req.Wipe = true
				p, err = d.Plan(req)
			}
		}
	}
	if err != nil {
		out.Answers = s.answers
		return out, err
	}
	out.Plan = p
	if planOnly {
		out.Answers = s.answers
		return out, view.PlanText(d.Out, p)
	}
	if one, _ := phases(p); d.Cold && len(one) == 0 {
		// Nothing to take out of the arrays: the swap with the power off comes first.
		out.Answers = s.answers
		return out, s.powerOff(p, "")
	}
	err = s.replace(sys, p, base.New, out)
	out.Answers = s.answers
	return out, err
}

// askWipe tells the operator that the new disk holds data and asks whether to erase it
// (the --wipe of `raidswap replace`); the default is no.
func (s *session) askWipe(e *plan.NewDiskError) (bool, error) {
	what, _, _ := strings.Cut(e.Reason, ";")
	s.printf("\nThe new disk /dev/%s (serial %s) %s: an old partition table or md superblock from another machine.\n", e.Device, e.Serial, what)
	s.answers++
	q := fmt.Sprintf("Erase everything on the new disk with serial %s (its partition table, md superblocks and file systems) and use it?", e.Serial)
	return s.d.Prompt.YesNo(view.Wrap(q, s.d.Width), false)
}

// pickFailed is the disk coming out: the one that failed, or the operator's choice among
// those that did. The survivor is never offered: only failed, partially failed and vanished
// disks are candidates.
func (s *session) pickFailed(sys *discover.System) (string, error) {
	picked, err := plan.PickFailed(sys)
	if err == nil {
		d := failedDisk(sys, picked)
		s.printf("\nThe disk coming out: %s, the only one that failed.\n", d)
		return picked, nil
	}
	var amb *plan.AmbiguousError
	if !errors.As(err, &amb) {
		return "", err
	}
	var keys, labels []string
	for _, d := range sys.Disks {
		switch d.Verdict {
		case discover.DiskFailed, discover.DiskPartiallyFailed, discover.DiskVanished:
			key := d.Serial
			if key == "" {
				key = d.Name
			}
			keys = append(keys, key)
			labels = append(labels, fmt.Sprintf("%s, %s", d.Label(), strings.ReplaceAll(string(d.Verdict), "_", " ")))
		}
	}
	if len(keys) == 0 {
		return "", &NothingFailedError{Summary: sys.Summary}
	}
	i, err := s.selectOne("\nSeveral disks have failed; raidswap replaces one at a time. Which one comes out?", labels, 0)
	if err != nil {
		return "", err
	}
	return keys[i], nil
}

func failedDisk(sys *discover.System, key string) string {
	for _, d := range sys.Disks {
		if d.Serial == key || (d.Serial == "" && d.Name == key) {
			return d.Label()
		}
	}
	return "serial " + key
}

// phases splits the plan where the operator's hands are needed: phase 1 ends before the
// first wait for the pull or the new disk. A phase 1 of nothing but the preflight check (a
// disk already gone) is no phase: the preflight runs first in phase 2 (and again in every
// run).
func phases(p *plan.Plan) (one, two []plan.Step) {
	for i, st := range p.Steps {
		if st.Action == plan.ActionAwaitRemoval || st.Action == plan.ActionAwaitNewDisk {
			for _, o := range p.Steps[:i] {
				if o.Action != plan.ActionPreflight {
					return p.Steps[:i], p.Steps[i:]
				}
			}
			return nil, p.Steps
		}
	}
	return nil, p.Steps
}

// last4 is what the operator types to confirm: the serial's last 4 characters (the whole
// serial when shorter), or the kernel name of a disk without a serial.
func last4(serial, device string) string {
	if serial == "" {
		return device
	}
	return prompt.Last4(serial)
}

// keep are the serials of the disks that must stay: the plan's survivor.
func keep(p *plan.Plan) []string {
	if p.Disks.Survivor.Serial == "" {
		return nil
	}
	return []string{p.Disks.Survivor.Serial}
}

func (s *session) replace(sys *discover.System, p *plan.Plan, wantNew string, out *Outcome) error {
	f := p.Disks.Failed
	one, two := phases(p)
	detached := false
	if len(one) > 0 {
		s.printf("\nPhase 1: take %s out of its arrays and light its bay (no partition table or data is written).\n", f.Label())
		s.showSteps(p, one, 0, "")
		q := fmt.Sprintf("\nFind the disk with serial %s on its label (t prints a ticket for remote hands).\nType its last 4 characters to go ahead: ", f.Serial)
		if f.Serial == "" {
			q = fmt.Sprintf("\nThe disk coming out has no serial raidswap knows (t prints a ticket for remote hands).\nTo go ahead, type its kernel name (%s): ", f.Device)
		}
		unlight := s.lightBay(locateLED(one))
		err := s.confirm(q, prompt.Want{Answer: last4(f.Serial, f.Device), Keep: keep(p), Asides: []prompt.Aside{s.ticketKey(p)}})
		unlight()
		if err != nil {
			return s.stopped(err, false, "")
		}
		res, err := s.d.Run(s.ctx, p, engine.RunOptions{StopAfter: one[len(one)-1].ID})
		if res != nil {
			out.Journal = res.Journal
		}
		if err != nil && !errors.Is(err, exec.ErrStopped) {
			return s.stopped(err, res != nil && len(res.Ran) > 0, out.Journal)
		}
		detached = true
		if s.d.Cold {
			return s.powerOff(p, out.Journal)
		}
	}
	if err := s.awaitPull(p); err != nil {
		return s.stopped(err, detached, out.Journal)
	}
	newDisk, err := s.awaitNew(p, wantNew)
	if err != nil {
		return s.stopped(err, detached, out.Journal)
	}
	out.NewSerial = newDisk.Serial
	s.printf("\n%s\n", phaseTwoIntro(two, p.Disks.Survivor.Serial, newDisk.Label()))
	s.showSteps(p, two, len(one), newDisk.Name)
	q := fmt.Sprintf("\nThe new disk's serial is %s.\nType its last 4 characters to write to it: ", newDisk.Serial)
	if err := s.confirm(q, prompt.Want{Answer: last4(newDisk.Serial, newDisk.Name), Keep: keep(p)}); err != nil {
		return s.stopped(err, detached, out.Journal)
	}
	// Phase 1 ran in this session: phase 2 continues it, it does not resume it.
	ro := engine.RunOptions{Continuing: detached}
	if p.Disks.New.Serial == "" {
		ro.NewSerial = newDisk.Serial
	}
	res, err := s.d.Run(s.ctx, p, ro)
	if res != nil && res.Journal != "" {
		out.Journal = res.Journal
	}
	if err != nil {
		return s.stopped(err, true, out.Journal)
	}
	after, derr := s.d.Discover()
	if derr != nil {
		return derr
	}
	view.WizardSummary(s.d.Out, s.d.Width, p, newDisk, after, out.Journal, s.d.AuditLog, s.d.Now().Sub(s.start))
	return nil
}

// locateLED is the failed disk's bay LED that the steps' locate step lights, nil when there
// is none (no LED known, or the LED marks the survivor's bay for a vanished disk).
func locateLED(steps []plan.Step) *plan.LED {
	for _, st := range steps {
		if st.Action == plan.ActionLocate && st.Target.LED != nil && st.Target.LED.Whose == plan.LEDFailed && !st.Target.LED.Remembered {
			return st.Target.LED
		}
	}
	return nil
}

// lightBay lights l while the operator reads the label, and returns what turns it off again:
// the caller calls it on every path (answer, refusal, error, Ctrl-C). The locate step of the
// run lights it again for the pull.
func (s *session) lightBay(l *plan.LED) (off func()) {
	if l == nil || s.d.Locate == nil {
		return func() {}
	}
	if err := s.d.Locate(s.ctx, l, true); err != nil {
		s.printf("\nCould not light the locate LED of %s: %v. Find the disk by the serial on its label.\n", l.Place(), err)
		return func() {}
	}
	s.printf("\nThe locate LED of %s is blinking now: the disk to find is in that bay.\n", l.Place())
	return func() {
		// Ctrl-C has ended s.ctx; the LED goes off all the same.
		if err := s.d.Locate(context.WithoutCancel(s.ctx), l, false); err != nil {
			s.printf("Could not turn off the locate LED of %s: %v.\n", l.Place(), err)
		}
	}
}

// ticketKey is the pull question's `t`: it prints what `raidswap ticket` prints, for remote
// hands, from a fresh look at the system, and the question is asked again.
func (s *session) ticketKey(p *plan.Plan) prompt.Aside {
	return prompt.Aside{Keys: []string{"t", "ticket"}, Do: func(out io.Writer) error {
		sys, err := s.d.Discover()
		if err != nil {
			return err
		}
		fmt.Fprintln(out)
		return view.Ticket(out, p, sys, view.TicketOptions{Host: sys.Host.Hostname, Now: s.d.Now(), Cold: s.d.Cold})
	}}
}

// stopped turns Ctrl-C (at a prompt or during a run) into an InterruptedError that says
// whether anything was changed and how to go on.
func (s *session) stopped(err error, detached bool, journal string) error {
	if errors.Is(err, prompt.ErrInterrupted) || errors.Is(err, context.Canceled) {
		return &InterruptedError{Detached: detached, Journal: journal}
	}
	var de *prompt.DeclinedError
	if errors.As(err, &de) && detached {
		return &prompt.DeclinedError{Typed: de.Typed, Keep: de.Keep, Detached: true}
	}
	return err
}

// showSteps lists steps for the operator: what each does in words (view.StepTitle), and the
// command it runs with the new disk's real name (newName, "" before it is chosen) in place
// of the placeholders. Step ids stay in --plan and the journal.
func (s *session) showSteps(p *plan.Plan, steps []plan.Step, from int, newName string) {
	for i, st := range steps {
		mark := " "
		if st.Destructive {
			mark = "!"
		}
		line := fmt.Sprintf("  %s %2d. %s", mark, from+i+1, view.StepTitle(p, st, newName))
		if len(st.Argv) > 0 && !st.InProcess {
			argv := st.Argv
			if newName != "" {
				if exp, err := plan.Expand(argv, newName); err == nil {
					argv = exp
				}
			}
			line += ": " + plan.Command(argv)
		}
		s.printf("%s\n", line)
	}
}

// wait polls until done says so; a line the operator types makes it look at once, after
// typed (when set) has heard it.
func (s *session) wait(done func() (bool, error), typed func(line string)) error {
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case <-s.ctx.Done():
			return s.ctx.Err()
		case <-time.After(s.d.Poll):
		case l, open := <-s.d.Enter:
			if !open {
				s.d.Enter = nil
			} else if typed != nil {
				typed(l)
			}
		}
	}
}

func (s *session) awaitPull(p *plan.Plan) error {
	f := p.Disks.Failed
	sys, err := s.d.Discover()
	if err != nil {
		return err
	}
	if f.Serial == "" || sys.DiskBySerial(f.Serial) == nil {
		return nil
	}
	bay := ""
	if d := sys.DiskBySerial(f.Serial); d.Bay != nil {
		bay = d.Bay.Label() + ", LED blinking"
	} else if f.Bay != "" {
		bay = f.Bay
	}
	if bay != "" {
		bay = " (" + bay + ")"
	}
	s.printf("\nPull the disk with serial %s%s now. raidswap sees it go by itself; no need to press Enter.\n", f.Serial, bay)
	var typed func(string)
	if s.d.Enter != nil {
		// Lines are read during the wait only by the line prompter.
		s.printf("(t and Enter prints a ticket for remote hands.)\n")
		ticket := s.ticketKey(p)
		typed = func(l string) {
			if ticket.Matches(l) {
				if err := ticket.Do(s.d.Out); err != nil {
					s.printf("could not print the ticket: %v\n", err)
				}
			}
		}
	}
	err = s.wait(func() (bool, error) {
		sys, err := s.d.Discover()
		if err != nil {
			return false, err
		}
		return sys.DiskBySerial(f.Serial) == nil, nil
	}, typed)
	if err != nil {
		return err
	}
	s.printf("%s is out.\n", f.Label())
	return nil
}

// awaitNew waits for the new disk and shows its identity and checks: the one named with
// --new, or the disk that appears and was not attached when the plan was built. A disk the
// checks refuse is said once and not taken; several acceptable ones are the operator's pick.
func (s *session) awaitNew(p *plan.Plan, want string) (*discover.Disk, error) {
	known := map[string]bool{}
	for _, k := range p.Disks.New.KnownSerials {
		known[k] = true
	}
	s.printf("\nInsert the new disk (at least %s) in the empty bay. raidswap sees it arrive.\n", human.Bytes(p.Disks.New.MinSizeBytes))
	said := map[string]bool{}
	var ok []discover.Disk
	err := s.wait(func() (bool, error) {
		sys, err := s.d.Discover()
		if err != nil {
			return false, err
		}
		ok = ok[:0]
		for _, d := range sys.Disks {
			if !d.Present || (want != "" && d.Serial != want) || (want == "" && known[d.Serial] && d.Serial != "") {
				continue
			}
			if want == "" && d.Serial == "" && knownName(sys, p, d.Name) {
				continue
			}
			cerr := plan.CheckNewDisk(&d, p.Disks)
			key := d.Name + "/" + d.Serial
			if !said[key] {
				said[key] = true
				s.showNewDisk(sys, p, d, cerr)
			}
			if cerr == nil {
				ok = append(ok, d)
			}
		}
		return len(ok) > 0, nil
	}, nil)
	if err != nil {
		return nil, err
	}
	if len(ok) == 1 {
		return &ok[0], nil
	}
	var labels []string
	for _, d := range ok {
		labels = append(labels, fmt.Sprintf("%s, %s, %s", d.Label(), orDash(d.Model), human.Bytes(d.SizeBytes)))
	}
	i, err := s.selectOne("\nSeveral new disks appeared. Which one replaces the failed disk?", labels, 0)
	if err != nil {
		return nil, err
	}
	return &ok[i], nil
}

// knownName: a disk without a serial whose kernel name was attached when the plan was built.
func knownName(sys *discover.System, p *plan.Plan, name string) bool {
	return name == p.Disks.Survivor.Device || name == p.Disks.Failed.Device
}

func (s *session) showNewDisk(sys *discover.System, p *plan.Plan, d discover.Disk, cerr error) {
	s.printf("\nNew disk: %s\n", d.Label())
	s.printf("  model %s, %s, sectors %d/%d (logical/physical)%s\n", orDash(d.Model), human.Bytes(d.SizeBytes),
		d.LogicalSectorSize, d.PhysicalSectorSize, bayText(d))
	if id := identityText(d); id != "" {
		s.printf("  %s\n", id)
	}
	need := p.Disks.New.MinSizeBytes
	mark := "ok"
	if d.SizeBytes < need {
		mark = "TOO SMALL"
	}
	s.printf("  size: %s against %s needed for the survivor's layout (%s): %s\n", human.Bytes(d.SizeBytes), human.Bytes(need), arraysNeed(sys, p), mark)
	switch {
	case len(d.Partitions) == 0:
		s.printf("  existing data: none (no partitions)\n")
	default:
		s.printf("  existing data: partitions %s\n", strings.Join(d.Partitions, ", "))
	}
	if d.SMART != nil {
		s.printf("  SMART: %s\n", d.SMART.Summary())
	} else {
		s.printf("  SMART: not read\n")
	}
	if cerr != nil {
		s.printf("  NOT TAKEN: %v\n  Swap it for another disk, or press Ctrl-C (`raidswap resume` continues later).\n", cerr)
		return
	}
	s.printf("  checks: ok\n")
}

// arraysNeed names each array the new disk joins with its member size.
func arraysNeed(sys *discover.System, p *plan.Plan) string {
	var parts []string
	seen := map[string]bool{}
	for _, st := range p.Steps {
		if st.Target.Array == "" || seen[st.Target.Array] {
			continue
		}
		if st.Action != plan.ActionAddMember && st.Action != plan.ActionAddSpare && st.Action != plan.ActionReplaceMember {
			continue
		}
		seen[st.Target.Array] = true
		if a := sys.Array(st.Target.Array); a != nil {
			parts = append(parts, fmt.Sprintf("%s %s", a.Name, human.Bytes(uint64(a.SizeKiB)*1024)))
		}
	}
	if len(parts) == 0 {
		return "no array"
	}
	return strings.Join(parts, ", ")
}

func bayText(d discover.Disk) string {
	if d.Bay == nil {
		if d.ByPath != "" {
			return ", at " + d.ByPath
		}
		return ""
	}
	return ", bay " + d.Bay.Label()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// identityText is what the bus says of the disk (transport, SCSI address, firmware), as far as
// discovery read it.
func identityText(d discover.Disk) string {
	var parts []string
	if d.Transport != "" {
		parts = append(parts, "bus "+d.Transport)
	}
	if d.HCTL != "" {
		parts = append(parts, "HCTL "+d.HCTL)
	}
	if d.Firmware != "" {
		parts = append(parts, "firmware "+d.Firmware)
	}
	return strings.Join(parts, ", ")
}

// phaseTwoIntro says what phase 2's steps do to which disk, from the steps themselves: a
// whole-disk member gets no partition table, a plan with no boot code installs none, and the
// survivor is named only when a step writes its boot code.
func phaseTwoIntro(two []plan.Step, survivor, newDisk string) string {
	var partition, boot, survBoot bool
	for _, st := range two {
		switch st.Action {
		case plan.ActionPartitionClone:
			partition = true
		case plan.ActionBootloader:
			if st.Target.Device != "" {
				boot = true
				survBoot = survBoot || st.Target.Serial == survivor && survivor != ""
			}
		case plan.ActionESPFormat, plan.ActionESPSync, plan.ActionESPInstall, plan.ActionEFIEntry:
			boot = true
		case plan.ActionESPFallback:
			boot, survBoot = true, true
		}
	}
	what := []string{"add " + newDisk + " to the arrays"}
	if partition {
		what = []string{"partition " + newDisk, "add it to the arrays"}
	}
	if boot {
		what = append(what, "install the boot code")
	}
	where := "This writes to the new disk only."
	if survBoot {
		where = "This writes to the new disk only (and the survivor's boot code)."
	}
	return "Phase 2: " + strings.Join(what, ", ") + ". " + where
}
