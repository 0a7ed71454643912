package exec

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// TestSafetyInvariants feeds the executor's last check steps a plan would never contain (a
// plan's checksum stops hand edits; this is the net below it).
func TestSafetyInvariants(t *testing.T) {
	seed := plantest.Seed()
	p := build(t, seed, seedReq())
	lastInSync := plantest.Seed()
	lastInSync.Arrays[1].Members[1] = plantest.Member("vdb2", "vdb", "", 1, discover.MemberInSync)
	lastInSync.Arrays[1].Members[0].State = discover.MemberFaulty
	plantest.Finish(lastInSync)
	withNew := plantest.Seed()
	withNew.Disks = append(withNew.Disks, plantest.Disk("vdc", plantest.New))
	withNew.Arrays[1].Members = append(withNew.Arrays[1].Members, plantest.Member("vdc2", "vdc", "", 2, discover.MemberSpare))
	plantest.Finish(withNew)
	// A second disk carrying the serial the plan is bound to (a USB bridge, a cloned disk):
	// the serial check proves nothing then.
	twinOld := plantest.Seed()
	twinOld.Disks = append(twinOld.Disks, plantest.BlankDisk("vdd", plantest.Old))
	twinNew := plantest.Seed()
	twinNew.Disks = append(twinNew.Disks, plantest.Disk("vdc", plantest.New), plantest.BlankDisk("vdd", plantest.New))
	twinSurv := plantest.Seed()
	twinSurv.Disks = append(twinSurv.Disks, plantest.BlankDisk("vdd", plantest.Survivor))
	md0 := plantest.Boot()
	tests := []struct {
		name string
		sys  *discover.System
		step plan.Step
		want string
	}{
		{"add the survivor's partition", seed, plan.Step{ID: "x", Action: plan.ActionAddMember, Target: plan.Target{Device: "vda2", Serial: plantest.New, Array: "md0", ArrayUUID: md0.UUID}},
			"refusing to write /dev/vda2 (WD-SURV): it is the survivor"},
		{"zero the survivor", seed, plan.Step{ID: "x", Action: plan.ActionZeroSuperblock, Target: plan.Target{Device: "vda", Partitions: []int{3}}},
			"refusing to write /dev/vda3 (WD-SURV): it is the survivor"},
		{"detach the last in_sync member", lastInSync, plan.Step{ID: "x", Action: plan.ActionDetach,
			Target: plan.Target{Device: "vdb2", Serial: plantest.Old, Array: "md0", ArrayUUID: md0.UUID}},
			"it would remove the last in_sync member of md0"},
		{"detach a disk whose serial differs", seed, plan.Step{ID: "x", Action: plan.ActionDetach,
			Target: plan.Target{Device: "vdb2", Serial: "WD-OTHER", Array: "md0", ArrayUUID: md0.UUID}},
			"refusing to write /dev/vdb2 (WD-OLD): the plan expects serial WD-OTHER"},
		{"detach a device the array does not name", seed, plan.Step{ID: "x", Action: plan.ActionDetach,
			Target: plan.Target{Serial: plantest.Old, Array: "md0", ArrayUUID: md0.UUID}},
			"the step names no device"},
		{"an array name that now means another array", seed, plan.Step{ID: "x", Action: plan.ActionDetach,
			Target: plan.Target{Device: "vdb2", Serial: plantest.Old, Array: "md1", ArrayUUID: md0.UUID}},
			"the array with UUID " + md0.UUID + " is now md0, not md1"},
		{"zero a member partition of the new disk", withNew, plan.Step{ID: "x", Action: plan.ActionZeroSuperblock, Target: plan.Target{Device: "{new}", Partitions: []int{2}}},
			"refusing to write /dev/vdc2 (WD-NEW): it holds md0 member vdc2 (spare)"},
		{"zero a partition of the failed disk as if new", seed, plan.Step{ID: "x", Action: plan.ActionZeroSuperblock, Target: plan.Target{Device: "vdb", Serial: plantest.New, Partitions: []int{1}}},
			"refusing to write /dev/vdb1 (WD-OLD): the plan writes to the disk with serial WD-NEW"},
		{"boot code on a disk the plan does not name", withNew, plan.Step{ID: "x", Action: plan.ActionBootloader, Target: plan.Target{Device: "vdb", Serial: plantest.Survivor}},
			"refusing to write /dev/vdb (WD-OLD): the plan installs boot code on WD-SURV"},
		{"partition clone onto a disk in use", withNew, plan.Step{ID: "x", Action: plan.ActionPartitionClone, Target: plan.Target{Device: "{new}"}},
			"refusing to write /dev/vdc (WD-NEW): it holds md0 member vdc2 (spare)"},
		{"detach from a disk whose serial another disk carries", twinOld, plan.Step{ID: "x", Action: plan.ActionDetach,
			Target: plan.Target{Device: "vdb2", Serial: plantest.Old, Array: "md0", ArrayUUID: md0.UUID}},
			`refusing to write /dev/vdb2 (WD-OLD): 2 disks report serial "WD-OLD" (vdb, vdd), so raidswap cannot tell them apart by serial; tell them apart by WWN`},
		{"zero the new disk while its serial is on two disks", twinNew, plan.Step{ID: "x", Action: plan.ActionZeroSuperblock, Target: plan.Target{Device: "{new}", Partitions: []int{2}}},
			`refusing to write /dev/vdc2 (WD-NEW): 2 disks report serial "WD-NEW" (vdc, vdd)`},
		{"clone onto the new disk while its serial is on two disks", twinNew, plan.Step{ID: "x", Action: plan.ActionPartitionClone, Target: plan.Target{Device: "{new}"}},
			`refusing to write /dev/vdc (WD-NEW): 2 disks report serial "WD-NEW" (vdc, vdd)`},
		{"boot code on the survivor while its serial is on two disks", twinSurv, plan.Step{ID: "x", Action: plan.ActionBootloader, Target: plan.Target{Device: "vda", Serial: plantest.Survivor}},
			`refusing to write /dev/vda (WD-SURV): 2 disks report serial "WD-SURV" (vda, vdd)`},
		{"the fallback path on an ESP md member, not through the array", plantest.ESPOnMD(), plan.Step{ID: "x", Action: plan.ActionESPFallback,
			Target: plan.Target{Device: "vda1", Serial: plantest.Survivor, UEFI: &plan.UEFITarget{Part: 1, Loader: "EFI/debian/grubx64.efi"}}},
			"refusing to write /dev/vda1 (WD-SURV): it is a member of md127: an ESP on md is written through the array"},
		{"the fallback path through an array the partition is no member of", seed, plan.Step{ID: "x", Action: plan.ActionESPFallback,
			Target: plan.Target{Device: "vda1", Serial: plantest.Survivor, UEFI: &plan.UEFITarget{Part: 1, Loader: "EFI/debian/grubx64.efi", MDArray: "md127"}}},
			"the plan writes its fallback path through md127, but it is no member of md127"},
		{"the fallback path through another array than the partition's", plantest.ESPOnMD(), plan.Step{ID: "x", Action: plan.ActionESPFallback,
			Target: plan.Target{Device: "vda2", Serial: plantest.Survivor, UEFI: &plan.UEFITarget{Part: 2, Loader: "EFI/debian/grubx64.efi", MDArray: "md127"}}},
			"refusing to write /dev/vda2 (WD-SURV): it is a member of md0"},
		{"unknown action", seed, plan.Step{ID: "x", Action: "format-everything"}, "unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &world{sys: tt.sys, newSerial: plantest.New}
			err := w.checkSafety(p, tt.step)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// And what the plan does do passes.
	w := &world{sys: seed, newSerial: plantest.New}
	if err := w.checkSafety(p, p.Steps[1]); err != nil {
		t.Errorf("the plan's own detach step is refused: %v", err)
	}
}

// TestSafetyRedundancy: right before a fail or remove, the executor asks the redundancy model
// about the array as it is now, so a plan made while md1 (raid5) was whole cannot stop it
// after another member failed (issue 17), also when only md's own degraded count says so.
func TestSafetyRedundancy(t *testing.T) {
	raid5 := func(slot1 discover.MemberState, mdDegraded int) *discover.System {
		m1 := plantest.Member("vdd3", "vdd", "", 1, slot1)
		if slot1 != discover.MemberInSync {
			m1.Slot = nil
		}
		s := &discover.System{
			Arrays: []discover.Array{{Name: "md1", UUID: plantest.RootUUID, Level: "raid5", RaidDisks: 3, MDDegraded: mdDegraded, Members: []discover.Member{
				plantest.Member("vda3", "vda", "", 0, discover.MemberInSync), m1, plantest.Member("vdb3", "vdb", "", 2, discover.MemberInSync)}}},
			Disks: []discover.Disk{plantest.Disk("vda", plantest.Survivor), plantest.Disk("vdb", plantest.Old), plantest.Disk("vdd", "WD-B")},
		}
		return plantest.Finish(s)
	}
	p := build(t, plantest.Seed(), seedReq())
	detach := plan.Step{ID: "x", Action: plan.ActionDetach, Target: plan.Target{Device: "vdb3", Serial: plantest.Old, Array: "md1", ArrayUUID: plantest.RootUUID}}
	for _, tt := range []struct {
		name string
		sys  *discover.System
		want string // "" = allowed
	}{
		{"raid5 whole: one in_sync member may go", raid5(discover.MemberInSync, 0), ""},
		{"raid5 lost another member since the plan", raid5(discover.MemberFaulty, 1),
			"refusing to write /dev/vdb3 (WD-OLD): it would stop md1 (raid5, 1 of 3 slots lost, can lose no more): without in_sync vdb3 it would have 2 of 3 slots lost: FAILED"},
		{"md counts a lost slot the members do not show", raid5(discover.MemberInSync, 1), "it would stop md1 (raid5, 1 of 3 slots lost, can lose no more)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := &world{sys: tt.sys, newSerial: plantest.New}
			err := w.checkSafety(p, detach)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
