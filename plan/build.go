package plan

import (
	"fmt"
	"sort"
	"strings"
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
	Host    Host
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
}

// arrayRole is one array the failed disk belongs to.
type arrayRole struct {
	a *discover.Array
	// failedDev is the failed disk's member in the array (vdb2), "" when md no longer lists
	// it (vanished and dropped, or removed already).
	failedDev   string
	failedState string
	failedGone  bool
	// part is the partition number the array uses on the survivor's layout.
	part int
	// survivorDev is the survivor's in_sync member.
	survivorDev string
}

// Build compiles a replacement plan. Errors are *InputError (bad request) or *UnsafeError
// (an array with no good copy left); nothing is written either way.
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
	switch req.Mode {
	case ReplaceFailed:
		b.buildReplaceFailed()
	case ReplaceWorking:
		b.buildReplaceWorking()
	case ReAdd:
		b.buildReAdd()
	default:
		return nil, fmt.Errorf("unreachable: mode %q passed validation", req.Mode)
	}
	p := &Plan{
		Format: FormatVersion, RaidswapVersion: o.Version, CreatedAt: o.Now.UTC().Truncate(time.Second),
		Host: o.Host, Request: req, Steps: b.steps, Notes: append(b.notes, req.SwapNotes...),
		Disks: Disks{Failed: ref(b.failed), Survivor: ref(b.survivor), New: b.newRef()},
	}
	// Every command comes from Derive, the function apply checks the plan against.
	for i := range p.Steps {
		s := &p.Steps[i]
		s.ID = fmt.Sprintf("%02d-%s", i+1, s.ID)
		argv, err := Derive(p, *s)
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

func ref(d *discover.Disk) DiskRef {
	if d == nil {
		return DiskRef{}
	}
	return DiskRef{Device: d.Name, Serial: d.Serial, Model: d.Model, SizeBytes: d.SizeBytes, Bay: d.ByPath, Present: d.Present}
}

func (b *builder) newRef() NewDisk {
	n := NewDisk{Wipe: b.req.Wipe, MinSizeBytes: b.survivor.SizeBytes, KnownSerials: []string{}}
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

// lookup finds a disk by serial or kernel name and refuses partitions and md devices.
func (b *builder) lookup(what, s string) (*discover.Disk, error) {
	name := strings.TrimPrefix(s, "/dev/")
	if d := b.sys.DiskBySerial(s); d != nil {
		return d, nil
	}
	for i := range b.sys.Disks {
		if b.sys.Disks[i].Serial == s && s != "" {
			return &b.sys.Disks[i], nil
		}
	}
	if a := b.sys.Array(name); a != nil || strings.HasPrefix(name, "md") {
		return nil, &InputError{Device: "/dev/" + name, Reason: fmt.Sprintf("is an md array, not a disk: give the %s disk's serial", what)}
	}
	for _, d := range b.sys.Disks {
		for _, p := range d.Partitions {
			if p == name {
				return nil, &InputError{Device: "/dev/" + name, Serial: d.Serial,
					Reason: fmt.Sprintf("is a partition of %s, not a disk: give the whole disk (%s) or its serial", d.Label(), d.Name)}
			}
		}
	}
	if d := b.sys.Disk(name); d != nil {
		return d, nil
	}
	return nil, nil
}

func (b *builder) resolveFailed() error {
	d, err := b.lookup("failed", b.req.Failed)
	if err != nil {
		return err
	}
	if d == nil {
		return &InputError{Device: b.req.Failed, Reason: "no disk with this serial or name is attached or remembered (run `raidswap status` to list disks)"}
	}
	b.failed = d
	if b.req.Mode == ReAdd && !d.Present {
		return &InputError{Device: d.Name, Serial: d.Serial, Reason: "is not attached: re-add needs the disk back in its bay"}
	}
	if b.req.Mode == ReplaceWorking && !d.Present {
		return &InputError{Device: d.Name, Serial: d.Serial, Reason: "is not attached: --replace copies from a working disk; use a plain replacement"}
	}
	return nil
}

// resolveArrays finds every array the failed disk is in, its member there, and the survivor.
func (b *builder) resolveArrays() error {
	f := b.failed
	for ai := range b.sys.Arrays {
		a := &b.sys.Arrays[ai]
		r := arrayRole{a: a}
		in := false
		for _, m := range a.Members {
			if b.onFailed(m) {
				in = true
				if m.Device != nil {
					r.failedDev, r.failedState, r.failedGone = *m.Device, m.State, m.Gone
				} else if r.failedState == "" {
					r.failedState = m.State
				}
			}
		}
		if !in && b.req.Mode == ReAdd {
			in = b.rememberedIn(a)
		}
		if !in {
			continue
		}
		b.arrays = append(b.arrays, r)
	}
	if len(b.arrays) == 0 {
		return &InputError{Device: f.Name, Serial: f.Serial, Reason: "is in no md array"}
	}
	// The survivor: the disk holding an in_sync member of every array of the failed disk.
	count := map[string]int{}
	for _, r := range b.arrays {
		seen := map[string]bool{}
		for _, m := range r.a.Members {
			if m.State == discover.MemberInSync && m.Disk != nil && !b.onFailed(m) && !seen[*m.Disk] {
				seen[*m.Disk] = true
				count[*m.Disk]++
			}
		}
		if len(seen) == 0 {
			return &UnsafeError{Reason: fmt.Sprintf("%s (uuid %s) has no in_sync member outside %s: there is no good copy to rebuild from; restore from backup",
				r.a.Name, r.a.UUID, f.Label())}
		}
	}
	var names []string
	for n, c := range count {
		if c == len(b.arrays) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return &UnsafeError{Reason: fmt.Sprintf("no single disk holds an in_sync member of every array %s is in; raidswap handles two-disk RAID1 layouts", f.Label())}
	}
	b.survivor = b.sys.Disk(names[0])
	if b.survivor == nil || !b.survivor.Present {
		return &UnsafeError{Reason: fmt.Sprintf("the survivor %s is not attached", names[0])}
	}
	if b.survivor.Serial == "" {
		return &UnsafeError{Reason: fmt.Sprintf("the survivor %s has no serial: raidswap binds plans to serials", b.survivor.Name)}
	}
	for i := range b.arrays {
		r := &b.arrays[i]
		for _, m := range r.a.Members {
			if m.Disk != nil && *m.Disk == b.survivor.Name && m.State == discover.MemberInSync && m.Device != nil {
				r.survivorDev = *m.Device
				r.part = PartitionNumber(b.survivor.Name, *m.Device)
			}
		}
		if r.part == 0 {
			return &InputError{Device: b.survivor.Name, Serial: b.survivor.Serial,
				Reason: fmt.Sprintf("its %s member %s is not a partition of it; raidswap clones partitioned disks", r.a.Name, r.survivorDev)}
		}
	}
	sort.SliceStable(b.arrays, func(i, j int) bool {
		if b.arrays[i].a.SizeKiB != b.arrays[j].a.SizeKiB {
			return b.arrays[i].a.SizeKiB < b.arrays[j].a.SizeKiB
		}
		return b.arrays[i].a.Name < b.arrays[j].a.Name
	})
	return nil
}

// onFailed reports whether member m is on the failed disk.
func (b *builder) onFailed(m discover.Member) bool {
	f := b.failed
	switch {
	case f.Serial != "" && (m.Serial == f.Serial || (m.State == discover.MemberMissing && m.LastSerial == f.Serial)):
		return true
	case m.Disk != nil && *m.Disk == f.Name:
		// A name matches only while it means the same disk: for a vanished disk, a member
		// whose device has gone; for an attached one, a member on it.
		return f.Present || m.Gone || m.Serial == ""
	}
	return false
}

// rememberedIn reports whether the inventory remembers the failed disk in array a.
func (b *builder) rememberedIn(a *discover.Array) bool {
	if b.sys.Inventory == nil || b.failed.Serial == "" {
		return false
	}
	e, ok := b.sys.Inventory.Disks[b.failed.Serial]
	if !ok {
		return false
	}
	for _, s := range e.Members {
		if s.ArrayUUID == a.UUID {
			return true
		}
	}
	return false
}

func (b *builder) resolveNew() error {
	if b.req.New == "" || b.req.Mode == ReAdd {
		return nil
	}
	d, err := b.lookup("new", b.req.New)
	if err != nil {
		return err
	}
	if d == nil {
		if b.sys.Disk(strings.TrimPrefix(b.req.New, "/dev/")) == nil && strings.HasPrefix(b.req.New, "/dev/") {
			return &InputError{Device: b.req.New, Reason: "no such disk is attached; name a disk that is not attached yet by its serial"}
		}
		return nil // a serial of a disk not attached yet: wait for it
	}
	if !d.Present {
		return nil
	}
	if d.Serial == "" {
		return &InputError{Device: d.Name, Reason: "has no serial: raidswap binds the new disk to its serial"}
	}
	if d.Name == b.survivor.Name || d.Serial == b.survivor.Serial {
		return &InputError{Device: d.Name, Serial: d.Serial, Reason: "is the survivor, which holds the only good copy: it cannot be the new disk"}
	}
	if d.Serial == b.failed.Serial {
		return &InputError{Device: d.Name, Serial: d.Serial, Reason: "is the failed disk itself; to return it to its arrays use re-add"}
	}
	if err := diskInUse(b.sys, d); err != nil {
		return err
	}
	if d.SizeBytes < b.survivor.SizeBytes {
		return &InputError{Device: d.Name, Serial: d.Serial, Reason: fmt.Sprintf("is too small: %d bytes, the survivor %s has %d", d.SizeBytes, b.survivor.Label(), b.survivor.SizeBytes)}
	}
	if len(d.Partitions) > 0 && !b.req.Wipe {
		return &InputError{Device: d.Name, Serial: d.Serial, Reason: fmt.Sprintf("holds data (partitions %s); check it is the right disk, then give --wipe to erase it", strings.Join(d.Partitions, ", "))}
	}
	b.newDisk = d
	return nil
}

// diskInUse refuses a disk that holds an md member, a mounted or held partition or swap.
func diskInUse(sys *discover.System, d *discover.Disk) error {
	switch {
	case len(d.Members) > 0:
		m := d.Members[0]
		return &InputError{Device: d.Name, Serial: d.Serial, Reason: fmt.Sprintf("it holds %s member %s (%s)", m.Array, m.Device, m.State)}
	case len(d.Mounted) > 0:
		return &InputError{Device: d.Name, Serial: d.Serial, Reason: "it holds " + d.Mounted[0]}
	case len(d.Swap) > 0:
		return &InputError{Device: d.Name, Serial: d.Serial, Reason: "it holds active swap " + d.Swap[0]}
	case len(d.Holders) > 0:
		return &InputError{Device: d.Name, Serial: d.Serial, Reason: "it is held by " + strings.Join(d.Holders, ", ")}
	}
	return nil
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

func (b *builder) survivorSerialCond() Condition {
	s := b.survivor
	return Condition{Kind: CondDiskSerial, Device: s.Name, Serial: s.Serial, Text: fmt.Sprintf("%s is still the survivor %s", s.Name, s.Serial)}
}

func (b *builder) failedSerialCond() Condition {
	f := b.failed
	return Condition{Kind: CondDiskSerial, Device: f.Name, Serial: f.Serial, Text: fmt.Sprintf("%s still carries serial %s", f.Name, f.Serial)}
}

func arrayCond(a *discover.Array) Condition {
	return Condition{Kind: CondArrayUUID, Array: a.Name, ArrayUUID: a.UUID, Text: fmt.Sprintf("%s is still the array with UUID %s", a.Name, a.UUID)}
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
		b.replaceSteps(r)
	}
	b.rebuildSteps(true)
	for _, r := range b.arrays {
		if r.failedDev != "" && r.failedState == discover.MemberInSync {
			b.removeReplacedStep(r)
		}
	}
	b.swapOffSteps()
	b.swapSteps()
	b.bootSteps()
	b.add(b.verifyStep())
	b.locateStep()
	b.awaitRemovalStep()
}

func (b *builder) buildReAdd() {
	f := b.failed
	for _, r := range b.arrays {
		if r.failedDev != "" && (r.failedGone || r.failedState == discover.MemberFaulty) {
			b.detachStep(r)
		}
	}
	for _, r := range b.arrays {
		dev := PartitionName(f.Name, r.part)
		if r.failedDev != "" && !r.failedGone && r.failedState != discover.MemberFaulty {
			b.notes = append(b.notes, fmt.Sprintf("%s still lists %s (%s): nothing to re-add there", r.a.Name, r.failedDev, r.failedState))
			continue
		}
		pre := []Condition{arrayCond(r.a), b.failedSerialCond(),
			{Kind: CondPartitionFree, Device: f.Name, Serial: f.Serial, Partition: r.part, Text: fmt.Sprintf("%s is in no array, not mounted, not swap", dev)}}
		post := []Condition{{Kind: CondMemberOn, ArrayUUID: r.a.UUID, Array: r.a.Name, Device: f.Name, Serial: f.Serial, Partition: r.part,
			Text: fmt.Sprintf("%s has a member on %s", r.a.Name, dev)}}
		if hasBitmap(r.a) {
			b.add(Step{ID: "re-add-" + r.a.Name, Action: ActionReAddMember, Destructive: true,
				Target:        Target{Device: dev, Serial: f.Serial, Array: r.a.Name, ArrayUUID: r.a.UUID},
				Preconditions: pre, Postconditions: post,
				Reason: fmt.Sprintf("%s has a write-intent bitmap (%s): only the blocks written while %s was away are copied", r.a.Name, r.a.Bitmap, f.Label()),
				Undo:   fmt.Sprintf("mdadm %s --fail /dev/%s --remove /dev/%s", mdadm.ArrayDevice(r.a.Name), dev, dev)})
			continue
		}
		b.add(Step{ID: "zero-superblock-" + dev, Action: ActionZeroSuperblock, Destructive: true,
			Target: Target{Device: f.Name, Serial: f.Serial, Partitions: []int{r.part}}, Preconditions: pre[1:],
			Reason: fmt.Sprintf("%s has no write-intent bitmap, so mdadm refuses --re-add and will not --add a device that claims to be an active member; the stale superblock on %s goes first (a full rebuild follows)", r.a.Name, dev),
			Undo:   "cannot be undone; the partition is rebuilt from the survivor next"})
		b.add(Step{ID: "add-" + r.a.Name, Action: ActionAddMember, Destructive: true,
			Target:        Target{Device: dev, Serial: f.Serial, Array: r.a.Name, ArrayUUID: r.a.UUID},
			Preconditions: pre, Postconditions: post,
			Reason: fmt.Sprintf("full rebuild of %s onto %s", r.a.Name, dev),
			Undo:   fmt.Sprintf("mdadm %s --fail /dev/%s --remove /dev/%s", mdadm.ArrayDevice(r.a.Name), dev, dev)})
	}
	b.rebuildSteps(false)
}

func hasBitmap(a *discover.Array) bool { return a.Bitmap != "" && a.Bitmap != "none" }

// swapOffSteps turn off the failed disk's active swap before it is taken away.
func (b *builder) swapOffSteps() {
	f := b.failed
	for _, name := range f.Swap {
		n := PartitionNumber(f.Name, name)
		b.add(Step{ID: "swapoff-" + name, Action: ActionSwapOff, Destructive: true,
			Target:         Target{Device: name, Serial: f.Serial},
			Preconditions:  []Condition{b.failedSerialCond()},
			Postconditions: []Condition{{Kind: CondSwapInactive, Device: f.Name, Serial: f.Serial, Partition: n, Text: name + " is not active swap"}},
			Reason:         fmt.Sprintf("%s on %s is active swap; the kernel must stop using it before the disk goes", name, f.Label()),
			Undo:           "swapon /dev/" + name})
	}
}

func (b *builder) detachStep(r arrayRole) {
	f := b.failed
	a := r.a
	s := Step{ID: "detach-" + a.Name, Action: ActionDetach, Destructive: true,
		Target: Target{Device: r.failedDev, Serial: f.Serial, Array: a.Name, ArrayUUID: a.UUID}}
	other := Condition{Kind: CondOtherInSync, Array: a.Name, ArrayUUID: a.UUID, Device: f.Name, Serial: f.Serial,
		Text: fmt.Sprintf("%s keeps an in_sync member on a disk other than %s", a.Name, f.Label())}
	post := Condition{Kind: CondNoMemberOn, Array: a.Name, ArrayUUID: a.UUID, Device: f.Name, Serial: f.Serial,
		Text: fmt.Sprintf("%s has no member on %s and none whose device has gone", a.Name, f.Label())}
	s.Postconditions = []Condition{post}
	switch {
	case r.failedDev == "" || r.failedState == discover.MemberMissing:
		s.Target.Detached = true
		s.Preconditions = []Condition{arrayCond(a), other}
		s.Reason = fmt.Sprintf("md no longer lists %s in %s; this clears any member left behind by a device that has gone (a no-op when there is none)", f.Label(), a.Name)
	case r.failedGone || !f.Present:
		s.Target.Detached = true
		s.Preconditions = []Condition{arrayCond(a), other}
		s.Reason = fmt.Sprintf("%s's member %s (%s) has no device any more: `detached` is how mdadm names it", a.Name, r.failedDev, r.failedState)
	default:
		s.Preconditions = []Condition{arrayCond(a), b.failedSerialCond(), other}
		switch r.failedState {
		case discover.MemberFaulty:
			s.Reason = fmt.Sprintf("%s's member %s on %s is faulty: take it out of the array", a.Name, r.failedDev, f.Label())
		case discover.MemberInSync:
			s.Reason = fmt.Sprintf("%s is still in_sync in %s, but %s is coming out: it is failed here too, on purpose, so no array keeps a member on a disk about to be pulled (%s keeps %s)",
				r.failedDev, a.Name, f.Label(), a.Name, r.survivorDev)
		default:
			s.Reason = fmt.Sprintf("%s's member %s on %s is %s: take it out of the array", a.Name, r.failedDev, f.Label(), r.failedState)
		}
	}
	if r.failedDev != "" && !r.failedGone && f.Present {
		s.Undo = fmt.Sprintf("mdadm %s --re-add /dev/%s (a full rebuild unless %s has a bitmap)", mdadm.ArrayDevice(a.Name), r.failedDev, a.Name)
	} else {
		s.Undo = "nothing to undo: the member's device is gone"
	}
	b.add(s)
}

func (b *builder) locateStep() {
	f := b.failed
	where := "its bay is not known"
	if f.ByPath != "" {
		where = "bus path " + f.ByPath
	}
	what := fmt.Sprintf("serial %s, model %s, %s", orUnknown(f.Serial), orUnknown(f.Model), where)
	if !f.Present {
		what += "; it has vanished, so it is the disk whose serial is not " + b.survivor.Serial
	}
	b.add(Step{ID: "locate", Action: ActionLocate, Target: Target{Device: f.Name, Serial: f.Serial},
		Reason: fmt.Sprintf("find %s in the chassis: %s. Match the serial on the drive's label before pulling it; never pull %s (the survivor). (Lighting the bay LED comes with enclosure support.)",
			f.Name, what, b.survivor.Label())})
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func (b *builder) awaitRemovalStep() {
	f := b.failed
	b.add(Step{ID: "await-removal", Action: ActionAwaitRemoval, Target: Target{Device: f.Name, Serial: f.Serial},
		Postconditions: []Condition{{Kind: CondDiskAbsent, Serial: f.Serial, Device: f.Name, Text: fmt.Sprintf("no attached disk carries serial %s", f.Serial)}},
		Reason:         fmt.Sprintf("wait until %s is pulled", f.Label())})
}

// newDiskSteps wait for the new disk, check it, clone the survivor's partition table onto it
// and clear stale md superblocks from the partitions that will join arrays.
func (b *builder) newDiskSteps() {
	s := b.survivor
	present := Condition{Kind: CondDiskPresent, Device: NewDiskToken, Serial: b.req.New, Text: b.newLabel() + " is attached"}
	free := Condition{Kind: CondDiskFree, Device: NewDiskToken, Text: "the new disk holds no md member, nothing mounted, no holder, no active swap"}
	how := "the disk that appears and was not attached when this plan was built (never the survivor " + s.Serial + " nor " + b.failed.Label() + ")"
	if b.req.New != "" {
		how = "found by its serial " + b.req.New
	}
	b.add(Step{ID: "await-new-disk", Action: ActionAwaitNewDisk, Target: Target{Device: NewDiskToken, Serial: b.req.New},
		Postconditions: []Condition{present},
		Reason:         "wait for the new disk: " + how})
	size := fmt.Sprintf("at least %d bytes (the survivor's size)", s.SizeBytes)
	b.add(Step{ID: "check-new-disk", Action: ActionCheckNewDisk, Target: Target{Device: NewDiskToken, Serial: b.req.New},
		Preconditions: []Condition{present, free},
		Reason:        fmt.Sprintf("the new disk must be %s, not the survivor, in no array, hold nothing mounted, no swap, and no partitions or data unless --wipe was given", size)})
	nparts := len(s.Partitions)
	b.add(Step{ID: "partition-clone", Action: ActionPartitionClone, Destructive: true,
		Target:         Target{Device: NewDiskToken, Serial: b.req.New},
		Preconditions:  []Condition{b.survivorSerialCond(), present, free},
		Postconditions: []Condition{{Kind: CondPartitioned, Device: NewDiskToken, Count: nparts, Text: fmt.Sprintf("the new disk has %d partitions, like the survivor", nparts)}},
		Reason: fmt.Sprintf("copy %s's partition table onto the new disk, aligned for its sector sizes, with new GUIDs; the survivor is only read (its table is backed up under /var/lib/raidswap first)",
			s.Label()),
		Undo: "the new disk's previous table is backed up under /var/lib/raidswap/backups; the survivor is not changed"})
	var parts []int
	var conds []Condition
	for _, r := range b.arrays {
		parts = append(parts, r.part)
		conds = append(conds, Condition{Kind: CondPartitionFree, Device: NewDiskToken, Partition: r.part, Text: fmt.Sprintf("new partition %d is in no array", r.part)})
	}
	b.add(Step{ID: "zero-superblock", Action: ActionZeroSuperblock, Destructive: true,
		Target:        Target{Device: NewDiskToken, Serial: b.req.New, Partitions: parts},
		Preconditions: append([]Condition{present}, conds...),
		Reason:        "a used disk can carry md superblocks where the new partitions start or end; a stale one confuses assembly at the next boot",
		Undo:          "nothing to undo: the partitions are new"})
}

// addStep adds the new disk's partition to an array; in a degraded array recovery starts.
func (b *builder) addStep(r arrayRole) Step {
	a := r.a
	dev := NewPart(r.part)
	use := ""
	if len(a.Mountpoints) > 0 {
		use = " (" + strings.Join(a.Mountpoints, ", ") + ")"
	} else if a.Swap {
		use = " (swap)"
	}
	return Step{ID: "add-" + a.Name, Action: ActionAddMember, Destructive: true,
		Target: Target{Device: dev, Serial: b.req.New, Array: a.Name, ArrayUUID: a.UUID},
		Preconditions: []Condition{arrayCond(a),
			{Kind: CondPartitionFree, Device: NewDiskToken, Partition: r.part, Text: fmt.Sprintf("new partition %d is in no array", r.part)}},
		Postconditions: []Condition{{Kind: CondMemberOn, Array: a.Name, ArrayUUID: a.UUID, Device: NewDiskToken, Partition: r.part,
			Text: fmt.Sprintf("%s has a member on new partition %d", a.Name, r.part)}},
		Reason: fmt.Sprintf("add new partition %d to %s%s, %s; arrays are added smallest first so small ones (like /boot) are redundant again within seconds, while md queues the larger rebuilds",
			r.part, a.Name, use, humanKiB(a.SizeKiB)),
		Undo: fmt.Sprintf("mdadm %s --fail %s --remove %s (the array stays degraded)", mdadm.ArrayDevice(a.Name), dev, dev)}
}

func (b *builder) replaceSteps(r arrayRole) {
	a := r.a
	dev := NewPart(r.part)
	b.add(Step{ID: "add-spare-" + a.Name, Action: ActionAddSpare, Destructive: true,
		Target: Target{Device: dev, Serial: b.req.New, Array: a.Name, ArrayUUID: a.UUID},
		Preconditions: []Condition{arrayCond(a),
			{Kind: CondPartitionFree, Device: NewDiskToken, Partition: r.part, Text: fmt.Sprintf("new partition %d is in no array", r.part)}},
		Postconditions: []Condition{{Kind: CondMemberOn, Array: a.Name, ArrayUUID: a.UUID, Device: NewDiskToken, Partition: r.part,
			Text: fmt.Sprintf("%s has a member on new partition %d", a.Name, r.part)}},
		Reason: fmt.Sprintf("add new partition %d to %s as a spare, to copy onto", r.part, a.Name),
		Undo:   fmt.Sprintf("mdadm %s --remove %s", mdadm.ArrayDevice(a.Name), dev)})
	b.add(Step{ID: "replace-" + a.Name, Action: ActionReplaceMember, Destructive: true,
		Target: Target{Device: r.failedDev, Serial: b.failed.Serial, Array: a.Name, ArrayUUID: a.UUID, With: dev},
		Preconditions: []Condition{arrayCond(a), b.failedSerialCond(),
			{Kind: CondMemberOn, Array: a.Name, ArrayUUID: a.UUID, Device: NewDiskToken, Partition: r.part, Text: fmt.Sprintf("new partition %d is in %s", r.part, a.Name)}},
		Postconditions: []Condition{{Kind: CondCopyOnto, Array: a.Name, ArrayUUID: a.UUID, Device: NewDiskToken, Partition: r.part,
			Text: fmt.Sprintf("md copies onto new partition %d in %s, or has finished", r.part, a.Name)}},
		Reason: fmt.Sprintf("copy %s's %s onto new partition %d while it stays in service, so %s keeps two good copies throughout; md marks %s faulty when the copy is complete",
			b.failed.Label(), r.failedDev, r.part, a.Name, r.failedDev),
		Undo: "before the copy completes: mdadm " + mdadm.ArrayDevice(a.Name) + " --fail " + dev + " --remove " + dev + " (the old member stays)"})
}

func (b *builder) removeReplacedStep(r arrayRole) {
	a := r.a
	f := b.failed
	b.add(Step{ID: "remove-replaced-" + a.Name, Action: ActionRemoveReplaced, Destructive: true,
		Target: Target{Device: r.failedDev, Serial: f.Serial, Array: a.Name, ArrayUUID: a.UUID},
		Preconditions: []Condition{arrayCond(a), b.failedSerialCond(),
			{Kind: CondInSyncOn, Array: a.Name, ArrayUUID: a.UUID, Device: NewDiskToken, Partition: r.part, Text: fmt.Sprintf("new partition %d is in_sync in %s", r.part, a.Name)},
			{Kind: CondOtherInSync, Array: a.Name, ArrayUUID: a.UUID, Device: f.Name, Serial: f.Serial, Text: fmt.Sprintf("%s keeps in_sync members on other disks", a.Name)}},
		Postconditions: []Condition{{Kind: CondNoMemberOn, Array: a.Name, ArrayUUID: a.UUID, Device: f.Name, Serial: f.Serial,
			Text: fmt.Sprintf("%s has no member on %s", a.Name, f.Label())}},
		Reason: fmt.Sprintf("the copy is complete: take the replaced member %s out of %s", r.failedDev, a.Name),
		Undo:   "none needed: the data is on the new disk and the survivor"})
}

// swapSteps recreate the failed disk's swap partitions on the new disk with the UUIDs that
// /etc/fstab uses.
func (b *builder) swapSteps() {
	for _, sw := range b.req.Swap {
		dev := NewPart(sw.Partition)
		b.add(Step{ID: fmt.Sprintf("mkswap-%d", sw.Partition), Action: ActionMkswap, Destructive: true,
			Target:         Target{Device: dev, Serial: b.req.New, SwapUUID: sw.UUID},
			Preconditions:  []Condition{{Kind: CondPartitionFree, Device: NewDiskToken, Partition: sw.Partition, Text: fmt.Sprintf("new partition %d is in no array, not swap", sw.Partition)}},
			Postconditions: nil,
			Reason:         fmt.Sprintf("the failed disk's partition %d was swap with UUID %s, which /etc/fstab names; the new partition gets the same UUID so fstab needs no change", sw.Partition, sw.UUID),
			Undo:           "wipefs -a " + dev})
		b.add(Step{ID: fmt.Sprintf("swapon-%d", sw.Partition), Action: ActionSwapOn, Destructive: false,
			Target:         Target{Device: dev, Serial: b.req.New},
			Postconditions: []Condition{{Kind: CondSwapActive, Device: NewDiskToken, Partition: sw.Partition, Text: fmt.Sprintf("new partition %d is active swap", sw.Partition)}},
			Reason:         "use the new swap partition now, as the next boot will",
			Undo:           "swapoff " + dev})
	}
}

// bootSteps install boot code on every member disk of the array holding /boot (or /).
func (b *builder) bootSteps() {
	var boot *discover.Array
	for _, mp := range []string{"/boot", "/"} {
		for _, r := range b.arrays {
			for _, m := range r.a.Mountpoints {
				if m == mp && boot == nil {
					boot = r.a
				}
			}
		}
	}
	if b.req.Firmware == FirmwareUEFI {
		b.add(Step{ID: "bootloader", Action: ActionBootloader,
			Reason: "UEFI: each disk needs its own ESP and boot entry; raidswap does not automate this yet: follow docs/runbook.md section 8 (UEFI) for the new disk"})
		return
	}
	if boot == nil {
		b.add(Step{ID: "bootloader", Action: ActionBootloader,
			Reason: fmt.Sprintf("no array of %s holds /boot or /: no boot code to install", b.failed.Label())})
		return
	}
	s := b.survivor
	b.add(Step{ID: "bootloader-" + s.Name, Action: ActionBootloader, Destructive: true,
		Target:        Target{Device: s.Name, Serial: s.Serial},
		Preconditions: []Condition{b.survivorSerialCond()},
		Reason: fmt.Sprintf("%s holds /boot: reinstall GRUB's boot code on the survivor %s too, so both disks boot alone with the same GRUB; it writes only the MBR boot code area and the BIOS boot partition, never the partition table or an md member",
			boot.Name, s.Label()),
		Undo: "reinstall: grub-install --target=i386-pc /dev/" + s.Name})
	b.add(Step{ID: "bootloader-new", Action: ActionBootloader, Destructive: true,
		Target:        Target{Device: NewDiskToken, Serial: b.req.New},
		Preconditions: []Condition{{Kind: CondDiskPresent, Device: NewDiskToken, Serial: b.req.New, Text: "the new disk is attached"}},
		Reason:        fmt.Sprintf("install GRUB's boot code on the new disk, so it boots if %s fails next", s.Label()),
		Undo:          "none needed"})
}

// rebuildSteps wait for the rebuild (or the copies) and verify, unless replacing (which
// verifies after removing the replaced members).
func (b *builder) rebuildSteps(replacing bool) {
	var conds []Condition
	var names []string
	for _, r := range b.arrays {
		names = append(names, r.a.Name)
		if replacing && r.failedDev != "" && r.failedState == discover.MemberInSync {
			conds = append(conds, Condition{Kind: CondInSyncOn, Array: r.a.Name, ArrayUUID: r.a.UUID, Device: NewDiskToken, Partition: r.part,
				Text: fmt.Sprintf("new partition %d is in_sync in %s", r.part, r.a.Name)})
			continue
		}
		conds = append(conds, Condition{Kind: CondRedundant, Array: r.a.Name, ArrayUUID: r.a.UUID, Text: fmt.Sprintf("%s has every slot in_sync and no sync running", r.a.Name)})
	}
	reason := "wait until " + strings.Join(names, ", ") + " are redundant again; Ctrl-C detaches (the rebuild continues in the kernel) and `raidswap resume` picks up here"
	if b.req.RebuildSpeedKiB > 0 {
		reason += fmt.Sprintf("; /proc/sys/dev/raid/speed_limit_min is raised to %d KiB/s meanwhile and restored afterwards", b.req.RebuildSpeedKiB)
	}
	b.add(Step{ID: "await-rebuild", Action: ActionAwaitRebuild, Postconditions: conds, Reason: reason})
	if !replacing {
		b.add(b.verifyStep())
	}
}

func (b *builder) verifyStep() Step {
	var conds []Condition
	for _, r := range b.arrays {
		conds = append(conds, Condition{Kind: CondRedundant, Array: r.a.Name, ArrayUUID: r.a.UUID, Text: fmt.Sprintf("%s has every slot in_sync", r.a.Name)})
		if b.req.Mode == ReAdd {
			conds = append(conds, Condition{Kind: CondInSyncOn, Array: r.a.Name, ArrayUUID: r.a.UUID, Device: b.failed.Name, Serial: b.failed.Serial, Partition: r.part,
				Text: fmt.Sprintf("%s is in_sync in %s", PartitionName(b.failed.Name, r.part), r.a.Name)})
		} else {
			conds = append(conds, Condition{Kind: CondInSyncOn, Array: r.a.Name, ArrayUUID: r.a.UUID, Device: NewDiskToken, Partition: r.part,
				Text: fmt.Sprintf("new partition %d is in_sync in %s", r.part, r.a.Name)})
		}
	}
	conds = append(conds, b.survivorSerialCond())
	return Step{ID: "verify", Action: ActionVerify, Postconditions: conds,
		Reason: "check every array is redundant with its member on the right disk"}
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

func humanKiB(k int64) string {
	b := float64(k) * 1024
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}
