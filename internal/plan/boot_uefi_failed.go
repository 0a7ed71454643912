package plan

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/bootloader"
)

// uefiFromFailedSteps are the plan's boot part for bootloader.UEFIESPFromFailed: the only
// ESP was on the failed disk (Ubuntu's and OVH's default layout), so the survivor has none to
// copy. The plan says how to remake the failed disk's ESP on the new disk, from its typed
// facts (size, type, PARTUUID, FAT type, label, volume id), and warns that the survivor
// cannot boot alone. raidswap runs none of it yet: the commands are for the operator, after
// the rebuild (docs/runbook.md section 8).
func (b *builder) uefiFromFailedSteps(f bootloader.Facts, d bootloader.Decision) {
	e := f.FailedESP
	s := b.survivor
	var cmds []string
	newDisk := "/dev/<new disk " + orUnknown(b.req.New) + ">"
	if b.newDisk != nil {
		newDisk = "/dev/" + b.newDisk.Name
	}
	kib := (e.SizeBytes + 1023) / 1024
	guid := strings.ToLower(e.PARTUUID)
	gpt := strings.EqualFold(e.Type, bootloader.ESPTypeGUID) || (e.Type == "" && swapUUIDRE.MatchString(guid))
	if gpt {
		c := fmt.Sprintf("sgdisk --new=0:0:+%dK --typecode=0:ef00", kib)
		if swapUUIDRE.MatchString(guid) {
			// The failed ESP's partition GUID: an fstab PARTUUID= line still resolves.
			c += " --partition-guid=0:" + guid
		}
		cmds = append(cmds, c+" "+newDisk+"   # in the new disk's largest free extent; then: partprobe "+newDisk)
	} else {
		cmds = append(cmds, fmt.Sprintf("# a primary partition of %d KiB, type ef, in the free space of %s (fdisk), then: partprobe %s", kib, newDisk, newDisk))
	}
	label, volID := e.FSLabel, e.FSUUID
	var dropped []string
	if !bootloader.ValidFATLabel(label) {
		if label != "" {
			dropped = append(dropped, fmt.Sprintf("its label %q is not a plain FAT label", label))
		}
		label = ""
	}
	if !bootloader.ValidVolumeID(volID) {
		if volID != "" {
			dropped = append(dropped, fmt.Sprintf("its volume id %q is not one", volID))
		}
		volID = ""
	}
	mkfs, err := bootloader.MkfsESP("/dev/<new ESP>", e.FATBits(), label, volID)
	if err != nil {
		b.err = fmt.Errorf("unreachable: the decision took a failed ESP it cannot remake: %w", err)
		return
	}
	cmds = append(cmds, strings.Join(mkfs, " ")+"   # the failed ESP's FAT type, label and volume id: an fstab UUID= line for /boot/efi still resolves")
	grub := f.GrubInstallProgram
	if grub == "" {
		grub = "grub-install"
	}
	shim := ""
	if f.Shim {
		shim = " --uefi-secure-boot"
	}
	cmds = append(cmds,
		"mount /dev/<new ESP> /boot/efi",
		grub+" --target=x86_64-efi --efi-directory=/boot/efi --bootloader-id=<distribution id> --no-nvram"+shim,
		grub+" --target=x86_64-efi --efi-directory=/boot/efi --removable --no-nvram"+shim+"   # the fallback path "+bootloader.FallbackPath,
		"efibootmgr --create-only --disk "+newDisk+" --part <n> --label '"+bootloader.EntryLabel(orUnknown(b.req.New))+"' --loader '\\EFI\\<distribution id>\\grubx64.efi'; then efibootmgr --bootorder with it where the failed disk's entry was")
	why := d.Why + ". raidswap does not remake it itself yet: after the rebuild, by hand (docs/runbook.md section 8):\n  " + strings.Join(cmds, "\n  ")
	if len(dropped) > 0 {
		why += "\n  (" + strings.Join(dropped, "; ") + ": the new ESP gets none)"
	}
	survWarn := fmt.Sprintf("the survivor %s has no ESP and cannot boot alone by UEFI: if the new disk fails, this system does not boot; an ESP on the survivor needs %d MiB of free space on it, like the failed disk's (docs/runbook.md section 8)",
		s.Label(), (e.SizeBytes+(1<<20)-1)>>20)
	// The step's reason is said when the step runs, at the end of the run: the warning
	// goes with it, and into the plan's notes.
	b.add(Step{ID: "bootloader", Action: ActionBootloader, Reason: why + "\n  WARNING: " + survWarn})
	b.notes = append(b.notes, "boot: "+d.Why, "boot: "+survWarn)
}
