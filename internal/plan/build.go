package plan

import (
	"fmt"
	"sort"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/mdadm"
)

// DefaultSpeedKiB is the rebuild speed durations assume when no rebuild is running to measure:
// md's default speed_limit_max is 200000 KiB/s and a busy or rotating disk does about half.
const DefaultSpeedKiB = 100000

// Options are what Build needs besides the system and the request.
type Options struct {
	Version string
	Now     time.Time
	// Key seals the plan (the host's plan key, internal/plankey).
	Key []byte
}

// builder holds what Build has resolved.
type builder struct {
	sys      *discover.System
	req      Request
	failed   *discover.Disk
	survivor *discover.Disk
	newDisk  *discover.Disk // nil until attached
	arrays   []arrayRole    // arrays of the failed disk, smallest first
	steps    []Step
	notes    []string
	// err is the first error a step builder met (an unreachable decision).
	err error
}

// arrayRole is one array the failed disk belongs to.
type arrayRole struct {
	a *discover.Array
	// failedDev is the failed disk's member in the array (vdb2), "" when md no longer lists
	// it (vanished and dropped, or removed already).
	failedDev   string
	failedState discover.MemberState
	failedGone  bool
	// part is the partition number the array uses on the survivor's layout; 0 when whole.
	part int
	// whole: the array's members are whole disks (no partition table, wholedisk.go).
	whole bool
	// survivorDev is the survivor's in_sync member.
	survivorDev string
	// needed: the array cannot lose the failed disk's in_sync members (the redundancy model
	// says removing them stops it), so they are copied with --replace or the plan refused.
	needed bool
	// othersLost is how many lost slots of the array are on other disks: the plan leaves
	// the array degraded by that many.
	othersLost int
	// leftover: the failed disk's member is a faulty leftover of an array that is whole
	// without it (a spare took over): the new disk becomes its new spare.
	leftover bool
}

// Build compiles a replacement plan. Errors are *InputError (bad request) or *UnsafeError
// (an array that has FAILED, or one that removing the disk would stop); nothing is written
// either way.
func Build(sys *discover.System, req Request, o Options) (*Plan, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	b := &builder{sys: sys, req: req}
	if err := b.resolveFailed(); err != nil {
		return nil, err
	}
	if err := b.resolveArrays(); err != nil {
		return nil, err
	}
	if err := b.resolveNew(); err != nil {
		return nil, err
	}
	replace := false
	if req.Mode == ReplaceFailed {
		var err error
		if replace, err = b.keepRunning(); err != nil {
			return nil, err
		}
	}
	b.staysDegradedNotes()
	switch req.Mode {
	case ReplaceFailed:
		if replace {
			b.buildReplaceWorking()
		} else {
			b.buildReplaceFailed()
		}
	case ReplaceWorking:
		b.buildReplaceWorking()
	case ReAdd:
		b.buildReAdd()
	default:
		return nil, fmt.Errorf("unreachable: mode %q passed validation", req.Mode)
	}
	if b.err != nil {
		return nil, b.err
	}
	b.speedSteps()
	b.smartNotes()
	p := &Plan{
		Format: FormatVersion, RaidswapVersion: o.Version, CreatedAt: o.Now.UTC().Truncate(time.Second),
		Host: Host{Hostname: sys.Host.Hostname, MachineID: sys.Host.MachineID}, Request: req, Steps: b.steps, Notes: append(b.notes, req.SwapNotes...),
		Disks: Disks{Failed: ref(b.failed), Survivor: ref(b.survivor), New: b.newRef()}, RebuildsFrom: b.sources(), Exposure: b.exposure(),
	}
	// Every command comes from Derive, the function apply checks the plan against, with the
	// programs of the system's distribution profile.
	// The preflight step, first, names the programs the other steps run.
	prof := sys.Host.Profile
	pre, err := preflightStep(p, prof)
	if err != nil {
		return nil, fmt.Errorf("unreachable: the plan's own step does not derive: %w", err)
	}
	if pre != nil {
		p.Steps = append([]Step{*pre}, p.Steps...)
	}
	for i := range p.Steps {
		s := &p.Steps[i]
		s.ID = fmt.Sprintf("%02d-%s", i+1, s.ID)
		argv, err := Derive(prof, p, *s)
		if err != nil {
			return nil, fmt.Errorf("unreachable: the plan's own step does not derive: %w", err)
		}
		s.Argv, s.InProcess = argv, InProcessAction(s.Action, s.Target)
	}
	p.SpeedKiB, p.SpeedSource = measuredSpeed(sys)
	for i := range p.Steps {
		if p.Steps[i].Action == ActionAwaitRebuild {
			p.Steps[i].EstimateSeconds = b.rebuildKiB() / p.SpeedKiB
		}
	}
	p.Observed = Observe(sys, p.boundSerials()...)
	p.Fingerprint = Fingerprint(p.Observed)
	if err := p.Seal(o.Key); err != nil {
		return nil, err
	}
	return p, nil
}

// The rebuild wait's bound on starting a stalled recovery: measured in the VM, md sometimes
// leaves a degraded array holding its new spare with no recovery thread (after an mdadm
// killed mid-add, or udev's incremental assembly racing the add); asking once helps.
const (
	RecoverAfterSeconds = 3
	RecoverTimes        = 3
)

// speedSteps raise md's rebuild speed limits right before the first member goes in (md
// throttles a recovery to speed_limit_min while later steps do I/O on the same disks) and
// restore them after the rebuild wait, when the request asks for a rebuild speed.
func (b *builder) speedSteps() {
	want := b.req.RebuildSpeedKiB
	if want <= 0 {
		return
	}
	var out []Step
	raised := false
	for _, s := range b.steps {
		switch s.Action {
		case ActionAddMember, ActionAddSpare, ActionReplaceMember, ActionReAddMember:
			if !raised {
				raised = true
				out = append(out, Step{ID: "raise-speed-limits", Action: ActionRaiseSpeed, Destructive: true, Target: Target{SpeedKiB: want},
					Reason: fmt.Sprintf("raise /proc/sys/dev/raid/speed_limit_min to %d KiB/s (and speed_limit_max, if lower: md never goes faster) for the rebuild; the old values are journalled first", want),
					Undo:   "the restore-speed-limits step, `raidswap abort`, or sysctl with the journalled speed_limit_min_was / speed_limit_max_was"})
			}
		}
		out = append(out, s)
		if s.Action == ActionAwaitRebuild && raised {
			out = append(out, Step{ID: "restore-speed-limits", Action: ActionRestoreSpeed, Destructive: true,
				Reason: "write back the speed limits journalled before the rebuild"})
		}
	}
	b.steps = out
}

func ref(d *discover.Disk) DiskRef {
	if d == nil {
		return DiskRef{}
	}
	return DiskRef{Device: d.Name, Serial: d.Serial, Model: d.Model, SizeBytes: d.SizeBytes, Bay: bayText(d), Present: d.Present}
}

func (b *builder) newRef() NewDisk {
	n := NewDisk{Wipe: b.req.Wipe, AcceptSMART: b.req.AcceptNewDiskSMART, KnownSerials: []string{}}
	n.MinSizeBytes, n.MinSizeFrom = b.minNewSize()
	if b.req.Mode == ReAdd {
		n.Serial, n.Device = b.failed.Serial, b.failed.Name
	}
	if b.newDisk != nil {
		n.Serial, n.Device = b.newDisk.Serial, b.newDisk.Name
	} else if b.req.New != "" {
		n.Serial = b.req.New
	}
	for _, d := range b.sys.Disks {
		if d.Present && d.Serial != "" {
			n.KnownSerials = append(n.KnownSerials, d.Serial)
		}
	}
	sort.Strings(n.KnownSerials)
	return n
}

func (b *builder) add(s Step) { b.steps = append(b.steps, s) }

// newLabel names the new disk in reasons.
func (b *builder) newLabel() string {
	switch {
	case b.newDisk != nil:
		return fmt.Sprintf("the new disk (serial %s, now %s)", b.newDisk.Serial, b.newDisk.Name)
	case b.req.New != "":
		return fmt.Sprintf("the new disk (serial %s)", b.req.New)
	}
	return "the new disk"
}

func (b *builder) buildReplaceFailed() {
	b.swapOffSteps()
	for _, r := range b.arrays {
		b.detachStep(r)
	}
	b.locateStep()
	if b.failed.Present {
		b.awaitRemovalStep()
	}
	b.newDiskSteps()
	for _, r := range b.arrays {
		b.add(b.addStep(r))
	}
	b.swapSteps()
	b.bootSteps()
	b.rebuildSteps(false)
}

func (b *builder) buildReplaceWorking() {
	b.newDiskSteps()
	for _, r := range b.arrays {
		if r.failedDev == "" || r.failedState != discover.MemberInSync {
			// Nothing to copy from in this array: rebuild from the survivor instead.
			b.notes = append(b.notes, fmt.Sprintf("%s has no in_sync member on %s: it is rebuilt from the survivor instead of copied", r.a.Name, b.failed.Label()))
			if r.failedDev != "" {
				b.detachStep(r)
			}
			b.add(b.addStep(r))
			continue
		}
		if r.recoverFirst() {
			// md would take the new member for the array's empty slot, not as the copy
			// --replace needs: let it, and take the failed disk's member out after.
			b.add(b.addStep(r))
			continue
		}
		b.replaceSteps(r)
	}
	b.rebuildSteps(true)
	for _, r := range b.arrays {
		switch {
		case r.recoverFirst():
			b.detachStep(r)
		case r.failedDev != "" && r.failedState == discover.MemberInSync:
			b.removeReplacedStep(r)
		}
	}
	b.swapOffSteps()
	b.swapSteps()
	b.bootSteps()
	b.add(b.verifyStep())
	b.locateStep()
	b.awaitRemovalStep()
	b.ledOffStep()
}

func (b *builder) buildReAdd() {
	f := b.failed
	for _, r := range b.arrays {
		if r.failedDev != "" && (r.failedGone || r.failedState == discover.MemberFaulty) {
			b.detachStep(r)
		}
	}
	for _, r := range b.arrays {
		dev := MemberName(f.Name, r.part)
		if r.failedDev != "" && !r.failedGone && r.failedState != discover.MemberFaulty {
			b.notes = append(b.notes, fmt.Sprintf("%s still lists %s (%s): nothing to re-add there", r.a.Name, r.failedDev, r.failedState))
			continue
		}
		free := Condition{Kind: CondPartitionFree, Device: f.Name, Serial: f.Serial, Partition: r.part, Text: fmt.Sprintf("%s is in no array, not mounted, not swap", dev)}
		if r.whole {
			free = Condition{Kind: CondDiskFree, Device: f.Name, Serial: f.Serial, Text: fmt.Sprintf("%s is in no array, holds nothing mounted, no holder, no active swap", f.Label())}
		}
		pre := []Condition{arrayCond(r.a), b.failedSerialCond(), free}
		post := []Condition{{Kind: CondMemberOn, ArrayUUID: r.a.UUID, Array: r.a.Name, Device: f.Name, Serial: f.Serial, Partition: r.part,
			Text: fmt.Sprintf("%s has a member on %s", r.a.Name, dev)}}
		if hasBitmap(r.a) {
			b.add(Step{ID: "re-add-" + r.a.Name, Action: ActionReAddMember, Destructive: true,
				Target:        Target{Device: dev, Serial: f.Serial, Array: r.a.Name, ArrayUUID: r.a.UUID, WholeDisk: r.whole},
				Preconditions: pre, Postconditions: post,
				Reason: fmt.Sprintf("%s has a write-intent bitmap (%s): only the blocks written while %s was away are copied", r.a.Name, r.a.Bitmap, f.Label()),
				Undo:   fmt.Sprintf("mdadm %s --fail /dev/%s --remove /dev/%s", mdadm.ArrayDevice(r.a.Name), dev, dev)})
			continue
		}
		zero := Target{Device: f.Name, Serial: f.Serial, Partitions: []int{r.part}}
		undo := "cannot be undone; the partition is rebuilt from the survivor next"
		if r.whole {
			zero = Target{Device: f.Name, Serial: f.Serial, WholeDisk: true}
			undo = "cannot be undone; the disk is rebuilt from the survivor next"
		}
		b.add(Step{ID: "zero-superblock-" + dev, Action: ActionZeroSuperblock, Destructive: true,
			Target: zero, Preconditions: pre[1:],
			Reason: fmt.Sprintf("%s has no write-intent bitmap, so mdadm refuses --re-add and will not --add a device that claims to be an active member; the stale superblock on %s goes first (a full rebuild follows)", r.a.Name, dev),
			Undo:   undo})
		b.add(Step{ID: "add-" + r.a.Name, Action: ActionAddMember, Destructive: true,
			Target:        Target{Device: dev, Serial: f.Serial, Array: r.a.Name, ArrayUUID: r.a.UUID, WholeDisk: r.whole},
			Preconditions: pre, Postconditions: post,
			Reason: fmt.Sprintf("full rebuild of %s onto %s", r.a.Name, dev),
			Undo:   fmt.Sprintf("mdadm %s --fail /dev/%s --remove /dev/%s", mdadm.ArrayDevice(r.a.Name), dev, dev)})
	}
	b.rebuildSteps(false)
}

func (b *builder) rebuildKiB() int64 {
	var t int64
	for _, r := range b.arrays {
		if r.a.SizeKiB > 0 {
			t += r.a.SizeKiB
		}
	}
	return t
}

// measuredSpeed is the speed of a running rebuild, else DefaultSpeedKiB.
func measuredSpeed(sys *discover.System) (int64, string) {
	for _, a := range sys.Arrays {
		if a.Sync != nil && a.Sync.SpeedKiB > 0 {
			return a.Sync.SpeedKiB, fmt.Sprintf("measured: %s's %s at plan time", a.Name, a.Sync.Action)
		}
	}
	return DefaultSpeedKiB, "assumed: no rebuild was running to measure"
}
