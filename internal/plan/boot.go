package plan

import (
	"fmt"
	"path"
	"strings"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/blockstack"
)

// DebconfSelectionsFile is where the debconf step writes the selection it hands to
// debconf-set-selections (the executor writes it, from the disks' by-id names as they are
// when the step runs).
const DebconfSelectionsFile = "/run/raidswap/debconf-grub-pc-install-devices"

// bootFacts are the boot facts discovery read, restricted to the disks that stay: the
// survivor first, then the new disk when it is attached.
func (b *builder) bootFacts() (bootloader.Facts, bool) {
	f := b.sys.Host.Boot
	if f.Firmware == "" {
		return f, false
	}
	disks := f.Disks
	f.Disks = nil
	for _, want := range []string{b.survivor.Name, newName(b)} {
		for _, d := range disks {
			if d.Name == want && want != "" {
				d.Survivor = want == b.survivor.Name
				d.New = !d.Survivor
				f.Disks = append(f.Disks, d)
			}
		}
	}
	if len(f.Disks) == 0 || f.Disks[0].Name != b.survivor.Name {
		f.Disks = append([]bootloader.Disk{{Name: b.survivor.Name, Serial: b.survivor.Serial, Survivor: true, MBRCode: bootloader.MBRUnknown,
			ReadError: "discovery read no boot facts of this disk"}}, f.Disks...)
	}
	b.failedBootESP(&f, disks)
	return f, true
}

// failedBootESP puts the failed disk's ESP into f (bootloader.Facts.FailedESP): as discovery
// read it while the disk is attached, else as the inventory last saw it.
func (b *builder) failedBootESP(f *bootloader.Facts, disks []bootloader.Disk) {
	fl := b.failed
	if fl == nil || fl.Serial == "" {
		return
	}
	f.FailedName, f.FailedSerial = fl.Name, fl.Serial
	for _, d := range disks {
		if d.Serial == fl.Serial && d.ESP != nil {
			p := *d.ESP
			f.FailedESP, f.FailedESPFrom = &p, "as discovery read it"
			return
		}
	}
	if b.sys.Inventory == nil {
		return
	}
	e, ok := b.sys.Inventory.Disks[fl.Serial]
	if !ok || e.ESP == nil {
		return
	}
	p := &bootloader.Partition{Number: e.ESP.Number, PARTUUID: strings.ToLower(e.ESPPARTUUID), Type: e.ESP.Type,
		SizeBytes: e.ESP.SizeBytes, FSLabel: e.ESP.Label, FSUUID: e.ESP.VolumeID}
	if e.ESP.Number > 0 && e.Name != "" {
		p.Name = blockstack.PartitionName(e.Name, e.ESP.Number)
	}
	if e.ESP.FATBits > 0 {
		p.FSType, p.FSVersion = "vfat", fmt.Sprintf("FAT%d", e.ESP.FATBits)
	}
	f.FailedESP, f.FailedESPFrom = p, "as the inventory last saw it"
}

func newName(b *builder) string {
	if b.newDisk != nil {
		return b.newDisk.Name
	}
	return ""
}

// bootSteps decide, from the boot facts (bootloader.Decide), what the replacement does about
// boot code, and add the steps: GRUB 2 on every disk of /boot's array (BIOS), the GRUB 0.97
// commands for the operator, or a note that says why nothing is installed.
func (b *builder) bootSteps() {
	note := func(why string, alsoNote bool) {
		b.add(Step{ID: "bootloader", Action: ActionBootloader, Reason: why})
		if alsoNote {
			b.notes = append(b.notes, "boot: "+why)
		}
	}
	f, ok := b.bootFacts()
	if !ok {
		note("the boot facts of this system were not read (no discovery of its disks' boot code): no boot code is installed; check each disk by hand (docs/runbook.md section 8)", true)
		return
	}
	for _, n := range f.Notes {
		b.notes = append(b.notes, "boot facts: "+n)
	}
	if f.Boot.Array != "" && b.role(f.Boot.Array) == nil {
		where := "/boot"
		if f.Boot.OnRoot {
			where = "/ (and /boot on it)"
		}
		note(fmt.Sprintf("%s holds %s but is not an array of %s: no boot code to install", f.Boot.Array, where, b.failed.Label()), false)
		return
	}
	d, err := bootloader.Decide(f)
	if err != nil {
		b.err = err
		return
	}
	switch d.Kind {
	case bootloader.NoBootCode:
		why := d.Why
		if f.Boot.Array == "" {
			why = fmt.Sprintf("no array of %s holds /boot or /: no boot code to install", b.failed.Label())
		}
		note(why, false)
	case bootloader.BootNotMirrored, bootloader.UnknownLoader, bootloader.UEFIByHand, bootloader.GrubInstallMissing:
		note(d.Why, true)
	case bootloader.BootStackRefused:
		// Refused before anything is written: a replacement that ends with a new disk GRUB
		// cannot boot from, unsaid, is the failure this prevents.
		b.err = &UnsafeError{Reason: "boot: " + d.Why}
	case bootloader.UEFIESPFromFailed:
		b.uefiFromFailedSteps(f, d)
	case bootloader.UEFIESPEveryDisk, bootloader.UEFIESPOnMD, bootloader.UEFIFromRescue:
		b.uefiBootSteps(f, d)
	case bootloader.GrubLegacyByHand:
		b.grubLegacySteps(f, d)
	case bootloader.GrubBIOSEveryDisk:
		b.grubBIOSSteps(f, d)
	default:
		b.err = fmt.Errorf("unreachable: boot decision %v", d.Kind)
	}
}

// role is the replacement's array with the given name.
func (b *builder) role(array string) *arrayRole {
	for i := range b.arrays {
		if b.arrays[i].a.Name == array {
			return &b.arrays[i]
		}
	}
	return nil
}

// biosWrites says what grub-install writes on a disk of this layout, or why it cannot
// install there.
func biosWrites(d bootloader.Disk, disk string) (string, error) {
	part := blockstack.PartitionName
	if disk == NewDiskToken {
		part = func(_ string, n int) string { return NewPart(n) }
	}
	switch {
	case d.Label == "gpt" && d.BIOSBoot != nil:
		return fmt.Sprintf("boot.img into the MBR's boot code area (bytes 0–439) and core.img into the BIOS boot partition %s (%d KiB)",
			part(disk, d.BIOSBoot.Number), d.BIOSBoot.SizeBytes/1024), nil
	case d.Label == "gpt":
		return "", fmt.Errorf("its GPT has no BIOS boot partition (type ef02): grub-install cannot embed core.img there")
	case d.Label == "dos" && d.GapSectors >= 62:
		return fmt.Sprintf("boot.img into the MBR's boot code area (bytes 0–439) and core.img into the gap after the MBR (sectors 1–%d)", d.GapSectors), nil
	case d.Label == "dos":
		return "", fmt.Errorf("the gap after its MBR is %d sectors: too small for GRUB's core.img (it needs about 62)", d.GapSectors)
	case d.ReadError != "":
		return "", fmt.Errorf("its first sectors could not be read: %s", d.ReadError)
	}
	return "", fmt.Errorf("it has no partition table raidswap can read")
}

// grubBIOSSteps install GRUB 2's BIOS boot code on every disk of /boot's array, the survivor
// included: its boot code may never have been written, or may predate the GRUB in /boot/grub.
// /boot's array is mounted at a private directory for the installs when it is not mounted.
func (b *builder) grubBIOSSteps(f bootloader.Facts, d bootloader.Decision) {
	s := b.survivor
	sf := f.Disks[0]
	r := b.role(f.Boot.Array)
	writes, err := biosWrites(sf, s.Name)
	if err != nil {
		why := fmt.Sprintf("%s: GRUB cannot be installed on the survivor %s: %v; raidswap installs no boot code (docs/runbook.md section 8)", d.Why, s.Label(), err)
		b.add(Step{ID: "bootloader", Action: ActionBootloader, Reason: why})
		b.notes = append(b.notes, "boot: "+why)
		return
	}
	mods, unknown := bootloader.GrubBIOSModules(sf.Label, f.Boot.Metadata, f.Boot.FSType)
	if len(unknown) > 0 {
		b.notes = append(b.notes, fmt.Sprintf("boot: GRUB modules for %s: raidswap could not tell %s; grub-install probes them itself", strings.Join(unknown, ", "), f.Boot.Array))
	}
	private := f.Boot.Mountpoint == ""
	bootDir := ""
	switch {
	case private:
	case !f.Boot.OnRoot && f.Boot.Mountpoint != "/boot":
		// Mounted elsewhere (a drill's <lab>/boot): grub-install is told where.
		bootDir = f.Boot.Mountpoint
	case f.Boot.OnRoot && f.Boot.Mountpoint != "/":
		// A directory on a root array mounted elsewhere (a drill's <lab>/root/boot).
		bootDir = path.Join(f.Boot.Mountpoint, "boot")
	}
	t := func(dev, serial string) Target {
		return Target{Device: dev, Serial: serial, Array: r.a.Name, ArrayUUID: r.a.UUID, GrubModules: mods, PrivateBoot: private, BootDir: bootDir}
	}
	dir := "/boot"
	if bootDir != "" {
		dir = bootDir
	}
	if private {
		dir = bootloader.PrivateBootDir(r.a.Name)
	}
	grubDir := path.Join(dir, b.sys.Host.Profile.GrubDir())
	if private {
		b.add(Step{ID: "mount-boot", Action: ActionMountBoot, Target: Target{Array: r.a.Name, ArrayUUID: r.a.UUID, PrivateBoot: true},
			Preconditions: []Condition{arrayCond(r.a)},
			Reason: fmt.Sprintf("/boot (%s, from %s) is not mounted; grub-install writes its modules and core.img into /boot/%s, so %s is mounted at %s for the installs (a no-op when it already is) and unmounted after them",
				r.a.Name, f.Boot.From, b.sys.Host.Profile.GrubDir(), r.a.Name, dir),
			Undo: "umount " + dir})
	}
	b.add(Step{ID: "bootloader-" + s.Name, Action: ActionBootloader, Destructive: true,
		Target:        t(s.Name, s.Serial),
		Preconditions: []Condition{b.survivorSerialCond(), arrayCond(r.a)},
		Reason: fmt.Sprintf("%s: reinstall GRUB on the survivor %s too (its MBR holds %s now), so both disks boot alone with the GRUB in %s. On %s it writes %s, and files under %s; nothing else: the partition table and the first and last MiB of each md member are hashed before and proven byte-identical after (changes md itself wrote through the array excepted), and the boot code is verified. What it overwrites (sector 0 and the BIOS boot partition or the gap after the MBR) is saved first, read from the disk, into a new directory %s-bootcode-<time> under the backups directory beside the journal",
			d.Why, s.Label(), sf.MBRCode, grubDir, s.Name, writes, grubDir, s.Serial),
		Undo: "put the survivor's old boot code back from the copy saved before this step: its README.txt gives the dd commands"})
	newWrites, _ := biosWrites(sf, NewDiskToken)
	b.add(Step{ID: "bootloader-new", Action: ActionBootloader, Destructive: true,
		Target:        t(NewDiskToken, b.req.New),
		Preconditions: []Condition{{Kind: CondDiskPresent, Device: NewDiskToken, Serial: b.req.New, Text: "the new disk is attached"}, arrayCond(r.a)},
		Reason:        fmt.Sprintf("install GRUB on the new disk, so it boots alone if %s fails next: on its copy of the survivor's partition table it writes %s, and files under %s; the boot code is verified after", s.Label(), newWrites, grubDir),
		Undo:          "none needed"})
	if private {
		b.add(Step{ID: "unmount-boot", Action: ActionUnmountBoot, Target: Target{Array: r.a.Name, ArrayUUID: r.a.UUID, PrivateBoot: true},
			Reason: fmt.Sprintf("unmount %s from %s again: /boot stays as the system had it (not mounted)", r.a.Name, dir),
			Undo:   "none needed"})
	}
	if prof := b.sys.Host.Profile; prof.DebconfLists() == nil {
		b.notes = append(b.notes, fmt.Sprintf("boot: the %s family keeps no list of the disks GRUB is installed on (Debian's debconf grub-pc/install_devices): nothing to update there", prof.Family))
	}
	if f.DebconfGrubPC {
		was := "unset"
		if len(f.InstallDevices) > 0 {
			was = strings.Join(f.InstallDevices, ", ")
		}
		b.add(Step{ID: "debconf-install-devices", Action: ActionDebconfDevices, Destructive: true,
			Preconditions: []Condition{b.survivorSerialCond(), {Kind: CondDiskPresent, Device: NewDiskToken, Serial: b.req.New, Text: "the new disk is attached"}},
			Reason: fmt.Sprintf("Debian's grub-pc/install_devices is %s; it is set to the /dev/disk/by-id names of the survivor %s (%s) and of the new disk (found by serial when the step runs), so a later grub-pc upgrade installs on both and does not fail on the dead disk's name",
				was, s.Label(), strings.Join(byIDNames(s.ByID), " or ")),
			Undo: "debconf-set-selections with the old value: grub-pc grub-pc/install_devices multiselect " + was})
	}
}

// debconfEFIStep points Ubuntu's grub-efi/install_devices (the ESPs grub-multi-install
// installs GRUB on at every GRUB upgrade) at the survivor's ESP and the new disk's, partition
// part of each, as the grub-pc step does for BIOS disks.
func (b *builder) debconfEFIStep(f bootloader.Facts, part int) {
	if !f.DebconfGrubEFI {
		return
	}
	s := b.survivor
	was := "unset"
	if len(f.EFIInstallDevices) > 0 {
		was = strings.Join(f.EFIInstallDevices, ", ")
	}
	b.add(Step{ID: "debconf-efi-install-devices", Action: ActionDebconfDevices, Destructive: true,
		Target:        Target{UEFI: &UEFITarget{Part: part}},
		Preconditions: []Condition{b.survivorSerialCond(), {Kind: CondDiskPresent, Device: NewDiskToken, Serial: b.req.New, Text: "the new disk is attached"}},
		Reason: fmt.Sprintf("Ubuntu's %s is %s; it is set to the /dev/disk/by-id names of partition %d (the ESP) of the survivor %s and of the new disk (found by serial when the step runs), so grub-multi-install puts each GRUB upgrade on both ESPs and does not fail on the dead disk's",
			bootloader.DebconfGrubEFIQuestion, was, part, s.Label()),
		Undo: "debconf-set-selections with the old value: " + bootloader.DebconfGrubEFIQuestion + " multiselect " + was})
}

// byIDNames keeps the whole-disk by-id names that name a disk by its model and serial.
func byIDNames(ids []string) []string {
	var out []string
	for _, id := range ids {
		if strings.Contains(id, "-part") {
			continue
		}
		out = append(out, id)
	}
	if len(out) == 0 {
		return []string{"(none known yet)"}
	}
	return out
}

// grubLegacySteps print, for each disk, the GRUB 0.97 shell commands that install its boot
// code, and wait for the operator to confirm having run them. raidswap runs nothing: GRUB
// legacy names disks by BIOS order (hdN), which only device.map or the BIOS's EDD can tell.
func (b *builder) grubLegacySteps(f bootloader.Facts, d bootloader.Decision) {
	s := b.survivor
	sf := f.Disks[0]
	cmds, err := bootloader.GrubLegacyCommands(sf)
	reason := d.Why + ". "
	if err != nil {
		reason += fmt.Sprintf("On the survivor %s: %v.", s.Label(), err)
	} else {
		reason += fmt.Sprintf("On the survivor %s (%s is %s, from %s), in `grub`: %s.", s.Label(), s.Name, sf.BIOSDrive, sf.BIOSDriveFrom, strings.Join(cmds, "; "))
	}
	b.add(Step{ID: "bootloader-by-hand-" + s.Name, Action: ActionBootByHand, Target: Target{Device: s.Name, Serial: s.Serial},
		Preconditions: []Condition{b.survivorSerialCond()},
		Reason:        reason + " raidswap waits until you confirm by typing the disk's serial.",
		Undo:          "none needed"})
	b.add(Step{ID: "bootloader-by-hand-new", Action: ActionBootByHand, Target: Target{Device: NewDiskToken, Serial: b.req.New},
		Preconditions: []Condition{{Kind: CondDiskPresent, Device: NewDiskToken, Serial: b.req.New, Text: "the new disk is attached"}},
		Reason:        "the same for the new disk: its hdN is read from /boot/grub/device.map (or /sys/firmware/edd) when the step runs and the commands are printed then; without either, raidswap says so and prints no guess. raidswap waits until you confirm by typing the disk's serial.",
		Undo:          "none needed"})
}
