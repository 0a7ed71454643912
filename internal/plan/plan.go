package plan

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/blockstack"
)

// FormatVersion is the plan format this raidswap writes and applies. A plan of another
// format is refused rather than guessed at.
const FormatVersion = 2

// Plan is a complete replacement, step by step. Each field's comment says whether it
// influences apply.
type Plan struct {
	// Format must equal FormatVersion or apply refuses the plan. Influences apply.
	Format int `json:"format"`
	// RaidswapVersion built the plan. Informational.
	RaidswapVersion string `json:"raidswap_version"`
	// CreatedAt is when the plan was built. Informational.
	CreatedAt time.Time `json:"created_at"`
	// Host is the machine the plan was built on; apply refuses it on another machine-id.
	// Influences apply.
	Host Host `json:"host"`
	// Fingerprint hashes Observed. A fresh apply re-discovers and refuses a plan whose
	// fingerprint no longer matches ("stale plan"). Influences apply.
	Fingerprint string `json:"fingerprint"`
	// Observed are the facts the plan was built on, one line each (array UUIDs, member disk
	// serials and states, the disks involved). Apply uses them to name what changed.
	Observed []string `json:"observed"`
	// Request is what the operator asked for. Informational: it is already compiled into
	// Steps.
	Request Request `json:"request"`
	// Disks are the disks the plan acts on, by serial. Influences apply: every step that
	// writes checks its disk's serial against these.
	Disks Disks `json:"disks"`
	// SpeedKiB is the rebuild speed the durations assume, and SpeedSource where it came from.
	// Informational.
	SpeedKiB    int64  `json:"speed_kib"`
	SpeedSource string `json:"speed_source"`
	// RebuildsFrom says, per array, what its new member is rebuilt or copied from, for every
	// array where that is not simply the survivor's mirror (parity arrays read every member;
	// no single disk holds a copy). Informational.
	RebuildsFrom []string `json:"rebuilds_from,omitempty"`
	// Exposure says, per array of the failed disk, what it can still lose while it runs
	// without the failed disk's members (from its detach until its rebuild ends), by the
	// redundancy model (mdadm.Shape). Informational: the change board's risk section.
	Exposure []ArrayExposure `json:"exposure,omitempty"`
	// Notes are things the operator must know that no step does (e.g. a swap UUID that could
	// not be found). Informational.
	Notes []string `json:"notes,omitempty"`
	// Steps run in order. Influences apply.
	Steps []Step `json:"steps"`
	// Checksum seals the plan: an HMAC-SHA256 under this host's plan key over the plan with
	// Checksum empty. Apply refuses a plan whose seal does not match (edited by hand,
	// damaged, or sealed on another host). Influences apply.
	Checksum string `json:"checksum"`
}

// ArrayExposure is what one array can lose while it runs without the failed disk's members.
type ArrayExposure struct {
	Array string `json:"array"`
	// Level is the array's level, with a raid10 layout's copies ("raid10 near2").
	Level string `json:"level"`
	// RaidDisks is the array's number of slots.
	RaidDisks int `json:"raid_disks"`
	// Parity says the level rebuilds from parity (raid4/5/6), not from copies.
	Parity bool `json:"parity,omitempty"`
	// Tolerance is how many more members, whichever they are, the array can lose and keep
	// running (mdadm.Shape.Tolerance).
	Tolerance int `json:"tolerance"`
	// Critical are the disks (serial, or kernel name without one) whose loss alone would stop
	// the array: for copies, each holds the only copy of some of its data.
	Critical []string `json:"critical,omitempty"`
	// Spared are the disks of its other in-sync members: it survives the loss of any one.
	Spared []string `json:"spared,omitempty"`
}

// Host names the machine a plan was built on.
type Host struct {
	Hostname  string `json:"hostname"`
	MachineID string `json:"machine_id"`
}

// Disks are the disks a plan involves.
type Disks struct {
	// Failed is the disk coming out (or, for re-add, coming back).
	Failed DiskRef `json:"failed"`
	// Survivor holds the good copy; partition tables are cloned from it. Nothing but boot
	// code is ever written to it.
	Survivor DiskRef `json:"survivor"`
	// New is the replacement.
	New NewDisk `json:"new"`
}

// DiskRef is a disk as it was when the plan was built.
type DiskRef struct {
	// Device is the kernel name at plan time (vdb). Apply checks that it still carries
	// Serial before acting on it.
	Device string `json:"device"`
	// Serial identifies the disk; empty only for a vanished disk nobody recorded.
	Serial    string `json:"serial"`
	Model     string `json:"model,omitempty"`
	SizeBytes uint64 `json:"size_bytes,omitempty"`
	// Bay is where the disk sits: its enclosure or PCIe slot when known (a vanished disk's as
	// the inventory remembers it), and its by-path name.
	Bay string `json:"bay,omitempty"`
	// Present says whether the disk was attached when the plan was built.
	Present bool `json:"present"`
}

// Label names the disk for a person: "vdb (WD-X9)".
func (d DiskRef) Label() string {
	switch {
	case d.Serial == "" && d.Device == "":
		return "the new disk"
	case d.Serial == "":
		return d.Device + " (serial unknown)"
	case d.Device == "":
		return "serial " + d.Serial
	}
	return d.Device + " (" + d.Serial + ")"
}

// NewDisk is the replacement disk, which may not be attached yet.
type NewDisk struct {
	// Serial is the new disk's serial when the operator named it; empty means "the disk that
	// appears and was not attached when the plan was built".
	Serial string `json:"serial,omitempty"`
	// Device is its kernel name, when it was attached at plan time. Informational: steps
	// name it {new} and apply finds it by serial.
	Device string `json:"device,omitempty"`
	// MinSizeBytes is the smallest disk that can take the survivor's layout: the survivor's
	// size, or for a whole-disk member what md needs (MinSizeFrom says from which numbers).
	// Influences apply (CheckNewDisk).
	MinSizeBytes uint64 `json:"min_size_bytes"`
	// MinSizeFrom says where MinSizeBytes comes from when it is not the survivor's size.
	// Informational.
	MinSizeFrom string `json:"min_size_from,omitempty"`
	// KnownSerials were attached when the plan was built; a disk with one of them is never
	// taken as the new disk when Serial is empty.
	KnownSerials []string `json:"known_serials"`
	// Wipe allows erasing a new disk that holds a partition table or signatures.
	Wipe bool `json:"wipe,omitempty"`
	// AcceptSMART allows a new disk whose SMART reports bad sectors or predicts its failure
	// (CheckNewDisk). Influences apply.
	AcceptSMART bool `json:"accept_smart,omitempty"`
}

// Action is what a step does. The executor switches on it; an action it does not know is an
// error, never a guess.
type Action string

// Actions, in the order a replacement uses them.
const (
	// ActionPreflight checks, before anything is written, that every program the plan runs
	// exists and is executable (preflight.go). Always the first step, always run again.
	ActionPreflight      Action = "preflight"
	ActionSwapOff        Action = "swapoff"
	ActionDetach         Action = "detach"
	ActionLocate         Action = "locate"
	ActionAwaitRemoval   Action = "await-removal"
	ActionAwaitNewDisk   Action = "await-new-disk"
	ActionCheckNewDisk   Action = "check-new-disk"
	ActionPartitionClone Action = "partition-clone"
	ActionZeroSuperblock Action = "zero-superblock"
	ActionAddMember      Action = "add-member"
	ActionAddSpare       Action = "add-spare"
	ActionReplaceMember  Action = "replace-member"
	ActionRemoveReplaced Action = "remove-replaced"
	ActionReAddMember    Action = "re-add-member"
	ActionMkswap         Action = "mkswap"
	ActionSwapOn         Action = "swapon"
	ActionBootloader     Action = "bootloader"
	// Boot steps of the BIOS path (internal/plan/boot.go): mount /boot's array at a private
	// directory when it is not mounted, and unmount it after the installs; set Debian's
	// grub-pc/install_devices to the current disks; a manual GRUB 0.97 step the operator
	// confirms.
	ActionMountBoot      Action = "mount-boot"
	ActionUnmountBoot    Action = "unmount-boot"
	ActionDebconfDevices Action = "debconf-install-devices"
	ActionBootByHand     Action = "bootloader-by-hand"
	ActionRaiseSpeed     Action = "raise-speed-limits"
	ActionAwaitRebuild   Action = "await-rebuild"
	ActionRestoreSpeed   Action = "restore-speed-limits"
	ActionVerify         Action = "verify"
	// UEFI (boot_uefi.go): the removable fallback path on the survivor's ESP, the new
	// disk's ESP file system and its verified copy of the survivor's tree, a firmware boot
	// entry per disk, stale entries removed and BootOrder survivor first, then a check.
	ActionESPFallback Action = "esp-fallback"
	ActionESPFormat   Action = "esp-mkfs"
	ActionESPSync     Action = "esp-sync"
	// ActionESPInstall installs GRUB with grub-install into a new ESP that has no
	// survivor's to copy (bootloader.UEFIESPFromFailed), and the fallback path beside it.
	ActionESPInstall   Action = "esp-grub-install"
	ActionEFIEntry     Action = "efi-boot-entry"
	ActionEFIBootOrder Action = "efi-boot-order"
	ActionVerifyUEFI   Action = "verify-uefi"
)

// Step is one thing apply does.
type Step struct {
	// ID is unique in the plan and names the step in the journal. Influences apply.
	ID string `json:"id"`
	// Action says what the step does and which safety checks guard it. Influences apply.
	Action Action `json:"action"`
	// Target is what the step acts on. Influences apply: the executor checks it right
	// before running.
	Target Target `json:"target"`
	// Argv is the exact command, for review. Apply never runs it as read from a file: it
	// derives the command again from Action and Target (Derive) and refuses a step whose
	// Argv differs. The placeholders {new} and {new:N} stand for the new disk and its
	// partition N, found by serial when the step runs; the journal records the command as
	// run. Influences apply only through that comparison.
	Argv []string `json:"argv,omitempty"`
	// InProcess says raidswap does the work itself (partition clone, waits, checks); Argv is
	// then the equivalent command line, shown for review and not run. Influences apply.
	InProcess bool `json:"in_process,omitempty"`
	// Preconditions must hold, on a fresh discovery, right before the step runs.
	// Influences apply.
	Preconditions []Condition `json:"preconditions,omitempty"`
	// Postconditions must hold after the step; when they already hold before it, the step
	// is already done (resume) and is skipped. Influences apply.
	Postconditions []Condition `json:"postconditions,omitempty"`
	// Destructive steps write to a disk or change an array. Informational (for review and
	// confirmation); the safety checks follow from Action, not from this flag.
	Destructive bool `json:"destructive"`
	// Reason explains the step to a person. Informational: it never drives execution.
	Reason string `json:"reason"`
	// Undo says how to back the step out, or that it cannot be. Informational.
	Undo string `json:"undo,omitempty"`
	// EstimateSeconds is the expected duration when it is more than a moment. Informational.
	EstimateSeconds int64 `json:"estimate_seconds,omitempty"`
}

// Target is what a step acts on.
type Target struct {
	// Device is a kernel name (vdb, vdb2) or a placeholder ({new}, {new:2}).
	Device string `json:"device,omitempty"`
	// Serial is the serial of the disk holding Device.
	Serial string `json:"serial,omitempty"`
	// Array and ArrayUUID name the array the step changes.
	Array     string `json:"array,omitempty"`
	ArrayUUID string `json:"array_uuid,omitempty"`
	// Detached says a detach step names the member by mdadm's `detached` (its device has
	// gone) instead of by Device.
	Detached bool `json:"detached,omitempty"`
	// WriteMostly: an add step adds the member flagged write-mostly (mdadm --write-mostly),
	// because the member it replaces had the flag (writeMostlyOf).
	WriteMostly bool `json:"write_mostly,omitempty"`
	// With is the new member a replace step copies onto ({new:N}, or {new} when WholeDisk).
	With string `json:"with,omitempty"`
	// WholeDisk: the array's members are whole disks (no partition table). The step's
	// member is the disk itself (vdb, {new}): a zero-superblock step clears the disk, not
	// partitions, and an add, spare or replace step names the disk. Without it such steps
	// take partitions only.
	WholeDisk bool `json:"whole_disk,omitempty"`
	// Partitions are the partition numbers of the disk Device that a zero-superblock step
	// clears (none when WholeDisk).
	Partitions []int `json:"partitions,omitempty"`
	// SwapUUID is the UUID an mkswap step gives the new swap partition.
	SwapUUID string `json:"swap_uuid,omitempty"`
	// SpeedKiB is the rebuild speed a raise-speed-limits step sets md's speed_limit_min (and
	// speed_limit_max, when lower) to; the old values are journalled and a
	// restore-speed-limits step writes them back.
	SpeedKiB int64 `json:"speed_kib,omitempty"`
	// RecoverAfterSeconds and RecoverTimes: the rebuild wait starts a recovery md left
	// stalled (an array of the plan, degraded, holding a spare, no sync running for this
	// long) by writing "recover" to its sync_action, at most this many times per array.
	RecoverAfterSeconds int `json:"recover_after_seconds,omitempty"`
	RecoverTimes        int `json:"recover_times,omitempty"`
	// LED is the bay LED a locate step lights and a verify or led-off step turns off.
	LED *LED `json:"led,omitempty"`
	// UEFI are the operands of the UEFI steps (boot_uefi.go).
	UEFI *UEFITarget `json:"uefi,omitempty"`
	// GrubModules are the modules a bootloader step preloads into GRUB's core.img
	// (bootloader.GrubBIOSModules); PrivateBoot says /boot's array (Array) is mounted at
	// bootloader.PrivateBootDir(Array) for the step, which passes it as --boot-directory.
	GrubModules []string `json:"grub_modules,omitempty"`
	PrivateBoot bool     `json:"private_boot,omitempty"`
	// BootDir is where /boot's array is mounted when that is neither /boot nor / (a drill's
	// <lab>/boot): a bootloader step passes it as --boot-directory and the executor checks
	// the array is mounted there right before.
	BootDir string `json:"boot_dir,omitempty"`
}

// Condition is a fact about the system that apply checks on a fresh discovery. Kind decides
// which fields matter; Text says it in words (informational).
type Condition struct {
	Kind      CondKind `json:"kind"`
	Array     string   `json:"array,omitempty"`
	ArrayUUID string   `json:"array_uuid,omitempty"`
	// Device is a kernel name or a placeholder ({new}, {new:2}).
	Device string `json:"device,omitempty"`
	Serial string `json:"serial,omitempty"`
	// Partition is a partition number on the disk named by Device/Serial; 0 in a
	// member-on, in-sync-on or copy-onto condition means the disk itself (a whole-disk
	// member, MemberName).
	Partition int `json:"partition,omitempty"`
	// Count is a number of partitions.
	Count int    `json:"count,omitempty"`
	Text  string `json:"text"`
}

// CondKind is a kind of condition.
type CondKind string

// Condition kinds. internal/exec evaluates each; an unknown kind is refused.
const (
	// CondDiskSerial: the disk named Device is present and carries Serial.
	CondDiskSerial CondKind = "disk-serial"
	// CondArrayUUID: the array named Array exists and has ArrayUUID.
	CondArrayUUID CondKind = "array-uuid"
	// CondOtherInSync: the array keeps an in_sync member on a disk other than Serial/Device.
	CondOtherInSync CondKind = "other-in-sync"
	// CondNoMemberOn: the array has no member on the disk with Serial (or, with no serial,
	// on the vanished disk named Device), and no member whose device has gone.
	CondNoMemberOn CondKind = "no-member-on"
	// CondDiskAbsent: no attached disk carries Serial.
	CondDiskAbsent CondKind = "disk-absent"
	// CondDiskPresent: a disk carrying Serial (or the new disk, Device {new}) is attached.
	CondDiskPresent CondKind = "disk-present"
	// CondDiskFree: the disk (Device, usually {new}) holds no md member, nothing mounted,
	// no holder and no active swap.
	CondDiskFree CondKind = "disk-free"
	// CondPartitioned: the disk has at least Count partitions.
	CondPartitioned CondKind = "partitioned"
	// CondPartitionFree: partition Partition of the disk is in no array, not mounted, not
	// held, not swap.
	CondPartitionFree CondKind = "partition-free"
	// CondMemberOn: the array has a member (in_sync, rebuilding or spare) on partition
	// Partition of the disk.
	CondMemberOn CondKind = "member-on"
	// CondInSyncOn: the array has an in_sync member on partition Partition of the disk.
	CondInSyncOn CondKind = "in-sync-on"
	// CondCopyOnto: md copies onto partition Partition of the disk (mdadm --replace: the
	// member is marked "replacement"), or has finished (the member is in_sync).
	CondCopyOnto CondKind = "copy-onto"
	// CondSwapActive / CondSwapInactive: partition Partition of the disk is / is not active
	// swap.
	CondSwapActive   CondKind = "swap-active"
	CondSwapInactive CondKind = "swap-inactive"
	// CondRedundant: every slot of the array is in_sync and no sync is running.
	CondRedundant CondKind = "redundant"
)

// Placeholders in argv and targets for the new disk, resolved by serial when a step runs.
const NewDiskToken = "{new}"

// NewPart is the placeholder for partition n of the new disk: "{new:2}".
func NewPart(n int) string { return fmt.Sprintf("{new:%d}", n) }

// ParsePlaceholder reports whether s is a new-disk placeholder and which partition it names
// (0 for the whole disk).
func ParsePlaceholder(s string) (part int, ok bool) {
	if s == NewDiskToken {
		return 0, true
	}
	rest, found := strings.CutPrefix(s, "{new:")
	if !found || !strings.HasSuffix(rest, "}") {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, "}"))
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// MemberName is the kernel name of an md member on disk: partition n, or for n 0 the disk
// itself (a whole-disk member, Target.WholeDisk).
func MemberName(disk string, n int) string {
	if n == 0 {
		return disk
	}
	return blockstack.PartitionName(disk, n)
}

// NewMember is the placeholder of a member on the new disk: partition n ({new:2}), or for n
// 0 the whole new disk ({new}).
func NewMember(n int) string {
	if n == 0 {
		return NewDiskToken
	}
	return NewPart(n)
}

// PartitionNumber is the number of partition dev of disk (vdb3 of vdb → 3, nvme0n1p2 → 2),
// or 0 when dev is not a partition of disk.
func PartitionNumber(disk, dev string) int {
	rest, ok := strings.CutPrefix(dev, disk)
	if !ok || rest == "" {
		return 0
	}
	if disk[len(disk)-1] >= '0' && disk[len(disk)-1] <= '9' {
		if rest, ok = strings.CutPrefix(rest, "p"); !ok {
			return 0
		}
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// Expand fills the new-disk placeholders of argv with the new disk's kernel name.
func Expand(argv []string, newDisk string) ([]string, error) {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = a
		if !strings.Contains(a, "{new") {
			continue
		}
		if newDisk == "" {
			return nil, fmt.Errorf("%q needs the new disk, which has not been found yet", a)
		}
		n, ok := ParsePlaceholder(a)
		if !ok {
			return nil, fmt.Errorf("bad placeholder %q", a)
		}
		if n == 0 {
			out[i] = "/dev/" + newDisk
		} else {
			out[i] = "/dev/" + blockstack.PartitionName(newDisk, n)
		}
	}
	return out, nil
}

// Step returns the step with the given ID.
func (p *Plan) Step(id string) (Step, bool) {
	for _, s := range p.Steps {
		if s.ID == id {
			return s, true
		}
	}
	return Step{}, false
}
