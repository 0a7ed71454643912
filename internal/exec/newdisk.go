package exec

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/stream"
)

// noteNewSerial is the journal note that records which disk is the new one.
const noteNewSerial = "new_serial"

// onNewDisk reports whether step s acts on the new disk.
func onNewDisk(s plan.Step) bool {
	_, ok := plan.ParsePlaceholder(s.Target.Device)
	return ok || s.Action == plan.ActionPartitionClone
}

// chooseNewDisk settles, at the start of a run, which disk is the new one: the plan's, the one
// an earlier run chose (journalled), or the one the operator names now (Options.NewSerial).
// When the disk an earlier run chose has gone before anything was written to it (it was
// refused, say too small, and swapped), the run waits for a new disk again.
func (r *run) chooseNewDisk() error {
	p := r.p
	chosen := p.Disks.New.Serial
	at := -1
	if v, i := r.j.DataIndex(noteNewSerial); i >= 0 {
		chosen, at = v, i
	}
	if named := r.o.NewSerial; named != "" && named != chosen {
		if p.Disks.New.Serial != "" {
			return &RefusedError{Serial: named, Reason: fmt.Sprintf("the plan names the new disk %s: build a new plan to use %s instead", p.Disks.New.Serial, named)}
		}
		for _, a := range r.w.sys.Arrays {
			for _, m := range a.Members {
				if m.Gone && r.planArray(a.UUID) {
					return &RefusedError{Serial: chosen, Reason: fmt.Sprintf("%s still lists a member whose device has gone (%s's, added earlier?): take it out first with `mdadm /dev/%s --fail detached --remove detached`, then resume --new %s",
						a.Name, orNone(chosen), a.Name, named)}
				}
			}
		}
		r.say(fmt.Sprintf("the new disk is now the one with serial %s (was %s)", named, orNone(chosen)))
		r.w.newSerial = named
		return r.emit(stream.Record{Kind: stream.Note, Data: map[string]string{noteNewSerial: named, "new_disk_named_by": "resume --new"}})
	}
	r.w.newSerial = chosen
	if chosen == "" || p.Disks.New.Serial != "" || r.w.newDisk() != nil {
		return nil
	}
	for _, rec := range r.j.Records[at+1:] {
		if rec.Event != journal.EventStarted {
			continue
		}
		if s, ok := p.Step(rec.Step); ok && onNewDisk(s) && s.Action != plan.ActionAwaitNewDisk && s.Action != plan.ActionCheckNewDisk {
			// Something was written to it: which disk is new is the operator's call.
			return nil
		}
	}
	r.say(fmt.Sprintf("the new disk %s chosen in an earlier run is not attached and nothing was written to it: waiting for a new disk again", chosen))
	r.w.newSerial = ""
	return r.emit(stream.Record{Kind: stream.Note, Data: map[string]string{noteNewSerial: "", "new_disk_gone": chosen}})
}

// planArray reports whether the plan changes the array with this UUID.
func (r *run) planArray(uuid string) bool {
	for _, s := range r.p.Steps {
		if s.Target.ArrayUUID == uuid && uuid != "" {
			return true
		}
	}
	return false
}

// awaitNewDisk waits for the new disk: by serial when the plan names it, else the one disk
// that appears which was not attached when the plan was built. It refuses the failed disk
// coming back under another name, and the survivor.
func (r *run) awaitNewDisk(ctx context.Context, s plan.Step) error {
	p := r.p
	want := p.Disks.New.Serial
	if want == "" {
		want = r.o.NewSerial
	}
	// The failed disk showing up now means it came back when it had vanished before the
	// plan was built, or the plan waited for its removal before this step; otherwise (a
	// copy of a working disk) it is simply still attached.
	cameBack := !p.Disks.Failed.Present
	for _, t := range p.Steps {
		if t.ID == s.ID {
			break
		}
		cameBack = cameBack || t.Action == plan.ActionAwaitRemoval
	}
	return r.wait(ctx, s, "the new disk", func() (bool, string, error) {
		if want != "" {
			r.w.newSerial = want
			if r.w.newDisk() != nil {
				return true, "", nil
			}
			return false, "no disk with serial " + want + " is attached", nil
		}
		if d := r.w.sys.DiskBySerial(p.Disks.Failed.Serial); cameBack && p.Disks.Failed.Serial != "" && d != nil && d.Present {
			// It was pulled (or had vanished): it has come back.
			return false, "", &RefusedError{Step: s.ID, Device: d.Name, Serial: d.Serial,
				Reason: fmt.Sprintf("it is the failed disk %s, back (now named %s); it is not a new disk: to return it to its arrays, build a re-add plan", d.Serial, d.Name)}
		}
		cands := NewDiskCandidates(p, r.w.sys)
		switch len(cands) {
		case 0:
			return false, "no disk has appeared", nil
		case 1:
			d := cands[0]
			r.w.newSerial = d.Serial
			r.say(fmt.Sprintf("new disk: %s", d.Label()))
			return true, "", r.note(s, map[string]string{noteNewSerial: d.Serial, "new_device": d.Name})
		default:
			var names []string
			for _, d := range cands {
				names = append(names, d.Label())
			}
			return false, "", &RefusedError{Step: s.ID, Reason: fmt.Sprintf("more than one new disk appeared (%s): name the new disk by serial", strings.Join(names, ", "))}
		}
	})
}

// NewDiskCandidates are the disks that may be a plan's new disk when the plan does not name
// it: attached, with a serial, neither the failed disk nor any disk attached when the plan
// was built. The run's wait takes the one candidate (several are refused), and resume
// confirms with it before the run has chosen (after a swap with the power off, the failed
// disk is gone and this is the disk on the desk's label).
func NewDiskCandidates(p *plan.Plan, sys *discover.System) []*discover.Disk {
	known := map[string]bool{}
	for _, k := range p.Disks.New.KnownSerials {
		known[k] = true
	}
	var out []*discover.Disk
	for i := range sys.Disks {
		d := &sys.Disks[i]
		if !d.Present || d.Serial == "" || d.Serial == p.Disks.Failed.Serial || known[d.Serial] {
			continue
		}
		out = append(out, d)
	}
	return out
}

// checkNewDisk checks the new disk against the plan: not the survivor or the failed disk,
// large enough, free, and blank unless wiping.
func (r *run) checkNewDisk(ctx context.Context, s plan.Step) error {
	p := r.p
	d := r.w.newDisk()
	if d == nil {
		return &RefusedError{Step: s.ID, Device: plan.NewDiskToken, Serial: r.w.newSerial, Reason: fmt.Sprintf(
			"the new disk %s is not attached: put it back, or continue with another disk (`raidswap resume --new SERIAL`), or close this run (`raidswap abort`)", orNone(r.w.newSerial))}
	}
	refuse := func(format string, a ...any) error {
		return &RefusedError{Step: s.ID, Device: "/dev/" + d.Name, Serial: d.Serial, Reason: fmt.Sprintf(format, a...)}
	}
	// The one rule for "may this disk be the new disk", the same plan.Build applied when the
	// disk was attached at plan time.
	err := plan.CheckNewDisk(d, p.Disks)
	var ne *plan.NewDiskError
	if errors.As(err, &ne) && ne.Rule == plan.NewDiskSMART && r.o.AcceptSMART {
		// The operator took this disk despite its SMART when resuming: journalled, then the
		// rule is applied again with the acceptance.
		if jerr := r.note(s, map[string]string{
			"new_disk_smart_accepted": d.Serial, "new_disk_smart_accepted_by": "resume --accept-new-disk-smart", "new_disk_smart": ne.Reason}); jerr != nil {
			return jerr
		}
		r.say(fmt.Sprintf("the new disk %s %s; taken anyway (--accept-new-disk-smart)", d.Label(), ne.Reason))
		disks := p.Disks
		disks.New.AcceptSMART = true
		err = plan.CheckNewDisk(d, disks)
	}
	if err != nil {
		if !errors.As(err, &ne) {
			return err
		}
		reason := ne.Sentence()
		switch ne.Rule {
		case plan.NewDiskTooSmall, plan.NewDiskHoldsData:
			reason += "; put a suitable disk in its place and `raidswap resume` waits for that one"
		case plan.NewDiskSMART:
			reason += "; put another disk in its place and `raidswap resume` waits for that one, or take this one with `raidswap resume --accept-new-disk-smart`"
		}
		return refuse("%s", reason)
	}
	if r.o.Cloner == nil {
		return errors.New("no partition cloner configured to inspect the new disk with")
	}
	// libblkid's probes, through package partition: the one rule for "this disk holds
	// something", and the last-copy guard.
	return r.o.Cloner.Inspect(ctx, "/dev/"+d.Name, p.Disks.New.Wipe)
}
