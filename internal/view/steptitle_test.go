package view

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/plan"
)

// TestStepTitleEveryAction: every action has an operator's title, with no step id and no
// {new} placeholder once the new disk is known (issue 20, item 4).
func TestStepTitleEveryAction(t *testing.T) {
	p := &plan.Plan{Disks: plan.Disks{Survivor: plan.DiskRef{Device: "vda", Serial: "S"}}}
	actions := []plan.Action{plan.ActionPreflight, plan.ActionSwapOff, plan.ActionDetach, plan.ActionLocate, plan.ActionLEDOff,
		plan.ActionAwaitRemoval, plan.ActionAwaitNewDisk, plan.ActionCheckNewDisk, plan.ActionPartitionClone, plan.ActionZeroSuperblock,
		plan.ActionAddMember, plan.ActionAddSpare, plan.ActionReplaceMember, plan.ActionRemoveReplaced, plan.ActionReAddMember,
		plan.ActionMkswap, plan.ActionSwapOn, plan.ActionBootloader, plan.ActionMountBoot, plan.ActionUnmountBoot,
		plan.ActionDebconfDevices, plan.ActionBootByHand, plan.ActionRaiseSpeed, plan.ActionAwaitRebuild, plan.ActionRestoreSpeed,
		plan.ActionVerify, plan.ActionESPFallback, plan.ActionESPFormat, plan.ActionESPSync, plan.ActionESPInstall,
		plan.ActionEFIEntry, plan.ActionEFIBootOrder, plan.ActionVerifyUEFI}
	for _, a := range actions {
		s := plan.Step{ID: "07-" + string(a), Action: a, Target: plan.Target{Device: "{new:2}", Array: "md0", With: "{new:2}"}}
		got := StepTitle(p, s, "vdc")
		if got == string(a) || strings.Contains(got, "{new") || strings.Contains(got, "07-") {
			t.Errorf("%s: title %q", a, got)
		}
	}
	s := plan.Step{Action: plan.ActionAddMember, Target: plan.Target{Device: "{new:2}", Array: "md0"}}
	if got := StepTitle(p, s, "nvme1n1"); got != "add nvme1n1p2 to md0 (the rebuild starts)" {
		t.Errorf("add: %q", got)
	}
	if got := StepTitle(p, s, ""); got != "add the new disk's partition 2 to md0 (the rebuild starts)" {
		t.Errorf("add, new disk unknown: %q", got)
	}
	b := plan.Step{Action: plan.ActionBootloader, Target: plan.Target{Device: "vda", Serial: "S"}}
	if got := StepTitle(p, b, "vdc"); got != "install GRUB on the survivor vda" {
		t.Errorf("bootloader: %q", got)
	}
}
