package discover

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/procfs"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/inventory"
	"github.com/raidswap/raidswap/mdadm"
)

// ErrNotARoot means --root points at a directory that is neither a system root nor a capture.
var ErrNotARoot = errors.New("not a system root or a raidswap capture")

// Discover reads the system under root. Errors are returned only when nothing can be judged
// (not a root at all); a kernel without md yields a System with Verdict Unknown and a
// Summary that says so.
func Discover(root *host.Root) (*System, error) {
	if !root.Exists("/sys/block") {
		return nil, fmt.Errorf("%s: %w (no sys/block under it)", root.Dir(), ErrNotARoot)
	}
	s := &System{Root: root.Dir(), Arrays: []Array{}, Disks: []Disk{}}

	stats, mdErr := mdadm.ReadMDStat(root)
	sysArrays, err := mdadm.ReadSysArrays(root)
	if err != nil {
		s.Problems = append(s.Problems, err.Error())
	}
	for _, a := range sysArrays {
		s.Problems = append(s.Problems, a.Problems...)
	}
	if mdErr == nil {
		s.Arrays = mergeArrays(sysArrays, stats)
	}

	inv, err := inventory.Load(root)
	if err != nil {
		s.Problems = append(s.Problems, err.Error())
	}
	s.Inventory = inv
	if mdErr == nil {
		s.addRememberedArrays()
	}
	u := readUsage(root, &s.Problems)
	memberDisks := map[string]bool{}
	for _, a := range s.Arrays {
		for _, m := range a.Members {
			if m.Disk != nil {
				memberDisks[*m.Disk] = true
			}
		}
	}
	ids, err := identify.Disks(root, func(name string) bool {
		return identify.IsPhysicalName(name) || memberDisks[name]
	})
	if err != nil {
		s.Problems = append(s.Problems, err.Error())
	}
	for _, id := range ids {
		s.Disks = append(s.Disks, diskFrom(root, id, u))
	}
	s.attachMembers()
	for i := range s.Arrays {
		s.Arrays[i].Mountpoints = u.mountsByName[s.Arrays[i].Name]
		s.Arrays[i].Swap = u.swap[s.Arrays[i].Name]
	}

	switch {
	case errors.Is(mdErr, mdadm.ErrNoMD):
		s.Verdict, s.Summary = Unknown, "cannot judge: "+mdErr.Error()
	case mdErr != nil:
		s.Verdict, s.Summary = Unknown, "cannot judge: "+mdErr.Error()
	default:
		s.Verdict, s.Summary = judge(s)
	}
	return s, nil
}

// mergeArrays joins what sysfs and /proc/mdstat say of each array. sysfs is preferred: it
// has slots, UUIDs and exact sync sectors; mdstat fills gaps and knows about DELAYED syncs.
func mergeArrays(sys []mdadm.SysArray, stats []mdadm.MDStat) []Array {
	byName := map[string]*mdadm.MDStat{}
	for i := range stats {
		byName[stats[i].Name] = &stats[i]
	}
	seen := map[string]bool{}
	out := []Array{}
	for _, sa := range sys {
		seen[sa.Name] = true
		out = append(out, buildArray(&sa, byName[sa.Name]))
	}
	for i := range stats {
		if !seen[stats[i].Name] {
			out = append(out, buildArray(nil, &stats[i]))
		}
	}
	return out
}

func strp(s string) *string { return &s }
func intp(i int) *int       { return &i }

func buildArray(sa *mdadm.SysArray, st *mdadm.MDStat) Array {
	a := Array{State: ArrayUnknown, Members: []Member{}, RaidDisks: mdadm.Unknown, ActiveDisks: mdadm.Unknown, SizeKiB: mdadm.Unknown}
	if sa != nil {
		a.Name, a.UUID, a.Level, a.Metadata = sa.Name, sa.UUID, sa.Level, sa.Metadata
		a.SizeKiB, a.Bitmap = sa.ComponentKiB, sa.Bitmap
		if sa.RaidDisks > 0 {
			a.RaidDisks = sa.RaidDisks
		}
		for _, m := range sa.Members {
			a.Members = append(a.Members, memberFromSys(m))
		}
	}
	if st != nil {
		a.Name = st.Name
		if a.Level == "" && st.Type != "unknown" {
			a.Level = st.Type
		}
		if a.Metadata == "" {
			a.Metadata = st.Metadata
		}
		if st.DisksTotal > 0 {
			switch {
			case a.RaidDisks == mdadm.Unknown:
				a.RaidDisks = int(st.DisksTotal)
			case a.RaidDisks != int(st.DisksTotal):
				a.Notes = append(a.Notes, fmt.Sprintf("md/raid_disks is %d but /proc/mdstat says %d", a.RaidDisks, st.DisksTotal))
				a.RaidDisks = max(a.RaidDisks, int(st.DisksTotal))
			}
		}
		if sa == nil || len(sa.Members) == 0 {
			for _, c := range st.Devices {
				a.Members = append(a.Members, memberFromMDStat(c, st.Action != ""))
			}
		}
	}
	a.ActiveDisks = inSyncCount(a.Members, a.RaidDisks)
	faulty := 0
	for _, m := range a.Members {
		if m.State == MemberFaulty {
			faulty++
		}
	}
	a.Members = withMissingSlots(a.Members, a.RaidDisks, faulty)
	a.Sync = buildSync(sa, st)
	a.State = arrayState(&a, sa, st)
	return a
}

// inSyncCount counts the slots in_sync members hold: a member in a slot past raid_disks, or
// two claiming one slot, do not make the array whole. A member whose slot is not known
// (mdstat lists none) counts on its own.
func inSyncCount(members []Member, raidDisks int) int {
	held := map[int]bool{}
	n := 0
	for _, m := range members {
		if m.State != MemberInSync {
			continue
		}
		switch {
		case m.Slot == nil:
			n++
		case *m.Slot >= 0 && (raidDisks <= 0 || *m.Slot < raidDisks) && !held[*m.Slot]:
			held[*m.Slot] = true
			n++
		}
	}
	return n
}

func memberFromSys(m mdadm.SysMember) Member {
	mem := Member{Device: strp(m.Device), Flags: m.State, Gone: m.Gone}
	if m.Disk != "" {
		mem.Disk = strp(m.Disk)
	}
	if m.Slot != mdadm.Unknown {
		mem.Slot = intp(m.Slot)
	}
	mem.State, mem.Warnings = judgeMemberState(mdadm.ParseDevState(m.State), len(m.State) == 0, m.Slot != mdadm.Unknown)
	return mem
}

// judgeMemberState gives a member's state from its dev-*/state flags and the warnings they
// call for. md prints exactly one of faulty, in_sync, journal or spare (faulty may come with
// in_sync while bad blocks are unacknowledged); anything else cannot be judged.
func judgeMemberState(d mdadm.DevState, empty, hasSlot bool) (MemberState, []string) {
	var warn []string
	state := MemberUnknown
	switch {
	case empty:
		warn = append(warn, "its md state could not be read")
	case d.Faulty:
		state = MemberFaulty
	case d.InSync && (d.Spare || d.Journal):
		warn = append(warn, "its md state is contradictory (in_sync with spare or journal)")
	case d.InSync:
		state = MemberInSync
	case d.Journal:
		state = MemberJournal
	case d.Spare && hasSlot:
		state = MemberRebuilding
	case d.Spare:
		state = MemberSpare
	default:
		warn = append(warn, "its md state is neither in_sync, faulty nor spare")
	}
	if d.Blocked && !d.Faulty {
		warn = append(warn, "blocked: md holds writes to it until a failure or bad blocks on it are acknowledged")
	}
	if d.WriteError {
		warn = append(warn, "write_error: it has failed a write")
	}
	if d.WantReplacement {
		warn = append(warn, "want_replacement: md asks for it to be replaced")
	}
	for _, u := range d.Unknown {
		warn = append(warn, fmt.Sprintf("its md state has the flag %q, which raidswap does not know", u))
	}
	return state, warn
}

// memberFromMDStat is the fallback when sysfs lists no members: mdstat has only the (F) and
// (S) marks, no slots, so a member of a syncing array cannot be told in_sync or rebuilding.
func memberFromMDStat(c procfs.MDStatComponent, syncing bool) Member {
	m := Member{Device: strp(c.Name), State: MemberInSync}
	switch {
	case c.Faulty:
		m.State = MemberFaulty
	case c.Spare:
		m.State = MemberSpare
	case syncing:
		m.State = MemberUnknown
	}
	return m
}

// withMissingSlots adds a "missing" member for each slot that no in_sync or rebuilding member
// holds. A faulty member still listed by the kernel stands for its slot until it is removed,
// so each faulty member cancels one missing slot.
func withMissingSlots(members []Member, raidDisks, faulty int) []Member {
	if raidDisks <= 0 {
		return members
	}
	held := map[int]bool{}
	for _, m := range members {
		if m.Slot != nil && (m.State == MemberInSync || m.State == MemberRebuilding) {
			held[*m.Slot] = true
		}
	}
	for slot := 0; slot < raidDisks; slot++ {
		if held[slot] {
			continue
		}
		if faulty > 0 {
			faulty--
			continue
		}
		members = append(members, Member{Slot: intp(slot), State: MemberMissing})
	}
	return members
}

func buildSync(sa *mdadm.SysArray, st *mdadm.MDStat) *Sync {
	var action SyncAction
	if sa != nil && sa.SyncAction != "" && sa.SyncAction != "idle" && sa.SyncAction != "frozen" {
		action = SyncAction(sa.SyncAction)
	}
	delayed := st != nil && st.Delayed
	if action == "" && st != nil {
		switch st.Action {
		case "recovery":
			action = SyncRecover
		case "resync", "check", "repair", "reshape":
			action = SyncAction(st.Action)
		}
	}
	if action == "" {
		return nil
	}
	s := &Sync{Action: action, Delayed: delayed, SpeedKiB: 0, ETASeconds: -1}
	switch {
	case sa != nil && sa.SyncTotal > 0 && sa.SyncDone >= 0:
		s.Percent = float64(sa.SyncDone) * 100 / float64(sa.SyncTotal)
	case st != nil:
		s.Percent = st.BlocksSyncedPct
	}
	if sa != nil && sa.SyncSpeedKiB > 0 {
		s.SpeedKiB = sa.SyncSpeedKiB
	} else if st != nil && st.BlocksSyncedSpeed > 0 {
		s.SpeedKiB = int64(st.BlocksSyncedSpeed)
	}
	switch {
	case delayed:
		s.SpeedKiB = 0
	case sa != nil && sa.SyncTotal > 0 && s.SpeedKiB > 0:
		s.ETASeconds = (sa.SyncTotal - sa.SyncDone) / 2 / s.SpeedKiB
	case st != nil && st.BlocksSyncedFinishTime > 0:
		s.ETASeconds = int64(st.BlocksSyncedFinishTime * 60)
	}
	s.Percent = float64(int64(s.Percent*10)) / 10
	return s
}

// arrayState judges the array from three sources that md keeps separately and that a reader
// may catch mid-change: md/array_state and md/degraded in sysfs, the [n/m] [U_] of
// /proc/mdstat, and the tally of in_sync members. When they disagree the worse wins, and the
// disagreement is noted.
func arrayState(a *Array, sa *mdadm.SysArray, st *mdadm.MDStat) ArrayState {
	note := func(format string, args ...any) { a.Notes = append(a.Notes, fmt.Sprintf(format, args...)) }
	inactive, broken, unknown := false, false, false
	if sa != nil {
		switch sa.ArrayState {
		case "clean", "active", "active-idle", "write-pending", "read-auto":
		case "readonly":
			note("md/array_state is readonly: the array takes no writes")
		case "suspended":
			note("md/array_state is suspended: I/O to the array waits")
		case "inactive", "clear":
			inactive = true
		case "broken":
			broken = true
			note("md/array_state is broken: md has lost a member it cannot do without")
		case "":
			unknown = true
			note("md/array_state could not be read")
		default:
			unknown = true
			note("md/array_state is %q, which raidswap does not know", sa.ArrayState)
		}
	}
	if st != nil && st.ActivityState == "inactive" {
		inactive = true
	}
	switch {
	case sa == nil && st == nil:
		return ArrayUnknown
	case sa == nil:
		note("listed in /proc/mdstat but not in /sys/block")
	case st == nil:
		note("listed in /sys/block but not in /proc/mdstat")
	}
	if inactive {
		return ArrayInactive
	}
	if a.RaidDisks <= 0 {
		note("the number of member slots could not be read")
		return ArrayUnknown
	}

	tally := max(a.RaidDisks-a.ActiveDisks, 0)
	worst := tally
	var said []string
	if sa != nil && sa.Degraded >= 0 {
		worst = max(worst, sa.Degraded)
		if sa.Degraded != tally {
			said = append(said, fmt.Sprintf("md/degraded is %d", sa.Degraded))
		}
	}
	if st != nil && st.DisksTotal > 0 {
		down := max(int(st.DisksTotal-st.DisksActive), int(st.DisksDown))
		worst = max(worst, down)
		if down != tally {
			said = append(said, fmt.Sprintf("/proc/mdstat says %d missing", down))
		}
	}
	if len(said) > 0 {
		note("%s but %d of %d slots hold an in_sync member: the worse is taken", strings.Join(said, ", "), a.ActiveDisks, a.RaidDisks)
	}

	rebuilding, faulty := 0, 0
	for _, m := range a.Members {
		switch m.State {
		case MemberRebuilding:
			rebuilding++
		case MemberFaulty:
			faulty++
		}
	}
	recovering := a.Sync != nil && a.Sync.Action == SyncRecover
	switch {
	case worst > 0 && recovering && rebuilding >= worst && !broken:
		// Every missing slot is being rebuilt: redundancy is on its way back.
		return ArrayRecovering
	case worst > 0 || broken || faulty > 0:
		return ArrayDegraded
	case unknown:
		return ArrayUnknown
	case recovering:
		return ArrayRecovering
	case a.Sync != nil && a.Sync.Action == SyncResync:
		return ArrayResyncing
	}
	return ArrayClean
}

// addRememberedArrays adds, as missing, every array the inventory remembers that md lists
// nowhere: an array that lost its last member with a vanished disk, or that was stopped, is
// gone from /proc/mdstat and /sys/block, and only the inventory still knows it existed.
func (s *System) addRememberedArrays() {
	if s.Inventory == nil {
		return
	}
	listed := map[string]bool{}
	for _, a := range s.Arrays {
		listed[a.UUID] = true
		if a.UUID == "" {
			// Known only by name (sysfs unreadable): the name stands for it.
			listed["name:"+a.Name] = true
		}
	}
	byUUID := map[string]*Array{}
	var order []string
	for _, e := range s.Inventory.Disks {
		for _, h := range e.Members {
			if h.ArrayUUID == "" || listed[h.ArrayUUID] || listed["name:"+h.Array] {
				continue
			}
			a := byUUID[h.ArrayUUID]
			if a == nil {
				a = &Array{Name: h.Array, UUID: h.ArrayUUID, State: ArrayMissing, RaidDisks: mdadm.Unknown,
					ActiveDisks: 0, SizeKiB: mdadm.Unknown, Members: []Member{}}
				byUUID[h.ArrayUUID] = a
				order = append(order, h.ArrayUUID)
			}
			dup := false
			for _, m := range a.Members {
				dup = dup || *m.Slot == h.Slot
			}
			if !dup {
				a.Members = append(a.Members, Member{Slot: intp(h.Slot), State: MemberMissing})
			}
		}
	}
	sort.Slice(order, func(i, j int) bool { return mdadm.ArrayNameLess(byUUID[order[i]].Name, byUUID[order[j]].Name) })
	for _, u := range order {
		a := byUUID[u]
		sort.Slice(a.Members, func(i, j int) bool { return *a.Members[i].Slot < *a.Members[j].Slot })
		s.Arrays = append(s.Arrays, *a)
	}
}

// attachMembers records each array's members on their disks, resolves serials, adds disks
// that vanished (named from the inventory when the kernel has forgotten them), and gives
// each disk its verdict.
func (s *System) attachMembers() {
	for ai := range s.Arrays {
		a := &s.Arrays[ai]
		for mi := range a.Members {
			m := &a.Members[mi]
			if m.State == MemberMissing || m.Gone {
				s.remember(a, m)
			}
			if m.Disk == nil || m.Device == nil {
				continue
			}
			d := s.Disk(*m.Disk)
			if d == nil {
				d = s.addAbsent(Disk{Name: *m.Disk})
			}
			m.Serial = d.Serial
			d.Members = append(d.Members, DiskMember{Array: a.Name, Device: *m.Device, State: m.State})
		}
	}
	for i := range s.Disks {
		s.Disks[i].Verdict = diskVerdict(&s.Disks[i])
	}
	sort.SliceStable(s.Disks, func(i, j int) bool {
		return s.Disks[i].Present && !s.Disks[j].Present
	})
}

// remember names, from the inventory, the disk that last held a missing or gone member. A
// remembered disk that is not present is added as vanished; one that is present under some
// name is left alone (it was removed from the array, not lost).
func (s *System) remember(a *Array, m *Member) {
	if s.Inventory == nil || a.UUID == "" {
		return
	}
	slot, dev := -1, ""
	if m.Slot != nil {
		slot = *m.Slot
	}
	if m.Device != nil {
		dev = *m.Device
	}
	e, ok := s.Inventory.Holder(a.UUID, slot, dev)
	if !ok {
		return
	}
	m.LastSerial, m.LastDisk = e.Serial, e.Name
	if s.DiskBySerial(e.Serial) != nil {
		return
	}
	d := s.Disk(e.Name)
	if d != nil && d.Present {
		// The name was reused by another disk: the remembered one is still gone.
		d = nil
	}
	if d == nil {
		for i := range s.Disks {
			if !s.Disks[i].Present && s.Disks[i].Serial == e.Serial {
				d = &s.Disks[i]
			}
		}
	}
	if d == nil {
		d = s.addAbsent(Disk{Name: e.Name})
	}
	d.Serial, d.Model, d.WWN, d.SizeBytes, d.ByPath = e.Serial, e.Model, e.WWN, e.SizeBytes, e.ByPath
	if e.ByID != nil {
		d.ByID = e.ByID
	}
	d.LastSeen = e.LastSeen.UTC().Format("2006-01-02T15:04:05Z")
	if m.State == MemberMissing {
		for _, h := range e.Members {
			if h.ArrayUUID == a.UUID && h.Slot == slot {
				d.Members = append(d.Members, DiskMember{Array: a.Name, Device: h.Device, State: MemberMissing})
			}
		}
	}
}

func (s *System) addAbsent(d Disk) *Disk {
	d.Present = false
	d.ByID, d.Partitions, d.Holders, d.Mounted, d.Swap, d.Members = []string{}, []string{}, []string{}, []string{}, []string{}, []DiskMember{}
	s.Disks = append(s.Disks, d)
	return &s.Disks[len(s.Disks)-1]
}

func diskVerdict(d *Disk) DiskState {
	if !d.Present {
		return DiskVanished
	}
	if len(d.Members) == 0 {
		return DiskUnused
	}
	var faulty, inSync, rebuilding, spare int
	for _, m := range d.Members {
		switch m.State {
		case MemberFaulty:
			faulty++
		case MemberInSync:
			inSync++
		case MemberRebuilding:
			rebuilding++
		case MemberSpare:
			spare++
		}
	}
	switch {
	case faulty > 0 && (inSync > 0 || rebuilding > 0):
		return DiskPartiallyFailed
	case faulty > 0:
		return DiskFailed
	case rebuilding > 0:
		return DiskRebuilding
	case spare == len(d.Members):
		return DiskSpare
	default:
		return DiskHealthy
	}
}

// judge gives the overall verdict and the one line that explains it: what is critical
// first, then what needs attention. Whatever could not be read makes it at least a warning.
func judge(s *System) (Verdict, string) {
	var crit, warn []string
	for _, a := range s.Arrays {
		why := ""
		if len(a.Notes) > 0 {
			why = " (" + strings.Join(a.Notes, "; ") + ")"
		}
		switch a.State {
		case ArrayInactive:
			crit = append(crit, a.Name+" is inactive"+why)
		case ArrayDegraded:
			crit = append(crit, fmt.Sprintf("%s is degraded %s%s", a.Name, a.Bar(), why))
		case ArrayMissing:
			crit = append(crit, a.Name+" is missing: md lists it nowhere"+why)
		case ArrayUnknown:
			crit = append(crit, a.Name+" is in an unknown state"+why)
		case ArrayRecovering, ArrayResyncing:
			if a.Sync != nil && a.Sync.Delayed {
				warn = append(warn, fmt.Sprintf("%s waits to %s%s", a.Name, a.Sync.Action, why))
			} else if a.Sync != nil {
				warn = append(warn, fmt.Sprintf("%s is %s (%.1f%%)%s", a.Name, a.State, a.Sync.Percent, why))
			}
		default:
			if why != "" {
				warn = append(warn, a.Name+why[1:len(why)-1])
			}
		}
		for _, m := range a.Members {
			if m.State == MemberFaulty && a.State != ArrayDegraded {
				crit = append(crit, fmt.Sprintf("%s has faulty member %s", a.Name, *m.Device))
			}
			if len(m.Warnings) > 0 {
				warn = append(warn, fmt.Sprintf("%s member %s: %s", a.Name, memberName(m), strings.Join(m.Warnings, "; ")))
			}
		}
	}
	for _, d := range s.Disks {
		switch d.Verdict {
		case DiskVanished:
			line := fmt.Sprintf("disk %s has vanished", d.Label())
			if d.LastSeen != "" {
				line += ", last seen " + d.LastSeen
			}
			crit = append(crit, line)
		case DiskFailed, DiskPartiallyFailed:
			crit = append(crit, fmt.Sprintf("disk %s has %s", d.Label(), strings.ReplaceAll(string(d.Verdict), "_", " ")))
		}
	}
	if len(s.Problems) > 0 {
		warn = append(warn, fmt.Sprintf("could not read %d thing(s), first: %s", len(s.Problems), s.Problems[0]))
	}
	switch {
	case len(crit) > 0:
		return Critical, strings.Join(append(crit, warn...), "; ")
	case len(warn) > 0:
		return Warning, strings.Join(warn, "; ")
	case len(s.Arrays) == 0:
		return OK, "no md arrays"
	default:
		return OK, fmt.Sprintf("%d array(s) clean", len(s.Arrays))
	}
}

// memberName is "vdb2 on vdb (WD-X9)", or what is known of it.
func memberName(m Member) string {
	n := derefOr(m.Device, "slot ?")
	if m.Device == nil && m.Slot != nil {
		n = fmt.Sprintf("slot %d", *m.Slot)
	}
	if m.Disk != nil {
		n += " on " + *m.Disk
		if m.Serial != "" {
			n += " (" + m.Serial + ")"
		}
	}
	return n
}

func derefOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

// Bar is the familiar [UU] / [U_] picture of the array's slots.
func (a Array) Bar() string {
	if a.RaidDisks <= 0 {
		return "[?]"
	}
	slots := make([]byte, a.RaidDisks)
	for i := range slots {
		slots[i] = '_'
	}
	for _, m := range a.Members {
		if m.Slot != nil && *m.Slot >= 0 && *m.Slot < a.RaidDisks && m.State == MemberInSync {
			slots[*m.Slot] = 'U'
		}
	}
	return fmt.Sprintf("[%d/%d] [%s]", a.RaidDisks, a.ActiveDisks, slots)
}
