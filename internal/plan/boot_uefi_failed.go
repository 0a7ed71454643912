package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"

	"github.com/raidswap/raidswap/bootloader"
)

// uefiFromFailedSteps are the plan's boot part for bootloader.UEFIESPFromFailed: the only
// ESP was on the failed disk (Ubuntu's and OVH's default layout), so the survivor has none to
// copy. Where it can (remakeBlocked says when not), raidswap remakes it: the partition clone
// adds an ESP of the failed one's size, esp-mkfs gives it the failed one's FAT type, label
// and volume id, esp-grub-install puts the distribution's GRUB into it with grub-install and
// the fallback path beside it, and it gets a boot entry in the failed disk's place. Else the
// plan prints the commands for the operator. Both warn that the survivor cannot boot alone.
func (b *builder) uefiFromFailedSteps(f bootloader.Facts, d bootloader.Decision) {
	if why := b.remakeBlocked(f); why != "" {
		b.uefiFromFailedByHand(f, d, why)
		return
	}
	b.remakeESPSteps(f, d)
}

// uefiFromFailedByHand prints how to remake the failed disk's ESP on the new disk, from its
// typed facts (size, type, FAT type, label, volume id), for the operator after the rebuild
// (docs/runbook.md section 8); why says why raidswap does not run it.
func (b *builder) uefiFromFailedByHand(f bootloader.Facts, d bootloader.Decision, whyNot string) {
	e := f.FailedESP
	var cmds []string
	newDisk := "/dev/<new disk " + orUnknown(b.req.New) + ">"
	if b.newDisk != nil {
		newDisk = "/dev/" + b.newDisk.Name
	}
	kib := (e.SizeBytes + 1023) / 1024
	gpt := failedESPIsGPT(e)
	if gpt {
		c := fmt.Sprintf("sgdisk --new=0:0:+%dK --typecode=0:ef00", kib)
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
	why := d.Why + ". raidswap does not remake it itself: " + whyNot + "; after the rebuild, by hand (docs/runbook.md section 8):\n  " + strings.Join(cmds, "\n  ")
	if len(dropped) > 0 {
		why += "\n  (" + strings.Join(dropped, "; ") + ": the new ESP gets none)"
	}
	survWarn := b.survivorNoESPWarning(e)
	// The step's reason is said when the step runs, at the end of the run: the warning
	// goes with it, and into the plan's notes.
	b.add(Step{ID: "bootloader", Action: ActionBootloader, Reason: why + "\n  WARNING: " + survWarn})
	b.notes = append(b.notes, "boot: "+d.Why, "boot: "+survWarn)
}

// survivorNoESPWarning says that the survivor, without an ESP, cannot boot alone, and what
// would fix that.
func (b *builder) survivorNoESPWarning(e *bootloader.Partition) string {
	return fmt.Sprintf("the survivor %s has no ESP and cannot boot alone by UEFI: if the new disk fails, this system does not boot; an ESP on the survivor needs %d MiB of free space on it, like the failed disk's (docs/runbook.md section 8)",
		b.survivor.Label(), (e.SizeBytes+(1<<20)-1)>>20)
}

func failedESPIsGPT(e *bootloader.Partition) bool {
	return strings.EqualFold(e.Type, bootloader.ESPTypeGUID) || (e.Type == "" && swapUUIDRE.MatchString(strings.ToLower(e.PARTUUID)))
}

// remakeBlocked says why raidswap cannot remake the failed disk's ESP itself ("" when it
// can): it adds an ESP only to a GPT it clones, installs GRUB with the Debian family's
// grub-install (RHEL and SUSE install their signed GRUB from packages: shim-x64 and
// grub2-efi-x64, shim-install), and needs /boot mounted, where grub-install puts GRUB's
// modules.
func (b *builder) remakeBlocked(f bootloader.Facts) string {
	fam := b.sys.Host.Profile.Family
	switch {
	case b.cloneStep() < 0:
		return "the new disk gets no partition table to add it to (its members are whole disks)"
	case len(f.Disks) == 0 || f.Disks[0].Label != "gpt":
		return "the survivor's partition table is not GPT, and raidswap adds an ESP only to a GPT"
	case !failedESPIsGPT(f.FailedESP):
		return "the failed ESP was not a GPT EFI System Partition"
	case fam == host.FamilyRHEL || fam == host.FamilySUSE || fam == host.FamilyArch:
		return fmt.Sprintf("on this distribution (%s) GRUB for UEFI comes from its packages, not from grub-install", fam)
	case !f.GrubInstall:
		return "grub-install is not installed"
	case f.Boot.Mountpoint != "/boot" && !f.Boot.OnRoot:
		return "/boot is not mounted, and grub-install puts GRUB's modules there"
	case !bootloader.ValidBootloaderID(b.bootloaderID()):
		return "the distribution's ID (os-release) cannot name GRUB's directory on the ESP"
	}
	return ""
}

// bootloaderID is the directory under EFI/ GRUB goes into: the distribution's os-release
// ID (debian, ubuntu), as Debian's and Ubuntu's GRUB_DISTRIBUTOR gives grub-install.
func (b *builder) bootloaderID() string {
	if id := b.sys.Host.Profile.OS.ID; id != "" {
		return id
	}
	return "debian"
}

// cloneStep is the index of the plan's partition-clone step, -1 when it has none.
func (b *builder) cloneStep() int {
	for i, s := range b.steps {
		if s.Action == ActionPartitionClone {
			return i
		}
	}
	return -1
}

// espNumber is the partition number the new ESP gets: the failed ESP's when the survivor's
// table leaves it free, else the lowest free one.
func (b *builder) espNumber(e *bootloader.Partition) int {
	taken := func(n int) bool {
		return slices.Contains(b.survivor.Partitions, blockstack.PartitionName(b.survivor.Name, n))
	}
	if e.Number > 0 && e.Number <= 128 && !taken(e.Number) {
		return e.Number
	}
	for n := 1; n <= 128; n++ {
		if !taken(n) {
			return n
		}
	}
	return 0
}

// remakeESPSteps remake the failed disk's ESP on the new disk (see uefiFromFailedSteps).
func (b *builder) remakeESPSteps(f bootloader.Facts, d bootloader.Decision) {
	e := f.FailedESP
	n := b.espNumber(e)
	if n == 0 {
		b.uefiFromFailedByHand(f, d, "the survivor's table has no free partition number")
		return
	}
	size := (e.SizeBytes + (1 << 20) - 1) &^ ((1 << 20) - 1)
	ci := b.cloneStep()
	clone := &b.steps[ci]
	clone.Target.UEFI = &UEFITarget{Part: n, SizeBytes: size}
	for i, c := range clone.Postconditions {
		if c.Kind == CondPartitioned {
			clone.Postconditions[i].Count++
			clone.Postconditions[i].Text = fmt.Sprintf("the new disk has %d partitions: the survivor's and the new ESP", c.Count+1)
		}
	}
	clone.Reason += fmt.Sprintf(", and add partition %d, an EFI System Partition of %d MiB like the failed disk's ESP, in the new disk's first free extent that holds it (else in room made by cutting its last md member's partition down to what the member needs; a disk with no room is refused before anything is written, with its free extents)", n, size>>20)

	mk := b.mkfsOperands(n, e, "the failed ESP's")
	newESP := NewPart(n)
	present := Condition{Kind: CondDiskPresent, Device: NewDiskToken, Serial: b.req.New, Text: "the new disk is attached"}
	free := Condition{Kind: CondPartitionFree, Device: NewDiskToken, Partition: n, Text: fmt.Sprintf("new partition %d is in no array, not mounted, not swap", n)}
	b.add(Step{ID: "esp-mkfs-new", Action: ActionESPFormat, Destructive: true,
		Target:        Target{Device: newESP, Serial: b.req.New, UEFI: &mk},
		Preconditions: []Condition{present, free},
		Reason: fmt.Sprintf("make the new disk's ESP (partition %d) a FAT%d file system like the failed disk's (label %q, volume id %s, %s: an fstab UUID= line for /boot/efi still resolves); it writes only that partition, and refuses one that holds a file system raidswap did not just make",
			n, mk.FATBits, mk.Label, orUnknown(mk.VolumeID), orUnknown(f.FailedESPFrom)),
		Undo: "wipefs -a the new ESP partition"})
	id := b.bootloaderID()
	shim := f.ShimSigned
	loader := bootloader.GrubInstallEFILoader(id, shim, b.sys.Host.Profile.EFIFiles())
	what := "GRUB alone (no signed shim is installed: Secure Boot must be off)"
	if shim {
		what = "Secure Boot's shim and the signed GRUB (shim-signed is installed)"
	}
	b.add(Step{ID: "esp-grub-install-new", Action: ActionESPInstall, Destructive: true,
		Target:        Target{Device: newESP, Serial: b.req.New, UEFI: &UEFITarget{Part: n, BootloaderID: id, Shim: shim, Loader: loader, VolumeID: mk.VolumeID}},
		Preconditions: []Condition{present, free},
		Reason: fmt.Sprintf("install the distribution's GRUB into the new ESP with its own grub-install, as the installer did on the failed disk: %s in EFI/%s, with GRUB's modules in /boot/grub on the array, no firmware variable touched; then %s beside it as the removable fallback path. The new ESP is mounted at a private directory under %s for it",
			what, id, bootloader.FallbackPath, bootloader.ESPMountBase),
		Undo: "none needed: the new ESP held nothing before"})
	if f.DebconfGrubEFI {
		b.notes = append(b.notes, fmt.Sprintf("Ubuntu's %s should name the new disk's ESP (partition %d) after the replacement: dpkg-reconfigure grub-efi-amd64-signed, or debconf-set-selections", bootloader.DebconfGrubEFIQuestion, n))
	}
	nt := UEFITarget{Part: n, Loader: loader, Shim: shim}
	b.add(Step{ID: "efi-boot-entry-new", Action: ActionEFIEntry, Destructive: true,
		Target:        Target{Device: NewDiskToken, Serial: b.req.New, UEFI: &nt},
		Preconditions: []Condition{present},
		Reason: fmt.Sprintf("a firmware boot entry %q%s for the new disk's ESP (partition %d, its PARTUUID read when the step runs) booting %s, not put into BootOrder; an EFI variable only",
			b.newEntryLabel(), labelNote(b.req.New), n, bootloader.LoaderPathEFI(loader)),
		Undo: "efibootmgr --bootnum NNNN --delete-bootnum (the journal names the entry)"})
	ot := UEFITarget{Part: n, Loader: loader, Shim: shim, Serials: []string{b.survivor.Serial, b.req.New}, OnlyNew: true}
	remove := "raidswap's own entries for the failed disk"
	if b.failed != nil {
		ot.Failed = b.failed.Serial
		remove = fmt.Sprintf("raidswap's own entries for the failed disk %s", b.failed.Label())
		if id, from := b.failedESP(); id != "" {
			ot.FailedPARTUUID = id
			remove = fmt.Sprintf("the boot entries of the failed disk's ESP (PARTUUID %s, %s) and %s", id, from, remove)
		}
	}
	b.add(Step{ID: "efi-boot-order", Action: ActionEFIBootOrder, Destructive: true,
		Target:        Target{UEFI: &ot},
		Preconditions: []Condition{present},
		Reason: fmt.Sprintf("remove %s, and no other entry; keep BootOrder as the administrator set it, the new disk's entry taking the failed disk's place; EFI variables only",
			remove),
		Undo: "efibootmgr --bootorder with the order the journal records"})
	vt := ot
	b.add(Step{ID: "verify-uefi", Action: ActionVerifyUEFI, Target: Target{UEFI: &vt},
		Reason: "check that the new disk boots alone by UEFI: the loader and the fallback path on its ESP, and its boot entry (the survivor has no ESP to check)"})
	survWarn := b.survivorNoESPWarning(e)
	b.add(Step{ID: "bootloader", Action: ActionBootloader, Reason: d.Why + ": the new disk gets one, made above.\n  WARNING: " + survWarn})
	b.notes = append(b.notes, "boot: "+d.Why+": raidswap remakes it on the new disk (partition "+fmt.Sprint(n)+", EFI/"+id+")", "boot: "+survWarn)
}
