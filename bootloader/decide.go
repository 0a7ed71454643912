package bootloader

import "fmt"

// Kind is what a replacement does about boot code.
type Kind int

// Decisions.
const (
	// NoBootCode: no array of the replacement holds /boot or /; nothing to install.
	NoBootCode Kind = iota
	// GrubBIOSEveryDisk: reinstall GRUB 2's BIOS boot code on the survivor and install it on
	// the new disk, so each boots alone.
	GrubBIOSEveryDisk
	// UEFIByHand: UEFI with /boot on the arrays; raidswap does not set up ESPs yet and says
	// how in the runbook.
	UEFIByHand
)

// Decision is what to do, and why, for the plan's reason text.
type Decision struct {
	Kind Kind
	Why  string
}

// Decide is the boot decision table (the same table is in doc.go and docs/runbook.md):
//
//	firmware  /boot or / on an array of the replacement  ->  decision
//	BIOS      yes                                         ->  GRUB 2 BIOS boot code on every disk
//	BIOS      no                                          ->  no boot code
//	UEFI      yes                                         ->  by hand (runbook section 8)
//	UEFI      no                                          ->  no boot code
func Decide(f Facts) (Decision, error) {
	switch {
	case f.Boot.Array == "":
		return Decision{Kind: NoBootCode, Why: "no array of the replacement holds /boot or /: no boot code to install"}, nil
	case f.Firmware == FirmwareUEFI:
		return Decision{Kind: UEFIByHand, Why: "UEFI: each disk needs its own ESP and boot entry; raidswap does not automate this yet: follow docs/runbook.md section 8 (UEFI) for the new disk"}, nil
	case f.Firmware != FirmwareUEFI:
		return Decision{Kind: GrubBIOSEveryDisk, Why: f.Boot.Array + " holds /boot"}, nil
	}
	return Decision{}, fmt.Errorf("unreachable: boot facts %+v fit no row of the decision table", f)
}
