package exec

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/human"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/stream"
	"github.com/raidswap/raidswap/partition"
)

// resolve fills the new-disk placeholders from the new disk's serial.
func (r *run) resolve(argv []string) ([]string, error) {
	name := ""
	if d := r.w.newDisk(); d != nil {
		name = d.Name
	}
	return plan.Expand(argv, name)
}

// do performs one step.
func (r *run) do(ctx context.Context, s plan.Step, argv []string) error {
	switch s.Action {
	case plan.ActionLocate:
		return r.locate(ctx, s)
	case plan.ActionLEDOff:
		r.ledOff(ctx, s.ID, s.Target.LED, "led-off")
		return nil
	case plan.ActionAwaitRemoval:
		f := r.p.Disks.Failed
		return r.wait(ctx, s, "the failed disk to be pulled", func() (bool, string, error) {
			if d := r.w.sys.DiskBySerial(f.Serial); d != nil && d.Present && d.Name != f.Device {
				// Pulled and put back before we looked: it is not gone, and not new.
				return false, "", &RefusedError{Step: s.ID, Device: d.Name, Serial: d.Serial,
					Reason: fmt.Sprintf("it is the failed disk %s, back (now named %s): pull it and insert the new disk", d.Serial, d.Name)}
			}
			ok, _, found := r.allHold(s.Postconditions)
			return ok, found, nil
		})
	case plan.ActionAwaitNewDisk:
		return r.awaitNewDisk(ctx, s)
	case plan.ActionCheckNewDisk:
		return r.checkNewDisk(ctx, s)
	case plan.ActionPartitionClone:
		d := r.w.newDisk()
		if err := r.w.checkSafety(r.p, s); err != nil {
			return err
		}
		if r.o.Cloner == nil {
			return errors.New("no partition cloner configured")
		}
		src := r.p.Disks.Survivor
		// The source is found by serial too: its name may have changed.
		sd := r.w.sys.DiskBySerial(src.Serial)
		if sd == nil || !sd.Present {
			return &RefusedError{Step: s.ID, Device: src.Device, Serial: src.Serial, Reason: "the survivor is not attached"}
		}
		from, to := "/dev/"+sd.Name, "/dev/"+d.Name
		var add *partition.NewPartition
		if u := s.Target.UEFI; u != nil {
			// The failed disk's ESP, remade beside the survivor's partitions.
			add = partition.ESP(u.Part, u.SizeBytes)
		}
		c, err := r.o.Cloner.Clone(ctx, from, to, r.p.Disks.New.Wipe, add)
		if err != nil {
			return err
		}
		return r.emit(stream.Record{Kind: stream.Note, Name: "clone", Step: s.ID, Say: c.Summary, Msg: "partition clone",
			Data: map[string]string{"clone_from": from, "clone_to": to, "wipe": strconv.FormatBool(r.p.Disks.New.Wipe),
				noteClonedCleared: strconv.FormatBool(c.Cleared), noteClonedSerial: d.Serial}})
	case plan.ActionAwaitRebuild:
		return r.awaitRebuild(ctx, s)
	case plan.ActionVerify:
		if ok, c, found := r.allHold(s.Postconditions); !ok {
			return fmt.Errorf("verification failed: %q does not hold: %s", c.Text, found)
		}
		r.ledOff(ctx, s.ID, s.Target.LED, "verify")
		return nil
	case plan.ActionBootloader:
		if len(argv) == 0 {
			r.say(s.Reason)
			return nil
		}
		return r.bootloaderStep(ctx, s, argv)
	case plan.ActionESPFallback, plan.ActionESPSync, plan.ActionESPInstall:
		if err := r.w.checkSafety(r.p, s); err != nil {
			return err
		}
		return r.doUEFI(ctx, s, argv)
	case plan.ActionESPFormat, plan.ActionEFIEntry, plan.ActionEFIBootOrder, plan.ActionVerifyUEFI:
		return r.doUEFI(ctx, s, argv)
	case plan.ActionMountBoot, plan.ActionUnmountBoot:
		return r.mountBootStep(ctx, s, argv, s.Action == plan.ActionMountBoot)
	case plan.ActionDebconfDevices:
		return r.debconfStep(ctx, s, argv)
	case plan.ActionBootByHand:
		return r.bootByHandStep(s)
	case plan.ActionPreflight:
		return r.preflight(s)
	case plan.ActionRaiseSpeed:
		return r.raiseSpeed(s)
	case plan.ActionRestoreSpeed:
		return r.restoreSpeed(s)
	case plan.ActionAddMember, plan.ActionAddSpare, plan.ActionReplaceMember,
		plan.ActionSwapOff, plan.ActionDetach, plan.ActionZeroSuperblock,
		plan.ActionRemoveReplaced, plan.ActionReAddMember, plan.ActionMkswap, plan.ActionSwapOn:
		return r.command(ctx, s, argv)
	default:
		return fmt.Errorf("unreachable: action %q is unknown to this raidswap", s.Action)
	}
}

// command runs a step's command.
func (r *run) command(ctx context.Context, s plan.Step, argv []string) error {
	_, err := r.output(ctx, s, argv)
	return err
}

// output runs argv through the Runner and records it, like every command.
func (r *run) output(ctx context.Context, s plan.Step, argv []string) (host.Result, error) {
	res, err := r.o.Runner.Run(ctx, argv...)
	rec := stream.Record{Kind: stream.Command, Step: s.ID, Argv: argv, ExitCode: res.ExitCode, Took: res.Duration,
		Stdout: string(res.Stdout), Stderr: string(res.Stderr), Err: err}
	if err != nil {
		rec.Level = stream.Error
	}
	_ = r.emit(rec)
	return res, err
}

// waiting tells the person what a wait waits for.
func (r *run) waiting(s plan.Step, what string) {
	_ = r.emit(stream.Record{Kind: stream.Waiting, Step: s.ID, Say: what})
}

// wait polls until ready reports true, the wait times out, or ctx ends. Before each look
// after the first, lookNow (when given) says whether a full discovery and ready are due;
// when it says no, the wait sleeps another poll.
func (r *run) wait(ctx context.Context, s plan.Step, what string, ready func() (bool, string, error), lookNow ...func() bool) error {
	var deadline time.Time
	if r.o.WaitTimeout > 0 {
		deadline = time.Now().Add(r.o.WaitTimeout)
	}
	said := false
	start := time.Now()
	remind := r.o.Remind
	if remind <= 0 {
		remind = WaitRemind
	}
	last := start
	for {
		ok, status, err := ready()
		if err != nil {
			return err
		}
		if ok {
			r.sawAfterAction()
			return nil
		}
		switch {
		case !said:
			r.waiting(s, "waiting for "+what)
			said = true
		case time.Since(last) >= remind:
			// Every wait says how long it has waited: a person at a console, or reading a
			// log later, sees a wait that moves from one that hangs.
			last = time.Now()
			r.waiting(s, fmt.Sprintf("still waiting for %s: %s so far", what, human.Duration(last.Sub(start))))
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return &WaitTimeoutError{Step: s.ID, Waiting: what + " (" + status + ")"}
		}
		for due := false; !due; {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(r.poll(s)):
			}
			due = len(lookNow) == 0 || lookNow[0]() || (!deadline.IsZero() && time.Now().After(deadline))
		}
		if err := r.refresh(); err != nil {
			return err
		}
	}
}

// How often the waits look again: a disk's coming or going is one sysfs change that the next
// look sees, and discovery of a server's few disks costs milliseconds; the rebuild wait only
// moves progress bars.
const (
	DiskPoll    = 200 * time.Millisecond
	RebuildPoll = time.Second
	// WaitRemind is how often a wait says it still waits.
	WaitRemind = time.Minute
)

func (r *run) poll(s plan.Step) time.Duration {
	switch {
	case r.o.Poll > 0:
		return r.o.Poll
	case s.Action == plan.ActionAwaitRemoval || s.Action == plan.ActionAwaitNewDisk:
		return DiskPoll
	}
	return RebuildPoll
}
