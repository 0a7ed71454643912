package plan

import "fmt"

// Mode is the kind of replacement.
type Mode string

// Modes.
const (
	// ReplaceFailed takes a failed (or vanished, or partially failed) disk out of every array
	// and rebuilds onto a new disk.
	ReplaceFailed Mode = "replace-failed"
	// ReplaceWorking copies a disk that still works (but is failing, e.g. by SMART) onto a
	// new one with `mdadm --replace --with`, keeping redundancy during the copy.
	ReplaceWorking Mode = "replace-working"
	// ReAdd returns a disk that came back (a re-seated cable) to its arrays: `--re-add` where
	// the array has a write-intent bitmap, a full `--add` where it has not.
	ReAdd Mode = "re-add"
)

// Firmware kinds for the bootloader step.
const (
	FirmwareBIOS = "bios"
	FirmwareUEFI = "uefi"
)

// Request is what the operator asks for.
type Request struct {
	Mode Mode `json:"mode"`
	// Failed names the disk coming out (re-add: coming back): a serial, or a kernel name
	// (vdb, /dev/vdb) of a disk discovery knows.
	Failed string `json:"failed"`
	// New names the replacement by serial (or kernel name, if attached). Empty: the disk
	// that appears after the failed one is pulled.
	New string `json:"new,omitempty"`
	// Wipe allows erasing a new disk that holds data.
	Wipe bool `json:"wipe,omitempty"`
	// AcceptNewDiskSMART allows a new disk whose SMART reports bad sectors or a predicted
	// failure (--accept-new-disk-smart).
	AcceptNewDiskSMART bool `json:"accept_new_disk_smart,omitempty"`
	// RebuildSpeedKiB, when set, raises /proc/sys/dev/raid/speed_limit_min to it during the
	// rebuild and restores the old value afterwards.
	RebuildSpeedKiB int64 `json:"rebuild_speed_kib,omitempty"`
	// Firmware is "bios" or "uefi" (discover.System.Host.Firmware).
	Firmware string `json:"firmware"`
	// Swap are the failed disk's swap partitions and the UUIDs /etc/fstab knows them by
	// (SwapFor).
	Swap []SwapPartition `json:"swap,omitempty"`
	// SwapNotes say why a swap partition could not be matched to a UUID.
	SwapNotes []string `json:"swap_notes,omitempty"`
}

// SwapPartition is a swap partition to recreate on the new disk.
type SwapPartition struct {
	// Partition is the partition number (the same on the survivor's layout).
	Partition int `json:"partition"`
	// UUID is the swap UUID /etc/fstab uses; mkswap -U gives the new partition the same.
	UUID string `json:"uuid"`
	// Active says the failed disk's partition is active swap now (swapoff before detach).
	Active bool `json:"active,omitempty"`
}

func (r Request) validate() error {
	switch r.Mode {
	case ReplaceFailed, ReplaceWorking, ReAdd:
	case "":
		return &InputError{Reason: "no mode given"}
	default:
		return &InputError{Reason: fmt.Sprintf("unknown mode %q (replace-failed, replace-working or re-add)", r.Mode)}
	}
	if r.Failed == "" {
		return &InputError{Reason: "name the failed disk (--failed SERIAL or DEVICE)"}
	}
	if r.Mode == ReAdd && r.New != "" {
		return &InputError{Reason: "re-add returns the failed disk itself: do not name a new disk"}
	}
	switch r.Firmware {
	case FirmwareBIOS, FirmwareUEFI:
	default:
		return &InputError{Reason: fmt.Sprintf("unknown firmware %q (bios or uefi)", r.Firmware)}
	}
	if r.RebuildSpeedKiB < 0 {
		return &InputError{Reason: "rebuild speed must be positive"}
	}
	return nil
}
