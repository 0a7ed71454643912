package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/mdadm"
)

// This file applies the redundancy model (mdadm.Shape, through discover.Array.Shape) to the
// arrays of the failed disk: an array that has FAILED gets no plan, a member whose removal
// would stop its array is never failed or removed (it is copied with mdadm --replace while it
// stays in service, or the plan is refused), an array whose failed member a spare already
// replaced gets the new disk as its new spare, and each array says what it rebuilds from.

// judgeRedundancy fills each array role's redundancy facts and refuses what cannot be
// planned: a FAILED array, or a level raidswap has no rule for.
func (b *builder) judgeRedundancy() error {
	var failed []string
	for i := range b.arrays {
		r := &b.arrays[i]
		sh := r.a.Shape()
		if !sh.Known() {
			return &UnsafeError{Reason: fmt.Sprintf("%s (uuid %s): %s: raidswap plans only for arrays whose redundancy it can judge", r.a.Name, r.a.UUID, sh.Describe())}
		}
		if sh.Failed() {
			failed = append(failed, fmt.Sprintf("%s (uuid %s) has FAILED: %s", r.a.Name, r.a.UUID, sh.Describe()))
			continue
		}
		if sh.Level == "raid0" || sh.Level == "linear" {
			return &UnsafeError{Reason: fmt.Sprintf("%s (uuid %s) is %s: it keeps no redundancy, so md can neither rebuild nor move its member on %s; copy its data elsewhere (or restore it from backup onto new disks)",
				r.a.Name, r.a.UUID, sh.Level, b.failed.Label())}
		}
		without, lost := r.a.ShapeWithout(b.onFailed)
		r.needed = len(lost) > 0 && without.Tolerance() < 0
		r.othersLost = b.othersLost(r.a, sh)
		r.leftover = r.failedState == discover.MemberFaulty && containsMember(r.a.FaultyLeftovers(), r.failedDev)
	}
	if len(failed) > 0 {
		return &UnsafeError{Reason: strings.Join(failed, "; ") + ". md cannot serve its data and no rebuild brings it back: nothing is planned for it. Restore it from backup (recreate the array on healthy members), then plan the disk again"}
	}
	return nil
}

func containsMember(ms []discover.Member, dev string) bool {
	for _, m := range ms {
		if m.Device != nil && *m.Device == dev && dev != "" {
			return true
		}
	}
	return false
}

// othersLost is how many of the array's lost slots are not the failed disk's: slots the plan
// does not restore, so the array stays degraded after it (another disk to replace next).
func (b *builder) othersLost(a *discover.Array, sh mdadm.Shape) int {
	mine := 0
	for _, m := range a.Members {
		if b.onFailed(m) && m.State != discover.MemberInSync {
			mine++
		}
	}
	return max(sh.Missing()-mine, 0)
}

// lostNames names the array's lost slots that are not on the failed disk: "slot 1 (WD-B)".
func (b *builder) lostNames(a *discover.Array) string {
	var out []string
	for _, m := range a.Members {
		if b.onFailed(m) || (m.State != discover.MemberMissing && m.State != discover.MemberFaulty) {
			continue
		}
		n := "a member"
		if m.Slot != nil {
			n = fmt.Sprintf("slot %d", *m.Slot)
		} else if m.Device != nil {
			n = *m.Device
		}
		switch {
		case m.Serial != "":
			n += " (" + m.Serial + ")"
		case m.LastSerial != "":
			n += " (" + m.LastSerial + ")"
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return "its lost slots"
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// recoverFirst: the failed disk's member is in sync in an array that also misses a slot on
// another disk. md takes a member added to such an array for the empty slot (a recovery,
// reading the failed disk's member too), never as the copy `mdadm --replace` wants; so the new
// member is added and rebuilt first, and the failed disk's member is failed and removed after,
// when the array can lose it.
func (r arrayRole) recoverFirst() bool {
	return r.failedDev != "" && r.failedState == discover.MemberInSync && r.othersLost > 0
}

// neededRoles are the arrays that cannot lose the failed disk's in_sync members.
func (b *builder) neededRoles() []arrayRole {
	var out []arrayRole
	for _, r := range b.arrays {
		if r.needed {
			out = append(out, r)
		}
	}
	return out
}

// keepRunning decides a plain replacement whose failed disk still holds in_sync members an
// array cannot lose: with the new disk attached beside it, the plan copies them with
// mdadm --replace (as --replace mode does) so every array keeps running; otherwise it is
// refused, naming the array and what would restore its redundancy first.
func (b *builder) keepRunning() (replace bool, err error) {
	need := b.neededRoles()
	if len(need) == 0 {
		return false, nil
	}
	var why []string
	for _, r := range need {
		why = append(why, fmt.Sprintf("%s (%s) still needs %s's in_sync member %s: failing or removing it would stop %s",
			r.a.Name, r.a.Shape().Describe(), b.failed.Label(), orUnknown(r.failedDev), r.a.Name))
	}
	if b.newDisk != nil && b.failed.Present && b.req.Mode == ReplaceFailed {
		b.notes = append(b.notes, strings.Join(why, "; ")+
			". So the new disk goes in beside it first: md rebuilds each such array's empty slot onto it, reading that member too, and only then is the member failed and removed; the disk comes out last")
		return true, nil
	}
	var first []string
	for _, r := range need {
		first = append(first, fmt.Sprintf("restore %s's redundancy first (replace the disk of %s)", r.a.Name, b.lostNames(r.a)))
	}
	how := "attach the new disk beside it and plan again with --new SERIAL (md then rebuilds the empty slot onto it first, and the member goes only after)"
	if !b.failed.Present {
		how = "it is no longer attached, so nothing can be copied from it"
	}
	return false, &UnsafeError{Reason: fmt.Sprintf("refusing to take %s out: %s. Either %s, or %s",
		b.failed.Label(), strings.Join(why, "; "), how, strings.Join(first, ", "))}
}

// rebuildsFrom says what the array's new member is rebuilt from: the in-sync members the
// model names as sources of the failed disk's slot (parity arrays read every one of them;
// no single disk holds a copy).
func (b *builder) rebuildsFrom(r arrayRole) string {
	sh := r.a.Shape()
	slot := -1
	for _, m := range r.a.Members {
		if b.onFailed(m) && m.Slot != nil {
			slot = *m.Slot
		}
	}
	if slot < 0 {
		for i, ok := range sh.InSync {
			if !ok {
				slot = i
				break
			}
		}
	}
	// names are the in-sync members of the given slots, not on the failed disk.
	labels := func(slots []int) []string {
		var out []string
		for _, m := range r.a.Members {
			if m.Slot != nil && slices.Contains(slots, *m.Slot) && m.State == discover.MemberInSync && !b.onFailed(m) {
				out = append(out, m.Label())
			}
		}
		return out
	}
	groups := sh.Without(slot).SourceGroups(slot)
	if len(groups) > 1 {
		// raid10 far/offset (or near on an odd count): the slot's data lies in several copy
		// groups; md needs a member of each.
		var parts []string
		for _, g := range groups {
			switch n := labels(g); len(n) {
			case 0:
			case 1:
				parts = append(parts, n[0])
			default:
				parts = append(parts, "one of "+strings.Join(n, ", "))
			}
		}
		return fmt.Sprintf("%s rebuilds from %s: each holds the only copy of part of its data (a raid10 layout spreads the copies over the disks), and md reads them all", r.a.Name, strings.Join(parts, " and "))
	}
	var src []int
	if len(groups) == 1 {
		src = groups[0]
	}
	names := labels(src)
	if len(names) == 0 || (len(names) == 1 && !sh.ParityLevel() && strings.HasPrefix(names[0], r.survivorDev+" ")) {
		// A mirror rebuilt from the survivor's member alone: the plan's survivor says it.
		return ""
	}
	switch {
	case sh.ParityLevel():
		return fmt.Sprintf("%s rebuilds from parity: md reads every in-sync member (%s); no single disk holds a copy", r.a.Name, strings.Join(names, ", "))
	case len(names) == 1:
		return fmt.Sprintf("%s rebuilds from %s, its only copy of that data", r.a.Name, names[0])
	}
	return fmt.Sprintf("%s rebuilds from any one of %s", r.a.Name, strings.Join(names, ", "))
}

// staysDegradedNotes notes each array the plan leaves degraded because slots on other disks are
// lost too.
func (b *builder) staysDegradedNotes() {
	for _, r := range b.arrays {
		if r.othersLost > 0 {
			b.notes = append(b.notes, fmt.Sprintf("%s stays degraded after this plan: %s is lost on another disk; this plan restores only %s's slot. Replace that disk next",
				r.a.Name, b.lostNames(r.a), b.failed.Label()))
		}
	}
}

// sources is Plan.RebuildsFrom: what each array's new member comes from, where that is not
// simply the survivor's mirror.
func (b *builder) sources() []string {
	var out []string
	for _, r := range b.arrays {
		switch {
		case r.recoverFirst():
			out = append(out, fmt.Sprintf("%s rebuilds its empty slot onto the new disk from %s, %s's %s included, before that member is taken out",
				r.a.Name, strings.Join(inSyncNames(r.a), ", "), b.failed.Label(), r.failedDev))
		default:
			if f := b.rebuildsFrom(r); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// inSyncNames names the array's in-sync members: "vda3 on vda (WD-A)".
func inSyncNames(a *discover.Array) []string {
	var out []string
	for _, m := range a.Members {
		if m.State != discover.MemberInSync {
			continue
		}
		out = append(out, m.Label())
	}
	return out
}

// exposure is Plan.Exposure: for each array of the failed disk, which of its other in-sync
// members it can lose once the failed disk's members are out, by the model.
func (b *builder) exposure() []ArrayExposure {
	var out []ArrayExposure
	for _, r := range b.arrays {
		sh, _ := r.a.ShapeWithout(b.onFailed)
		e := ArrayExposure{Array: r.a.Name, Level: sh.Name(), RaidDisks: sh.RaidDisks, Parity: sh.ParityLevel(), Tolerance: max(sh.Tolerance(), 0)}
		seen := map[string]bool{}
		for _, m := range r.a.Members {
			if m.Slot == nil || m.State != discover.MemberInSync || b.onFailed(m) {
				continue
			}
			who := m.Serial
			switch {
			case who != "":
			case m.Disk != nil:
				who = *m.Disk
			default:
				who = m.Label()
			}
			if seen[who] {
				continue
			}
			seen[who] = true
			if sh.CanLose(*m.Slot) {
				e.Spared = append(e.Spared, who)
			} else {
				e.Critical = append(e.Critical, who)
			}
		}
		out = append(out, e)
	}
	return out
}
