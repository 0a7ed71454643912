package plan

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/raidswap/raidswap/bootloader"
)

// UEFITarget are the typed operands of the UEFI steps. Each step uses the fields its
// action names; Derive refuses an operand that is not of its kind.
type UEFITarget struct {
	// Part is the ESP's partition number: the survivor's, and the new disk's (its table is
	// the survivor's clone).
	Part int `json:"part"`
	// SizeBytes is the size of the ESP a partition-clone step adds to the new disk (the
	// failed disk's, when it alone had one: bootloader.UEFIESPFromFailed).
	SizeBytes int64 `json:"size_bytes,omitempty"`
	// BootloaderID is the directory under EFI/ an esp-grub-install step installs GRUB into
	// (grub-install --bootloader-id).
	BootloaderID string `json:"bootloader_id,omitempty"`
	// From and FromSerial are the survivor's ESP partition (vda1) and disk serial: what a
	// sync copies from.
	From       string `json:"from,omitempty"`
	FromSerial string `json:"from_serial,omitempty"`
	// FATBits, Label and VolumeID make the new ESP's file system (esp-mkfs): the survivor's.
	FATBits  int    `json:"fat_bits,omitempty"`
	Label    string `json:"label,omitempty"`
	VolumeID string `json:"volume_id,omitempty"`
	// PARTUUID is the survivor's ESP partition GUID when the plan was built (the new disk's
	// is read when the step runs: the clone gives it a GUID of its own).
	PARTUUID string `json:"partuuid,omitempty"`
	// Loader is the ESP path of the loader the entries boot (EFI/debian/grubx64.efi), Shim
	// says it is shim.
	Loader string `json:"loader,omitempty"`
	Shim   bool   `json:"shim,omitempty"`
	// Serials are the disks in boot order, survivor first ("" for a new disk whose serial
	// the plan does not know: the executor fills in the disk it chose).
	Serials []string `json:"serials,omitempty"`
	// Rescue says the running system booted by BIOS: verify-uefi checks the ESPs only.
	Rescue bool `json:"rescue,omitempty"`
	// MDArray is the md array holding the ESP (UEFIESPOnMD).
	MDArray string `json:"md_array,omitempty"`
	// Failed and FailedPARTUUID are the failed disk's serial and its ESP's PARTUUID (from the
	// boot facts when it was attached, else the inventory; "" when neither knew it):
	// efi-boot-order removes the boot entries of that partition and raidswap's own entries
	// for that serial, and no other.
	Failed         string `json:"failed,omitempty"`
	FailedPARTUUID string `json:"failed_partuuid,omitempty"`
	// OnlyNew says the survivor has no ESP (bootloader.UEFIESPFromFailed): efi-boot-order
	// and verify-uefi look at the new disk's alone.
	OnlyNew bool `json:"only_new,omitempty"`
}

// NewSerialToken stands in an efibootmgr --label for the new disk's serial when the plan
// does not know it; the executor fills in the serial of the disk it chose. It must not
// contain "{new", which Expand takes for a device placeholder.
const NewSerialToken = "{serial:new}"

// uefiBootSteps are the steps for the UEFI decisions (bootloader.UEFIESPEveryDisk,
// UEFIESPOnMD, UEFIFromRescue). A setup the steps cannot carry over is refused with the
// disk and serial (bootloader.UEFIError, as an *InputError).
func (b *builder) uefiBootSteps(f bootloader.Facts, d bootloader.Decision) {
	surv, err := f.UEFISurvivor()
	if err != nil {
		b.err = &InputError{Reason: err.Error()}
		return
	}
	s := b.survivor
	if surv.Serial != s.Serial {
		b.err = fmt.Errorf("unreachable: the boot facts' survivor %s is not the plan's %s", surv.Serial, s.Serial)
		return
	}
	esp := surv.ESP
	n := esp.Number
	loader := f.EFILoader
	t := UEFITarget{Part: n, Loader: loader, Shim: f.Shim, PARTUUID: esp.PARTUUID, Serials: []string{s.Serial, b.req.New}}
	newESP := NewPart(n)
	newLabel := b.newEntryLabel()
	survESP := esp.Name
	efiLoader := bootloader.LoaderPathEFI(loader)

	if esp.MDArray != "" {
		// UEFIESPOnMD, or the same disks seen from a rescue system started by BIOS: md
		// copies the ESP to the new member; a mkfs or a copy onto that member would write
		// under md.
		t.MDArray = esp.MDArray
		b.notes = append(b.notes, fmt.Sprintf("the ESP is md array %s (RAID1, metadata 1.0): adding the new disk's partition %d to it copies the ESP, which raidswap neither formats nor copies; it checks the loader %s and the fallback path on the array and writes a boot entry per member partition", esp.MDArray, n, loader))
		b.add(b.espFallbackStep(f, t, survESP))
		if d.Kind == bootloader.UEFIFromRescue {
			t.Rescue = true
			b.add(b.rescueEntriesStep(f))
		} else {
			b.uefiEntrySteps(t, survESP, newLabel, efiLoader)
		}
		b.add(b.verifyUEFIStep(t))
		return
	}
	b.add(b.espFallbackStep(f, t, survESP))

	mk := b.mkfsOperands(n, esp, "the survivor's ESP")
	b.add(Step{ID: "esp-mkfs-new", Action: ActionESPFormat, Destructive: true,
		Target: Target{Device: newESP, Serial: b.req.New, UEFI: &mk},
		Preconditions: []Condition{{Kind: CondDiskPresent, Device: NewDiskToken, Serial: b.req.New, Text: "the new disk is attached"},
			{Kind: CondPartitionFree, Device: NewDiskToken, Partition: n, Text: fmt.Sprintf("new partition %d is in no array, not mounted, not swap", n)}},
		Reason: fmt.Sprintf("make the new disk's ESP (partition %d) a FAT%d file system like the survivor's %s (label %q, volume id %s); it writes only that partition, and refuses one that holds a file system raidswap did not just make",
			n, mk.FATBits, survESP, mk.Label, orUnknown(mk.VolumeID)),
		Undo: "wipefs -a the new ESP partition"})
	b.add(Step{ID: "esp-sync-new", Action: ActionESPSync, Destructive: true,
		Target: Target{Device: newESP, Serial: b.req.New, UEFI: &UEFITarget{Part: n, From: survESP, FromSerial: s.Serial, VolumeID: mk.VolumeID}},
		Preconditions: []Condition{b.survivorSerialCond(),
			{Kind: CondPartitionFree, Device: NewDiskToken, Partition: n, Text: fmt.Sprintf("new partition %d is in no array, not mounted, not swap", n)}},
		Reason: fmt.Sprintf("copy the survivor's ESP %s (mounted read-only at a private directory under %s) onto the new ESP: every file under a temporary name, each verified by SHA-256, then renamed into place; a full ESP is refused before anything is written",
			survESP, bootloader.ESPMountBase),
		Undo: "none needed: the new ESP held nothing before"})
	b.debconfEFIStep(f, n)
	if d.Kind == bootloader.UEFIFromRescue {
		t.Rescue = true
		b.add(b.rescueEntriesStep(f))
		b.add(b.verifyUEFIStep(t))
		return
	}
	b.uefiEntrySteps(t, survESP, newLabel, efiLoader)
	b.add(b.verifyUEFIStep(t))
}

// mkfsOperands are the esp-mkfs operands that make the new ESP, partition n, like the ESP
// from (whose names it in the note about a label FAT cannot take): its FAT type, and its label
// and volume id when they are ones mkfs.vfat takes (else none, said in the notes).
func (b *builder) mkfsOperands(n int, from *bootloader.Partition, whose string) UEFITarget {
	mk := UEFITarget{Part: n, FATBits: from.FATBits(), Label: from.FSLabel, VolumeID: from.FSUUID}
	if !bootloader.ValidFATLabel(mk.Label) {
		if mk.Label != "" {
			b.notes = append(b.notes, fmt.Sprintf("%s label %q is not a plain FAT label: the new ESP gets none", whose, mk.Label))
		}
		mk.Label = ""
	}
	if !bootloader.ValidVolumeID(mk.VolumeID) {
		mk.VolumeID = ""
	}
	return mk
}

// espFallbackStep writes the removable fallback path on the survivor's ESP survESP when it
// lacks it: on the partition, or, for an ESP on md (t.MDArray), on the array, which copies
// it to every member.
func (b *builder) espFallbackStep(f bootloader.Facts, t UEFITarget, survESP string) Step {
	s := b.survivor
	fb := t
	fb.Serials = nil
	fallbackFiles := bootloader.FallbackPath
	if f.Shim {
		n := b.sys.Host.Profile.EFIFiles()
		fallbackFiles = fmt.Sprintf("%s (%s), with %s and %s beside it", bootloader.FallbackPath, n.Shim, n.Grub, n.MokManager)
	}
	where := "its ESP " + survESP
	if t.MDArray != "" {
		where = fmt.Sprintf("its ESP %s (written through the array %s, so every member gets it)", survESP, t.MDArray)
	}
	return Step{ID: "esp-fallback-" + survESP, Action: ActionESPFallback, Destructive: true,
		Target:        Target{Device: survESP, Serial: s.Serial, UEFI: &fb},
		Preconditions: []Condition{b.survivorSerialCond()},
		Reason: fmt.Sprintf("a write to the survivor %s: when %s has no removable fallback path, copy %s there as %s, so the firmware boots it even without a boot entry; it writes that file only (under a temporary name, renamed into place) and nothing when the path exists",
			s.Label(), where, t.Loader, fallbackFiles),
		Undo: "delete " + bootloader.FallbackPath + " on " + survESP + " if raidswap added it (the journal says so)"}
}

// rescueEntriesStep says that a system booted by BIOS cannot write the boot entries, and
// gives the efibootmgr commands for the next UEFI boot.
func (b *builder) rescueEntriesStep(f bootloader.Facts) Step {
	cmds := bootloader.RescueCommands(f, "", b.req.New)
	return Step{ID: "efi-boot-entries-later", Action: ActionBootloader,
		Reason: "this system booted by BIOS, so the firmware's boot entries cannot be written now (the ESPs are synced, and each disk boots by its fallback path); after the next UEFI boot run:\n  " + strings.Join(cmds, "\n  ")}
}

// newEntryLabel is the new disk's boot entry label: its serial's (bootloader.EntryLabel) when
// the plan knows it.
func (b *builder) newEntryLabel() string {
	if b.req.New != "" {
		return bootloader.EntryLabel(b.req.New)
	}
	return NewEntryLabelToken
}

// NewEntryLabelToken is the new disk's boot entry label in a plan that does not know its
// serial: the executor puts bootloader.EntryLabel of the chosen disk's serial in its place.
const NewEntryLabelToken = bootloader.EntryLabelPrefix + NewSerialToken

// labelNote says which label a serial's boot entry gets when it is not the serial as is.
func labelNote(serial string) string {
	if l := bootloader.EntryLabel(serial); l != bootloader.EntryLabelPrefix+serial {
		return fmt.Sprintf(" (the serial %q in the form a boot entry label takes: bytes other than letters, digits and ._:- written %%XX)", serial)
	}
	return ""
}

// failedESP is the PARTUUID of the failed disk's ESP and where it is known from: the boot
// facts when the disk is attached, else what the inventory last saw; "" when neither knows.
func (b *builder) failedESP() (partuuid, from string) {
	f := b.failed
	if f == nil || f.Serial == "" {
		return "", ""
	}
	for _, d := range b.sys.Host.Boot.Disks {
		if d.Serial == f.Serial && d.ESP != nil && d.ESP.PARTUUID != "" {
			return strings.ToLower(d.ESP.PARTUUID), "as discovery read it"
		}
	}
	if b.sys.Inventory != nil {
		if e, ok := b.sys.Inventory.Disks[f.Serial]; ok && e.ESPPARTUUID != "" {
			return strings.ToLower(e.ESPPARTUUID), "as the inventory last saw it"
		}
	}
	return "", ""
}

func (b *builder) uefiEntrySteps(t UEFITarget, survESP, newLabel, efiLoader string) {
	s := b.survivor
	et := UEFITarget{Part: t.Part, Loader: t.Loader, Shim: t.Shim, PARTUUID: t.PARTUUID}
	b.add(Step{ID: "efi-boot-entry-" + s.Name, Action: ActionEFIEntry, Destructive: true,
		Target:        Target{Device: s.Name, Serial: s.Serial, UEFI: &et},
		Preconditions: []Condition{b.survivorSerialCond()},
		Reason: fmt.Sprintf("a firmware boot entry %q%s for the survivor's ESP %s (PARTUUID %s) booting %s, not put into BootOrder (efi-boot-order places it); it writes an EFI variable (NVRAM), nothing on the disk, and nothing when an entry booting that loader from that partition exists",
			bootloader.EntryLabel(s.Serial), labelNote(s.Serial), survESP, orUnknown(t.PARTUUID), efiLoader),
		Undo: "efibootmgr --bootnum NNNN --delete-bootnum (the journal names the entry)"})
	nt := UEFITarget{Part: t.Part, Loader: t.Loader, Shim: t.Shim}
	b.add(Step{ID: "efi-boot-entry-new", Action: ActionEFIEntry, Destructive: true,
		Target:        Target{Device: NewDiskToken, Serial: b.req.New, UEFI: &nt},
		Preconditions: []Condition{{Kind: CondDiskPresent, Device: NewDiskToken, Serial: b.req.New, Text: "the new disk is attached"}},
		Reason: fmt.Sprintf("a firmware boot entry %q%s for the new disk's ESP (partition %d, its PARTUUID read when the step runs) booting %s, not put into BootOrder; an EFI variable only",
			newLabel, labelNote(b.req.New), t.Part, efiLoader),
		Undo: "efibootmgr --bootnum NNNN --delete-bootnum (the journal names the entry)"})
	ot := t
	ot.PARTUUID = ""
	remove := "raidswap's own entries for the failed disk"
	if b.failed != nil {
		ot.Failed = b.failed.Serial
		remove = fmt.Sprintf("raidswap's own entries for the failed disk %s (labelled %q)", b.failed.Label(), bootloader.EntryLabel(b.failed.Serial))
		if id, from := b.failedESP(); id != "" {
			ot.FailedPARTUUID = id
			remove = fmt.Sprintf("the boot entries of the failed disk's ESP (PARTUUID %s, %s) and %s", id, from, remove)
		} else {
			b.notes = append(b.notes, fmt.Sprintf("the PARTUUID of the ESP of %s is not known (neither discovery nor the inventory saw it): efi-boot-order removes only raidswap's own entries for it; remove any other entry of that disk by hand (efibootmgr -v shows them)", b.failed.Label()))
		}
	}
	b.add(Step{ID: "efi-boot-order", Action: ActionEFIBootOrder, Destructive: true,
		Target:        Target{UEFI: &ot},
		Preconditions: []Condition{b.survivorSerialCond()},
		Reason: fmt.Sprintf("remove %s, and no other entry (another system's stays, also for a disk not attached now); keep BootOrder as the administrator set it, the new disk's entry taking the failed disk's place (the survivor's beside it when the order lacked it); EFI variables only",
			remove),
		Undo: "efibootmgr --bootorder with the order the journal records"})
}

func (b *builder) verifyUEFIStep(t UEFITarget) Step {
	what := "the loader files on the new ESP identical to the survivor's, the fallback path on each ESP, and a boot entry per disk"
	if t.Rescue {
		what = "the loader files on the new ESP identical to the survivor's and the fallback path on each ESP (boot entries cannot be read after a BIOS boot)"
	}
	if t.MDArray != "" {
		what = "the fallback path on the ESP array " + t.MDArray + " and a boot entry per disk"
	}
	return Step{ID: "verify-uefi", Action: ActionVerifyUEFI, Target: Target{UEFI: &t},
		Reason: "check that each disk boots alone by UEFI: " + what}
}

// deriveUEFI is Derive for the UEFI actions.
func deriveUEFI(s Step, bad func(string, ...any) ([]string, error)) ([]string, error) {
	t := s.Target
	u := t.UEFI
	if u == nil {
		return bad("no UEFI operands")
	}
	if u.Part <= 0 || u.Part > 128 {
		return bad("ESP partition number %d is out of range", u.Part)
	}
	checkLoader := func() error {
		if !bootloader.ValidLoaderPath(bootloader.LoaderPathEFI(u.Loader)) {
			return fmt.Errorf("loader %q is not a plain path on the ESP", u.Loader)
		}
		return nil
	}
	switch s.Action {
	case ActionESPFallback:
		if err := checkLoader(); err != nil {
			return bad("%v", err)
		}
		if _, err := partitionPath(t.Device, false); err != nil {
			return bad("%v", err)
		}
		return nil, nil
	case ActionESPFormat:
		dev, err := partitionPath(t.Device, true)
		if err != nil {
			return bad("%v", err)
		}
		if p, ok := ParsePlaceholder(t.Device); !ok || p != u.Part {
			return bad("the new ESP must be partition %d of the new disk, not %q", u.Part, t.Device)
		}
		argv, err := bootloader.MkfsESP(dev, u.FATBits, u.Label, u.VolumeID)
		if err != nil {
			return bad("%v", err)
		}
		return argv, nil
	case ActionESPSync:
		if p, ok := ParsePlaceholder(t.Device); !ok || p != u.Part {
			return bad("the copy's target must be partition %d of the new disk, not %q", u.Part, t.Device)
		}
		if _, err := partitionPath(u.From, false); err != nil {
			return bad("source: %v", err)
		}
		if u.VolumeID != "" && !bootloader.ValidVolumeID(u.VolumeID) {
			return bad("volume id %q", u.VolumeID)
		}
		return nil, nil
	case ActionESPInstall:
		if err := checkLoader(); err != nil {
			return bad("%v", err)
		}
		if p, ok := ParsePlaceholder(t.Device); !ok || p != u.Part {
			return bad("GRUB goes into partition %d of the new disk, not %q", u.Part, t.Device)
		}
		if !bootloader.ValidBootloaderID(u.BootloaderID) {
			return bad("bootloader id %q is not a plain lower-case word", u.BootloaderID)
		}
		if !strings.HasPrefix(u.Loader, "EFI/"+u.BootloaderID+"/") {
			return bad("loader %q is not in EFI/%s", u.Loader, u.BootloaderID)
		}
		return bootloader.GrubInstallEFIArgv(bootloader.ESPDirToken, u.BootloaderID, u.Shim), nil
	case ActionEFIEntry:
		if err := checkLoader(); err != nil {
			return bad("%v", err)
		}
		disk, err := diskPath(t.Device)
		if err != nil {
			return bad("%v", err)
		}
		if u.PARTUUID != "" && !swapUUIDRE.MatchString(u.PARTUUID) {
			return bad("PARTUUID %q is not a GUID", u.PARTUUID)
		}
		label := bootloader.EntryLabel(t.Serial)
		switch {
		case t.Serial == "" && disk == NewDiskToken:
			label = NewEntryLabelToken
		case t.Serial == "" || !bootloader.ValidEntryLabel(label):
			return bad("serial %q cannot label a boot entry", t.Serial)
		}
		return bootloader.CreateEntryArgv(disk, u.Part, label, bootloader.LoaderPathEFI(u.Loader)), nil
	case ActionEFIBootOrder, ActionVerifyUEFI:
		if err := checkLoader(); err != nil {
			return bad("%v", err)
		}
		if u.MDArray != "" && !arrayNameRE.MatchString(u.MDArray) {
			return bad("array %q", u.MDArray)
		}
		if len(u.Serials) != 2 || u.Serials[0] == "" {
			return bad("boot order needs the survivor and the new disk")
		}
		if u.FailedPARTUUID != "" && !partUUIDRE.MatchString(u.FailedPARTUUID) {
			return bad("the failed disk's ESP PARTUUID %q is not a GPT GUID or a DOS disk signature and partition", u.FailedPARTUUID)
		}
		return nil, nil
	}
	return bad("unreachable: %q is not a UEFI action", s.Action)
}

// partUUIDRE is a PARTUUID as blkid shows it: a GPT partition GUID, or a DOS label's disk
// signature and partition number.
var partUUIDRE = regexp.MustCompile(`^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{8}-[0-9a-f]{2})$`)
