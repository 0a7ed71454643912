package view

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/plan"
)

// StepTitle says what step s of plan p does in an operator's words, with the new disk's
// real name (newName, "" when not chosen yet) in place of the {new} placeholders: for the
// wizard's lists, which an operator reads before typing a confirmation. Step ids and
// placeholders stay in --plan and the journal.
func StepTitle(p *plan.Plan, s plan.Step, newName string) string {
	t := s.Target
	dev := func(d string) string {
		if n, ok := plan.ParsePlaceholder(d); ok {
			switch {
			case n == 0 && newName != "":
				return newName
			case n == 0:
				return "the new disk"
			case newName != "":
				exp, err := plan.Expand([]string{d}, newName)
				if err == nil && len(exp) == 1 {
					return strings.TrimPrefix(exp[0], "/dev/")
				}
			}
			return fmt.Sprintf("the new disk's partition %d", n)
		}
		return strings.TrimPrefix(d, "/dev/")
	}
	survivor := p.Disks.Survivor.Serial
	switch s.Action {
	case plan.ActionPreflight:
		return "check that every program the plan runs is installed"
	case plan.ActionSwapOff:
		return "stop swap on " + dev(t.Device)
	case plan.ActionDetach:
		if t.Detached {
			return "take the vanished disk's member out of " + t.Array
		}
		return fmt.Sprintf("take %s out of %s", dev(t.Device), t.Array)
	case plan.ActionLocate:
		return "show which disk to pull (bay LED, serial, bus path)"
	case plan.ActionLEDOff:
		return "turn the bay LED off"
	case plan.ActionAwaitRemoval:
		return "wait until the failed disk is pulled"
	case plan.ActionAwaitNewDisk:
		return "wait for the new disk"
	case plan.ActionCheckNewDisk:
		return "check the new disk (size, serial, nothing on it)"
	case plan.ActionPartitionClone:
		if t.UEFI != nil {
			return fmt.Sprintf("copy the survivor's partition table onto %s, with a new ESP (partition %d)", dev(plan.NewDiskToken), t.UEFI.Part)
		}
		return "copy the survivor's partition table onto " + dev(plan.NewDiskToken)
	case plan.ActionZeroSuperblock:
		return "clear old md superblocks on " + dev(plan.NewDiskToken)
	case plan.ActionAddMember:
		return fmt.Sprintf("add %s to %s (the rebuild starts)", dev(t.Device), t.Array)
	case plan.ActionAddSpare:
		return fmt.Sprintf("add %s to %s as a spare", dev(t.Device), t.Array)
	case plan.ActionReplaceMember:
		return fmt.Sprintf("copy %s onto %s in %s (the array stays redundant)", dev(t.Device), dev(t.With), t.Array)
	case plan.ActionRemoveReplaced:
		return fmt.Sprintf("take the replaced %s out of %s", dev(t.Device), t.Array)
	case plan.ActionReAddMember:
		return fmt.Sprintf("put %s back into %s", dev(t.Device), t.Array)
	case plan.ActionMkswap:
		return "make swap on " + dev(t.Device) + " (the old swap's UUID)"
	case plan.ActionSwapOn:
		return "start swap on " + dev(t.Device)
	case plan.ActionBootloader:
		switch {
		case t.Device == "":
			return "boot code: nothing to run here (the reason is shown when the step comes)"
		case t.Serial == survivor && survivor != "":
			return "install GRUB on the survivor " + dev(t.Device)
		}
		return "install GRUB on " + dev(t.Device)
	case plan.ActionMountBoot:
		return "mount /boot's array for GRUB"
	case plan.ActionUnmountBoot:
		return "unmount /boot's array again"
	case plan.ActionDebconfDevices:
		return "tell the package manager which disks get GRUB"
	case plan.ActionBootByHand:
		return "GRUB by hand on " + dev(t.Device) + " (the commands are shown)"
	case plan.ActionRaiseSpeed:
		return "let md rebuild faster"
	case plan.ActionRestoreSpeed:
		return "put md's rebuild speed limits back"
	case plan.ActionAwaitRebuild:
		return "wait until every array is redundant again"
	case plan.ActionVerify:
		return "check every array is redundant, with its member on the right disk"
	case plan.ActionESPFallback:
		return "write the fallback boot loader on the survivor's ESP if missing"
	case plan.ActionESPFormat:
		return "make the new ESP's file system on " + dev(t.Device)
	case plan.ActionESPSync:
		return "copy the survivor's ESP onto " + dev(t.Device)
	case plan.ActionESPInstall:
		return "install GRUB into the new ESP " + dev(t.Device)
	case plan.ActionEFIEntry:
		return "a firmware boot entry for " + dev(t.Device)
	case plan.ActionEFIBootOrder:
		return "put the new disk's boot entry where the failed disk's was"
	case plan.ActionVerifyUEFI:
		return "check each disk boots alone by UEFI"
	}
	return string(s.Action)
}
