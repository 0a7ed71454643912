package simulate

import (
	"fmt"
	"strings"
)

// Outcome is what raidswap does with a layout row: replaces the disk end to end, or refuses
// with a reason.
type Outcome string

// Outcomes of a layout row.
const (
	Works   Outcome = "works"
	Refused Outcome = "refused"
	// Stops: raidswap starts, then stops on what happens during the run (DuringRebuild),
	// says so, and resume refuses to go on.
	Stops Outcome = "stops"
)

// Layout is one row of the layout table: a server's disks and arrays, what breaks, and what
// raidswap must do about it. The VM suite (TestVMLayouts) runs every row on a real kernel and
// docs/layouts.md lists exactly these rows (TestLayoutsDoc keeps them equal).
type Layout struct {
	// Name is the row's id: the subtest's name and the docs table's first column.
	Name string
	// Title says the layout and the failure in words, for the docs.
	Title string
	// Disks is how many disks hold the arrays: vda, vdb, ... with serials WD-A, WD-B, ...
	Disks int
	// Arrays are built over every disk (partition 2, 3, ... in order), except the last
	// WholeDisks disks.
	Arrays []ArraySpec
	// WholeDisks are how many of the last disks carry no partition table: Whole is built over
	// them directly (PlanWholeDisk), a whole-disk member on each.
	WholeDisks int
	Whole      *ArraySpec
	// Break is the shell that breaks the layout after it is built (mdadm --fail ...).
	Break string
	// DuringRebuild is the shell run once raidswap waits for the rebuild (a second failure).
	DuringRebuild string
	// Failed is the serial of the disk replaced.
	Failed string
	// NewBeside attaches the new disk (WD-NEW) before raidswap runs; otherwise it is plugged
	// in after the failed disk is pulled, as in a server without a free bay.
	NewBeside bool
	// NewSizeBytes is the new disk's size; 0 means the size of every other disk (256 MiB).
	NewSizeBytes int64
	// Outcome is what raidswap must do; Says are texts its output must contain (status,
	// plan, the refusal).
	Outcome Outcome
	Says    []string
	// StaysDegraded are arrays that stay degraded at the end by slots lost on other disks
	// (the plan says so); every other array must end with every slot in sync.
	StaysDegraded []string
	// Lost are arrays whose data is gone (FAILED): no canary is read from them.
	Lost []string
	// Why is the docs table's last column: how it works, or why it is refused.
	Why string
}

// NewSerial is the replacement disk's serial in every row.
const NewSerial = "WD-NEW"

// LayoutSerial is the serial of the i-th disk of a row (0 → WD-A).
func LayoutSerial(i int) string { return fmt.Sprintf("WD-%c", 'A'+i) }

// Layouts is the table. Each row is proven by TestVMLayouts on the VM's kernel.
func Layouts() []Layout {
	mirrorAndRaid5 := []ArraySpec{
		{Name: "md0", Metadata: "1.2", Size: 48 * mib},
		{Name: "md1", Level: "5", Metadata: "1.2"},
	}
	return []Layout{
		{
			Name:  "raid5-degraded-new-beside",
			Title: "3 disks: md0 RAID1, md1 RAID5 already missing WD-B's member; WD-C's md0 member fails; the new disk is attached beside WD-C",
			Disks: 3, Arrays: mirrorAndRaid5, Failed: "WD-C", NewBeside: true,
			Break:   "mdadm /dev/md1 --fail /dev/vdb3 --remove /dev/vdb3\nmdadm /dev/md0 --fail /dev/vdc2",
			Outcome: Works,
			Says: []string{"md1 rebuilds its empty slot onto the new disk", "md1 stays degraded after this plan",
				"mdadm /dev/md1 --add /dev/vdd3", "mdadm /dev/md1 --fail /dev/vdc3 --remove /dev/vdc3"},
			StaysDegraded: []string{"md1"},
			Why:           "md1 cannot lose WD-C's member yet: the new disk is added first and md rebuilds md1's empty slot onto it (`mdadm --replace` cannot work here: md takes any new member for the empty slot); only then is WD-C's member failed and removed, md1 never short of more than one member; md0 is rebuilt; md1 ends one slot short, WD-C's (the plan says so)",
		},
		{
			Name:  "raid5-degraded-no-free-bay",
			Title: "the same, but the new disk can only go in after WD-C is pulled",
			Disks: 3, Arrays: mirrorAndRaid5, Failed: "WD-C",
			Break:   "mdadm /dev/md1 --fail /dev/vdb3 --remove /dev/vdb3\nmdadm /dev/md0 --fail /dev/vdc2",
			Outcome: Refused,
			Says:    []string{"md1 (raid5, 1 of 3 slots lost, can lose no more) still needs vdc (WD-C)'s in_sync member vdc3: failing or removing it would stop md1", "restore md1's redundancy first (replace the disk of slot 1 (WD-B))"},
			Why:     "pulling WD-C would stop md1: refused, naming md1 and the two ways out (attach the new disk beside WD-C, or replace WD-B first); nothing is changed",
		},
		{
			Name:  "raid5-two-of-three-failed",
			Title: "3 disks: md1 RAID5 with WD-B's and WD-C's members failed",
			Disks: 3, Arrays: mirrorAndRaid5, Failed: "WD-C",
			Break:   "mdadm /dev/md1 --fail /dev/vdb3\nmdadm /dev/md1 --fail /dev/vdc3 || true",
			Outcome: Refused,
			Says:    []string{"md1 has FAILED: raid5, 2 of 3 slots lost", "restore from backup", "md1 (uuid"},
			Lost:    []string{"md1"},
			Why:     "md1 has FAILED (a RAID5 survives one loss): status is CRITICAL with \"restore from backup\"; no plan, no rebuild steps",
		},
		{
			Name:  "raid10-near2-single",
			Title: "4 disks: md0 RAID1, md1 RAID10 near2; WD-D fails in both",
			Disks: 4, Arrays: []ArraySpec{{Name: "md0", Metadata: "1.2", Size: 48 * mib}, {Name: "md1", Level: "10", Layout: "n2", Metadata: "1.2"}},
			Failed:  "WD-D",
			Break:   "mdadm /dev/md0 --fail /dev/vdd2\nmdadm /dev/md1 --fail /dev/vdd3",
			Outcome: Works,
			Says:    []string{"md1 rebuilds from vdc3 on vdc (WD-C), its only copy of that data"},
			Why:     "the failed members are removed, the new disk is added, md1 rebuilds slot 3 from its near copy on WD-C",
		},
		{
			Name:  "raid10-far2-two-disks",
			Title: "2 disks: md0 RAID1, md1 RAID10 far2 over both (a mirror that reads like a stripe); WD-B fails in both",
			Disks: 2, Arrays: []ArraySpec{{Name: "md0", Metadata: "1.2", Size: 48 * mib}, {Name: "md1", Level: "10", Layout: "f2", Metadata: "1.2"}},
			Failed:  "WD-B",
			Break:   "mdadm /dev/md0 --fail /dev/vdb2\nmdadm /dev/md1 --fail /dev/vdb3",
			Outcome: Works,
			Says:    []string{"mdadm /dev/md1 --fail /dev/vdb3 --remove /dev/vdb3", "mdadm /dev/md1 --add"},
			Why:     "like a RAID1 pair: WD-B's members are failed and removed, the new disk is added, md1 rebuilds from WD-A, which holds a copy of every chunk (far2 on two disks keeps each chunk on both)",
		},
		{
			Name:  "raid10-offset2-three-disks",
			Title: "3 disks: md0 RAID1, md1 RAID10 offset2 over three disks; WD-C fails in both",
			Disks: 3, Arrays: []ArraySpec{{Name: "md0", Metadata: "1.2", Size: 48 * mib}, {Name: "md1", Level: "10", Layout: "o2", Metadata: "1.2"}},
			Failed:  "WD-C",
			Break:   "mdadm /dev/md0 --fail /dev/vdc2\nmdadm /dev/md1 --fail /dev/vdc3",
			Outcome: Works,
			Says:    []string{"md1 rebuilds from vda3 on vda (WD-A) and vdb3 on vdb (WD-B)"},
			Why:     "WD-C's slot holds chunks whose other copy is on WD-A and chunks whose other copy is on WD-B: the plan says md1 needs both (not \"any one of\" them), and md rebuilds it from both",
		},
		{
			Name:  "raid4-parity-disk",
			Title: "3 disks: md0 RAID1, md1 RAID4 (parity on the last disk, WD-C); WD-C fails in both",
			Disks: 3, Arrays: []ArraySpec{{Name: "md0", Metadata: "1.2", Size: 48 * mib}, {Name: "md1", Level: "4", Metadata: "1.2"}},
			Failed:  "WD-C",
			Break:   "mdadm /dev/md0 --fail /dev/vdc2\nmdadm /dev/md1 --fail /dev/vdc3",
			Outcome: Works,
			Says:    []string{"md1 rebuilds from parity: md reads every in-sync member (vda3 on vda (WD-A)"},
			Why:     "the parity disk is rebuilt from the data members like any RAID5 slot; md0 is rebuilt from WD-A or WD-B",
		},
		{
			Name:  "raid6-two-failed",
			Title: "4 disks: md0 RAID1, md1 RAID6; WD-C and WD-D fail in both; WD-C is replaced",
			Disks: 4, Arrays: []ArraySpec{{Name: "md0", Metadata: "1.2", Size: 48 * mib}, {Name: "md1", Level: "6", Metadata: "1.2"}},
			Failed:        "WD-C",
			Break:         "mdadm /dev/md0 --fail /dev/vdc2 --fail /dev/vdd2\nmdadm /dev/md1 --fail /dev/vdc3 --fail /dev/vdd3",
			Outcome:       Works,
			Says:          []string{"md1 rebuilds from parity", "md1 stays degraded after this plan"},
			StaysDegraded: []string{"md0", "md1"},
			Why:           "WD-C's slots are rebuilt (md1 from parity); both arrays end one slot short, WD-D's, which the plan names to replace next",
		},
		{
			Name:  "second-failure-during-rebuild",
			Title: "3 disks: md0 RAID1, md1 RAID5; WD-C fails and is replaced; during the rebuild WD-B's md1 member fails too",
			Disks: 3, Arrays: mirrorAndRaid5, Failed: "WD-C",
			Break:         "echo 1000 > /proc/sys/dev/raid/speed_limit_max\nmdadm /dev/md0 --fail /dev/vdc2\nmdadm /dev/md1 --fail /dev/vdc3",
			DuringRebuild: "mdadm /dev/md1 --fail /dev/vdb3",
			Outcome:       Stops,
			Says:          []string{"a second failure during the rebuild: md1 member vdb3 on vdb (WD-B) is faulty", "md1 (raid5, 2 of 3 slots lost: FAILED", "no good copy left", "restore from backup", "Still rebuilding or redundant: md0", "this run cannot be resumed: a second failure during the rebuild"},
			Lost:          []string{"md1"},
			Why:           "noticed within seconds (exit 67): raidswap names md1 as having no good copy left (restore from backup) and md0 as still rebuilding, journals it, and `raidswap resume` refuses the run and says the way out",
		},
		{
			Name: "raid1-whole-disk",
			Title: "4 disks: md0 RAID1 on partitions of WD-A and WD-B; md1 RAID1 (metadata 1.2, 128 MiB) built over the whole disks WD-C and WD-D, no partition table; WD-D fails; " +
				"the new disk (192 MiB, attached beside) is smaller than WD-C (256 MiB)",
			Disks: 4, Arrays: []ArraySpec{{Name: "md0", Metadata: "1.2"}},
			WholeDisks: 2, Whole: &ArraySpec{Name: "md1", Metadata: "1.2", Size: 128 * mib},
			NewSizeBytes: 192 * mib, NewBeside: true,
			Failed:  "WD-D",
			Break:   "mdadm /dev/md1 --fail /dev/vdd",
			Outcome: Works,
			Says: []string{"vdd on vdd (WD-D)", "md1's members are whole disks (vdc on vdc (WD-C)): there is no partition table to clone",
				"the new disk must be at least 135266304 bytes (md1's data offset on vdc (2048 sectors,", "component size (131072 KiB, md/component_size), from sysfs",
				"mdadm /dev/md1 --fail /dev/vdd --remove /dev/vdd", "mdadm --zero-superblock /dev/vde", "mdadm /dev/md1 --add /dev/vde"},
			Why: "no table to clone (the plan says so): WD-D's member is failed and removed, the new disk's stale superblock cleared and the whole disk added; it must hold md1's data offset + component size (sysfs), not WD-C's size, so the smaller new disk is taken; md0 is untouched",
		},
		{
			Name:  "raid5-whole-disk",
			Title: "3 disks, no partition tables: md0 RAID5 (metadata 1.0) built over the whole disks WD-A, WD-B and WD-C; WD-B fails; the new disk is attached beside",
			Disks: 3, WholeDisks: 3, Whole: &ArraySpec{Name: "md0", Level: "5", Metadata: "1.0"},
			NewBeside: true,
			Failed:    "WD-B",
			Break:     "mdadm /dev/md0 --fail /dev/vdb",
			Outcome:   Works,
			Says: []string{"vdb on vdb (WD-B)", "md0 rebuilds from parity", "there is no partition table to clone",
				"at least 268435456 bytes (the survivor's size)", "mdadm /dev/md0 --add /dev/vdd"},
			Why: "rebuilt from parity onto the whole new disk; metadata 1.0 keeps its superblock after the data, so the new disk must be as large as the survivor (the plan says so)",
		},
		{
			Name:  "spare-took-over",
			Title: "3 disks: md0 RAID1 on WD-A and WD-B with a hot spare on WD-C; WD-B fails and md rebuilds onto the spare",
			Disks: 3, Arrays: []ArraySpec{{Name: "md0", Metadata: "1.2", Spares: 1}},
			Failed:  "WD-B",
			Break:   "mdadm /dev/md0 --fail /dev/vdb2\nsleep 1\nmdadm --wait /dev/md0 || true",
			Outcome: Works,
			Says:    []string{"md0 has a faulty leftover vdb2", "becomes its new spare"},
			Why:     "status says \"faulty leftover: remove it\"; the plan removes it, and the new disk becomes md0's new spare (verify accepts the spare)",
		},
	}
}

// AllArrays are the row's arrays: Arrays, then Whole.
func (l Layout) AllArrays() []ArraySpec {
	out := append([]ArraySpec{}, l.Arrays...)
	if l.Whole != nil {
		out = append(out, *l.Whole)
	}
	return out
}

// DisksOf is how many disks array a of the row is built over.
func (l Layout) DisksOf(a ArraySpec) int {
	if l.Whole != nil && a.Name == l.Whole.Name {
		return l.WholeDisks
	}
	return l.Disks - l.WholeDisks
}

// Layout returns the row with the given name.
func LayoutByName(name string) (Layout, bool) {
	for _, l := range Layouts() {
		if l.Name == name {
			return l, true
		}
	}
	return Layout{}, false
}

// LayoutsTable renders the rows as docs/layouts.md's table.
func LayoutsTable() string {
	var b strings.Builder
	b.WriteString("| row | layout and failure | outcome | how / why |\n|---|---|---|---|\n")
	for _, l := range Layouts() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", l.Name, l.Title, l.Outcome, l.Why)
	}
	return b.String()
}
