package discover

import (
	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/inventory"
	"github.com/raidswap/raidswap/mdadm"
)

// Verdict is the monitoring verdict for the whole system.
type Verdict string

// Verdicts, in the order of the monitoring exit codes 0..3.
const (
	OK       Verdict = "ok"
	Warning  Verdict = "warning"
	Critical Verdict = "critical"
	Unknown  Verdict = "unknown"
)

// ExitCode is the monitoring-plugin exit code for the verdict.
func (v Verdict) ExitCode() int {
	switch v {
	case OK:
		return 0
	case Warning:
		return 1
	case Critical:
		return 2
	default:
		return 3
	}
}

// ArrayState is what an array's redundancy is, as judged from md's sources.
type ArrayState string

// Array states.
const (
	ArrayClean      ArrayState = "clean"
	ArrayDegraded   ArrayState = "degraded"
	ArrayRecovering ArrayState = "recovering"
	ArrayResyncing  ArrayState = "resyncing"
	ArrayInactive   ArrayState = "inactive"
	ArrayUnknown    ArrayState = "unknown"
	// ArrayMissing is an array md lists nowhere that the inventory remembers on a disk that
	// has vanished: it was lost with the disk.
	ArrayMissing ArrayState = "missing"
	// ArrayFailed is an array that has lost more members than its level survives
	// (mdadm.Shape.Failed): md cannot serve all of its data and no rebuild brings it back.
	ArrayFailed ArrayState = "failed"
)

// MemberState is what one member or slot of an array is, judged from its md state flags.
type MemberState string

// Member states.
const (
	MemberInSync     MemberState = "in_sync"
	MemberFaulty     MemberState = "faulty"
	MemberSpare      MemberState = "spare"
	MemberRebuilding MemberState = "rebuilding"
	MemberMissing    MemberState = "missing"
	// MemberJournal is a raid4/5/6 write journal: it holds no data slot.
	MemberJournal MemberState = "journal"
	MemberUnknown MemberState = "unknown"
)

// DiskState is a disk's verdict: what its members, together, say of it.
type DiskState string

// Disk verdicts.
const (
	DiskHealthy         DiskState = "healthy"
	DiskFailed          DiskState = "failed"
	DiskPartiallyFailed DiskState = "partially_failed"
	DiskVanished        DiskState = "vanished"
	DiskRebuilding      DiskState = "rebuilding"
	DiskSpare           DiskState = "spare"
	DiskUnused          DiskState = "unused"
)

// SyncAction is what md is doing to an array's members, in sysfs's words (md/sync_action).
type SyncAction string

// Sync actions. md/sync_action also says "idle" and "frozen", which discovery reports as
// no Sync at all.
const (
	SyncRecover SyncAction = "recover"
	SyncResync  SyncAction = "resync"
	SyncCheck   SyncAction = "check"
	SyncRepair  SyncAction = "repair"
	SyncReshape SyncAction = "reshape"
)

// System is everything discovery saw. It is plain data: plans are built from it and bound to
// its serials, UUIDs and member states.
type System struct {
	Verdict Verdict `json:"verdict"`
	// Summary is one line saying why the verdict is what it is.
	Summary string `json:"summary"`
	// Next is the command to run for the verdict (nextStep): "" when there is none.
	Next   NextStep `json:"next"`
	Arrays []Array  `json:"arrays"`
	Disks  []Disk   `json:"disks"`
	// Problems are things discovery could not read; each also shows as an unknown field.
	Problems []string `json:"problems,omitempty"`
	// Unfinished are raidswap's replacements begun and neither finished nor aborted, from
	// their journals (unfinished.go); each makes the verdict at least a warning.
	Unfinished []UnfinishedRun `json:"unfinished_replacements,omitempty"`
	// Root is the directory discovery read ("/" for the live system).
	Root string `json:"-"`
	// Inventory is the remembered identity of disks, as read (not part of the output).
	Inventory *inventory.Inventory `json:"-"`
	// Host is the machine's identity, firmware mode and fstab swap entries (not part of the
	// output).
	Host Host `json:"-"`
	// Scope is the drill this system was discovered for (Options.Scope), nil for the host.
	Scope *Scope `json:"-"`
}

// Array is one md array.
type Array struct {
	Name        string     `json:"name"`
	UUID        string     `json:"uuid"`
	Level       string     `json:"level"`
	Metadata    string     `json:"metadata"`
	State       ArrayState `json:"state"`
	RaidDisks   int        `json:"raid_disks"`
	ActiveDisks int        `json:"active_disks"`
	// Layout is md/layout (raid10's copies), nil when it could not be read.
	Layout *int `json:"layout,omitempty"`
	// MDDegraded is md's own count of lost slots (md/degraded), -1 when not read. The
	// redundancy model believes it when it is worse than the members show.
	MDDegraded int      `json:"-"`
	Members    []Member `json:"members"`
	Sync       *Sync    `json:"sync"`
	// SizeKiB is the per-member component size.
	SizeKiB int64 `json:"component_size_kib"`
	// Bitmap is the write-intent bitmap location ("none" when there is none).
	Bitmap string `json:"bitmap"`
	// Mountpoints and Swap say what uses the array.
	Mountpoints []string `json:"mountpoints,omitempty"`
	Swap        bool     `json:"swap,omitempty"`
	// Notes say what is wrong with the array beyond its State: values md gave that could not
	// be read or that disagree with each other. Each makes the verdict at least a warning.
	Notes []string `json:"notes,omitempty"`
	// Container is the container (md127) of an external-metadata volume (container.go).
	Container string `json:"container,omitempty"`
	// Drill is the lab directory when every present member is on a drill disk of that lab
	// (raidswap drill): shown, but left out of the host's verdict, textfile and inventory.
	Drill string `json:"drill,omitempty"`
	// MDStatOnly: only /proc/mdstat listed the array (no md sysfs), which names no member's
	// slot or state flags: its counts can show redundancy lost, never that it is whole.
	MDStatOnly bool `json:"mdstat_only,omitempty"`
}

// Member is one slot or member of an array. An empty slot is a member with State "missing"
// and a nil Device.
type Member struct {
	Device *string `json:"device"`
	Disk   *string `json:"disk"`
	// Serial is the serial of Disk, when known.
	Serial string `json:"serial,omitempty"`
	// Partition is the partition of Disk under a stacked member (a dm table over vdb3 gives
	// vdb3); "" when the member is the partition itself.
	Partition string      `json:"partition,omitempty"`
	Slot      *int        `json:"slot"`
	State     MemberState `json:"state"`
	// Flags are the raw sysfs state words (in_sync, faulty, write_mostly, ...).
	Flags []string `json:"flags,omitempty"`
	// Warnings say why a member that md still uses needs attention (write_error,
	// want_replacement, blocked, a flag raidswap does not know). Each makes the verdict at
	// least a warning.
	Warnings []string `json:"warnings,omitempty"`
	// Gone is true when the member's block device no longer exists.
	Gone bool `json:"gone,omitempty"`
	// DataOffsetSectors is md's data offset on the member (md/dev-*/offset, 512-byte
	// sectors); nil when unknown. With the array's component size it is how large a disk
	// must be to take a whole-disk member's place.
	DataOffsetSectors *int64 `json:"data_offset_sectors,omitempty"`
	// LastSerial and LastDisk name the disk the inventory last saw in this slot, for a
	// missing or gone member.
	LastSerial string `json:"last_serial,omitempty"`
	LastDisk   string `json:"last_disk,omitempty"`
}

// WriteMostly reports whether md flags the member write-mostly (read from only when no other
// member can serve the read).
func (m Member) WriteMostly() bool { return mdadm.ParseDevState(m.Flags).WriteMostly }

// Sync is a running resync, recovery, check or reshape.
type Sync struct {
	Action     SyncAction `json:"action"`
	Percent    float64    `json:"percent"`
	SpeedKiB   int64      `json:"speed_kib"`
	ETASeconds int64      `json:"eta_seconds"`
	// Delayed is true while md has not started the sync: it waits for another array's sync
	// to finish, or (Pending) for the array to be written.
	Delayed bool `json:"delayed,omitempty"`
	// Pending is true when md owes the array a sync it has not started (pending.go);
	// Reason says why and what starts it.
	Pending bool   `json:"pending,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Disk is one whole disk with what holds it.
type Disk struct {
	Name               string   `json:"name"`
	Serial             string   `json:"serial"`
	Model              string   `json:"model"`
	WWN                string   `json:"wwn"`
	SizeBytes          uint64   `json:"size_bytes"`
	LogicalSectorSize  int      `json:"logical_sector_size"`
	PhysicalSectorSize int      `json:"physical_sector_size"`
	Rotational         bool     `json:"rotational"`
	ByID               []string `json:"by_id"`
	ByPath             string   `json:"by_path"`
	// Identity beyond serial, model and WWN (identify.Disk), for telling disks apart and
	// finding the bay; a vanished disk has what the inventory remembered.
	Vendor       string `json:"vendor,omitempty"`
	Firmware     string `json:"firmware,omitempty"`
	Transport    string `json:"transport,omitempty"`  // sata, sas, scsi, nvme, virtio, usb
	HCTL         string `json:"hctl,omitempty"`       // SCSI host:channel:target:lun (sdX)
	Controller   string `json:"controller,omitempty"` // NVMe controller (nvme0 of nvme0n1)
	SerialSource string `json:"serial_source,omitempty"`
	// Drill is the lab directory of a drill disk (identify.DrillDisk), "" for the others.
	Drill string `json:"drill,omitempty"`
	// IdentityProblem says why the disk cannot be told apart from the others by its serial
	// (none, shared with another disk, unprintable bytes); raidswap writes to no such disk.
	IdentityProblem string   `json:"identity_problem,omitempty"`
	Partitions      []string `json:"partitions"`
	// Holders are devices stacked on the disk or its partitions (md127, dm-0).
	Holders []string `json:"holders"`
	// HeldBy says which of the disk's devices each holder is stacked on (vdb2 -> dm-0). It
	// is not part of the output, which keeps Holders flat; a disk built without it has its
	// holders taken as stacked on the whole disk.
	HeldBy map[string][]string `json:"-"`
	// Mounted lists "partition on mountpoint".
	Mounted []string `json:"mounted"`
	// Swap lists the disk's partitions in use as swap.
	Swap []string `json:"swap"`
	// Bay is the enclosure slot (or PCIe slot) holding the disk and how its LEDs are driven,
	// from the kernel or, for a disk that is not present, as the inventory remembers it.
	// BayProblem says why no bay is given when the kernel's enclosure data disagree.
	Bay        *identify.Bay `json:"bay,omitempty"`
	BayProblem string        `json:"bay_problem,omitempty"`
	Members    []DiskMember  `json:"members"`
	Verdict    DiskState     `json:"verdict"`
	// Present is false for a disk known only from an array's record of it.
	Present bool `json:"present"`
	// LastSeen is when the inventory last saw a disk that is not present (RFC 3339).
	LastSeen string `json:"last_seen,omitempty"`
	// BootPending names the open replacement (its plan) that makes this disk, its new disk,
	// bootable at a later step: until then its missing boot code is pending, not a warning.
	BootPending string `json:"boot_pending,omitempty"`

	// SMART is the disk's own health record, read for present disks of the live system
	// (Options.SMART); nil when not read (a capture, a vanished disk).
	SMART *identify.Health `json:"smart,omitempty"`
	// SMARTReplaceCandidate: SMART says failing while every md member on the disk is still
	// in sync, so `raidswap replace --replace` can copy it with redundancy kept.
	SMARTReplaceCandidate bool `json:"smart_replace_candidate,omitempty"`
	// Boot says whether the disk boots alone (bootloader.VerifyBIOS, or the UEFI
	// verifier), for a disk holding a member of /boot's array; nil for the others.
	Boot *bootloader.Readiness `json:"boot,omitempty"`
}

// DiskMember is one md member on a disk.
type DiskMember struct {
	Array  string      `json:"array"`
	Device string      `json:"device"`
	State  MemberState `json:"state"`
}

// Label is how raidswap names a disk to a person: "sdb (WD-X9)".
func (d Disk) Label() string {
	if d.Serial == "" {
		return d.Name + " (serial unknown)"
	}
	return d.Name + " (" + d.Serial + ")"
}

// Disk returns the disk with the given kernel name.
func (s *System) Disk(name string) *Disk {
	for i := range s.Disks {
		if s.Disks[i].Name == name {
			return &s.Disks[i]
		}
	}
	return nil
}

// DiskBySerial returns the present disk with the given serial.
func (s *System) DiskBySerial(serial string) *Disk {
	for i := range s.Disks {
		if s.Disks[i].Serial == serial && serial != "" && s.Disks[i].Present {
			return &s.Disks[i]
		}
	}
	return nil
}

// Array returns the array with the given name.
func (s *System) Array(name string) *Array {
	for i := range s.Arrays {
		if s.Arrays[i].Name == name {
			return &s.Arrays[i]
		}
	}
	return nil
}
