package plan

import (
	"fmt"
	"path"
	"reflect"
	"regexp"
	"slices"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/mdadm"
	"github.com/raidswap/raidswap/partition"
)

// A plan file is untrusted input: apply derives every step's command from its Action and
// typed Target here and runs that, never the Argv stored in the file. Each action has one
// program; an operand that is not a plain kernel name, array name, placeholder or UUID is
// refused, so no edit of a plan can point a command at another program or at a path.

var (
	// kernelNameRE is a block device's kernel name (sdb, vdb2, nvme0n1p3, xvda1, dm-0).
	kernelNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	// arrayNameRE is an md array's kernel name (md0, md127, md_d0).
	arrayNameRE = regexp.MustCompile(`^md[a-z0-9_]{0,16}$`)
	swapUUIDRE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// bootDirRE is a bootloader step's --boot-directory: an absolute path of plain characters.
	bootDirRE = regexp.MustCompile(`^/[A-Za-z0-9._/+-]{1,255}$`)
)

// InProcessAction reports whether raidswap does a step of action a itself (waits, checks,
// the partition clone) instead of running a command. A bootloader step with no device is
// an in-process note too.
func InProcessAction(a Action, t Target) bool {
	switch a {
	case ActionLocate, ActionAwaitRemoval, ActionAwaitNewDisk, ActionCheckNewDisk, ActionAwaitRebuild,
		ActionVerify, ActionPartitionClone, ActionRaiseSpeed, ActionRestoreSpeed, ActionLEDOff:
		return true
	case ActionBootloader:
		return t.Device == ""
	case ActionESPFallback, ActionESPSync, ActionEFIBootOrder, ActionVerifyUEFI, ActionBootByHand, ActionPreflight:
		return true
	}
	return false
}

// Derive is the command of step s of plan p, built from the step's action and typed operands
// (nil for a step that runs no command), its program the one the distribution profile prof
// names (host.Profile: grub2-install on RHEL): the live system's, never the plan file's. For
// an in-process step it is the equivalent command line, shown for review. It fails on an
// unknown action or an operand that is not of its kind.
func Derive(prof host.Profile, p *Plan, s Step) ([]string, error) {
	argv, err := derive(p, s)
	if err != nil || argv == nil {
		return argv, err
	}
	return prof.Argv(argv), nil
}

func derive(p *Plan, s Step) ([]string, error) {
	t := s.Target
	bad := func(format string, a ...any) ([]string, error) {
		return nil, &InvalidError{Reason: fmt.Sprintf("step %s (%s): %s", s.ID, s.Action, fmt.Sprintf(format, a...))}
	}
	array := func() (string, error) {
		if !arrayNameRE.MatchString(t.Array) {
			return "", fmt.Errorf("array %q is not an md array name", t.Array)
		}
		return mdadm.ArrayDevice(t.Array), nil
	}
	switch s.Action {
	case ActionAwaitRemoval, ActionAwaitNewDisk, ActionCheckNewDisk, ActionRestoreSpeed, ActionPreflight:
		return nil, nil
	case ActionLocate, ActionVerify, ActionLEDOff:
		// The bay LED is driven in-process: a kernel file raidswap writes, or ledctl, whose
		// command is shown and run as derived here.
		if s.Action == ActionLEDOff && t.LED == nil {
			return bad("no LED to turn off")
		}
		argv, err := deriveLED(t.LED, s.Action == ActionLocate)
		if err != nil {
			return bad("%v", err)
		}
		if s.Action == ActionVerify {
			return nil, nil
		}
		return argv, nil
	case ActionAwaitRebuild:
		if t.RecoverAfterSeconds < 0 || t.RecoverAfterSeconds > 3600 || t.RecoverTimes < 0 || t.RecoverTimes > 10 {
			return bad("recovery policy %d s × %d is out of range", t.RecoverAfterSeconds, t.RecoverTimes)
		}
		return nil, nil
	case ActionRaiseSpeed:
		// md's own bounds for the limits (KiB/s); the equivalent command, for review.
		if t.SpeedKiB <= 0 || t.SpeedKiB > 100_000_000 {
			return bad("rebuild speed %d KiB/s is out of range", t.SpeedKiB)
		}
		return nil, nil
	case ActionSwapOff, ActionSwapOn:
		dev, err := partitionPath(t.Device, s.Action == ActionSwapOn)
		if err != nil {
			return bad("%v", err)
		}
		if s.Action == ActionSwapOff {
			return []string{host.Swapoff, dev}, nil
		}
		return []string{host.Swapon, dev}, nil
	case ActionMkswap:
		if !swapUUIDRE.MatchString(t.SwapUUID) {
			return bad("swap UUID %q is not a UUID", t.SwapUUID)
		}
		dev, err := partitionPath(t.Device, true)
		if err != nil {
			return bad("%v", err)
		}
		return []string{host.Mkswap, "-U", t.SwapUUID, dev}, nil
	case ActionDetach, ActionRemoveReplaced, ActionReAddMember, ActionAddMember, ActionAddSpare, ActionReplaceMember:
		md, err := array()
		if err != nil {
			return bad("%v", err)
		}
		if t.WriteMostly && s.Action != ActionAddMember && s.Action != ActionAddSpare {
			return bad("write-mostly applies to adding a member, not to %s", s.Action)
		}
		if s.Action == ActionDetach && t.Detached {
			if t.Device != "" && !kernelNameRE.MatchString(t.Device) {
				return bad("device %q is not a kernel name", t.Device)
			}
			return mdadm.FailRemoveDetached(md), nil
		}
		placeholderOK := s.Action == ActionAddMember || s.Action == ActionAddSpare
		dev, err := memberPath(t.Device, placeholderOK, t.WholeDisk)
		if err != nil {
			return bad("%v", err)
		}
		switch s.Action {
		case ActionDetach, ActionRemoveReplaced:
			return mdadm.FailRemove(md, dev), nil
		case ActionReAddMember:
			return mdadm.ReAdd(md, dev), nil
		case ActionAddMember, ActionAddSpare:
			if t.WriteMostly {
				return mdadm.AddWriteMostly(md, dev), nil
			}
			return mdadm.Add(md, dev), nil
		}
		if n, ok := ParsePlaceholder(t.With); !ok || (n == 0) != t.WholeDisk {
			if t.WholeDisk {
				return bad("the replacement %q is not the whole new disk (%s)", t.With, NewDiskToken)
			}
			return bad("the replacement %q is not a partition of the new disk ({new:N})", t.With)
		}
		return mdadm.Replace(md, dev, t.With), nil
	case ActionZeroSuperblock:
		disk, err := diskPath(t.Device)
		if err != nil {
			return bad("%v", err)
		}
		if t.WholeDisk {
			// A whole-disk member: the superblock is the disk's own.
			if len(t.Partitions) > 0 {
				return bad("a whole-disk step names partitions %v", t.Partitions)
			}
			return mdadm.ZeroSuperblock(disk), nil
		}
		if len(t.Partitions) == 0 {
			return bad("no partitions to clear")
		}
		var devs []string
		for _, n := range t.Partitions {
			if n <= 0 || n > 128 {
				return bad("partition number %d is out of range", n)
			}
			if disk == NewDiskToken {
				devs = append(devs, NewPart(n))
			} else {
				devs = append(devs, "/dev/"+blockstack.PartitionName(t.Device, n))
			}
		}
		return mdadm.ZeroSuperblock(devs...), nil
	case ActionBootloader:
		if t.Device == "" {
			return nil, nil
		}
		disk, err := diskPath(t.Device)
		if err != nil {
			return bad("%v", err)
		}
		if err := bootloader.CheckGrubModules(t.GrubModules); err != nil {
			return bad("%v", err)
		}
		dir := ""
		if t.PrivateBoot {
			if _, err := array(); err != nil {
				return bad("%v", err)
			}
			dir = bootloader.PrivateBootDir(t.Array)
		}
		if t.BootDir != "" {
			if _, err := array(); err != nil || t.PrivateBoot || !bootDirRE.MatchString(t.BootDir) || path.Clean(t.BootDir) != t.BootDir || t.BootDir == "/boot" {
				return bad("the boot directory %q is not a plain absolute path of /boot's array's mount", t.BootDir)
			}
			dir = t.BootDir
		}
		return bootloader.GrubBIOSInstall(disk, dir, t.GrubModules), nil
	case ActionMountBoot, ActionUnmountBoot:
		md, err := array()
		if err != nil || !t.PrivateBoot {
			return bad("a private /boot mount needs an md array: %v", err)
		}
		if s.Action == ActionMountBoot {
			return []string{host.Mount, md, bootloader.PrivateBootDir(t.Array)}, nil
		}
		return []string{host.Umount, bootloader.PrivateBootDir(t.Array)}, nil
	case ActionDebconfDevices:
		// grub-pc's list names whole disks; grub-efi's (Ubuntu) names partition Part, the ESP.
		if u := t.UEFI; u != nil && (u.Part <= 0 || u.Part > 128 || !reflect.DeepEqual(*u, UEFITarget{Part: u.Part})) || t.Device != "" {
			return bad("a debconf list step takes only the ESP's partition number")
		}
		return []string{host.DebconfSetSelections, DebconfSelectionsFile}, nil
	case ActionBootByHand:
		if _, err := diskPath(t.Device); err != nil {
			return bad("%v", err)
		}
		return nil, nil
	case ActionESPFallback, ActionESPFormat, ActionESPSync, ActionESPInstall, ActionEFIEntry, ActionEFIBootOrder, ActionVerifyUEFI:
		return deriveUEFI(s, bad)
	case ActionPartitionClone:
		if t.Device != NewDiskToken {
			return bad("the clone's target must be the new disk %s, not %q", NewDiskToken, t.Device)
		}
		src := p.Disks.Survivor.Device
		if !kernelNameRE.MatchString(src) {
			return bad("the survivor's device %q is not a kernel name", src)
		}
		argv := []string{"raidswap", "partition", "clone", "--from", "/dev/" + src, "--to", NewDiskToken}
		if p.Disks.New.Wipe {
			argv = append(argv, "--wipe")
		}
		if u := t.UEFI; u != nil {
			// The failed disk's ESP, remade beside the survivor's partitions.
			if u.Part < 1 || u.Part > 128 || u.SizeBytes < 1<<20 {
				return bad("the ESP to add (partition %d, %d bytes) is not a GPT partition of at least 1 MiB", u.Part, u.SizeBytes)
			}
			argv = append(argv, "--add-esp", partition.AddESPArg(u.Part, u.SizeBytes))
		}
		return argv, nil
	}
	return bad("unreachable: action %q is unknown to this raidswap", s.Action)
}

// partitionPath is the /dev path of a partition operand: a kernel name, or (when
// placeholder) a new-disk partition placeholder {new:N}.
func partitionPath(dev string, placeholder bool) (string, error) {
	if n, ok := ParsePlaceholder(dev); ok {
		if !placeholder || n == 0 {
			return "", fmt.Errorf("device %q is not allowed here", dev)
		}
		return dev, nil
	}
	if !kernelNameRE.MatchString(dev) {
		return "", fmt.Errorf("device %q is not a kernel name", dev)
	}
	return "/dev/" + dev, nil
}

// memberPath is the /dev path of an md member operand: a partition (partitionPath), or for a
// whole-disk member a kernel name or, when placeholder, the whole new disk {new}.
func memberPath(dev string, placeholder, whole bool) (string, error) {
	if !whole {
		return partitionPath(dev, placeholder)
	}
	if n, ok := ParsePlaceholder(dev); ok {
		if !placeholder || n != 0 {
			return "", fmt.Errorf("device %q is not allowed here: a whole-disk member is %s or a disk's kernel name", dev, NewDiskToken)
		}
		return dev, nil
	}
	return diskPath(dev)
}

// diskPath is the path of a whole-disk operand: a kernel name or {new}.
func diskPath(dev string) (string, error) {
	if dev == NewDiskToken {
		return dev, nil
	}
	if _, ok := ParsePlaceholder(dev); ok || !kernelNameRE.MatchString(dev) {
		return "", fmt.Errorf("disk %q is not a whole disk's kernel name or %s", dev, NewDiskToken)
	}
	return "/dev/" + dev, nil
}

// CheckSteps refuses a plan whose steps do not describe themselves: an unknown action, a
// repeated ID, an operand of the wrong kind, a stored command that differs from the one
// derived from the step's operands, or an in-process flag that does not fit the action.
// Apply runs it before anything else, with the live system's distribution profile.
func (p *Plan) CheckSteps(prof host.Profile) error {
	ids := map[string]bool{}
	for _, s := range p.Steps {
		if s.ID == "" || ids[s.ID] {
			return &InvalidError{Reason: fmt.Sprintf("step ID %q is empty or repeated", s.ID)}
		}
		ids[s.ID] = true
		argv, err := Derive(prof, p, s)
		if err != nil {
			return err
		}
		if !slices.Equal(argv, s.Argv) {
			return &InvalidError{Reason: fmt.Sprintf("step %s: its command %q is not the one its action and operands give (%q); build a new plan instead of editing one",
				s.ID, Command(s.Argv), Command(argv))}
		}
		if s.InProcess != InProcessAction(s.Action, s.Target) {
			return &InvalidError{Reason: fmt.Sprintf("step %s: in_process=%t does not fit action %s", s.ID, s.InProcess, s.Action)}
		}
	}
	return nil
}
