package bootloader

// This file is the contract between boot detection (detect.go), the decision table
// (decide.go), the BIOS path (grub_bios.go, grub_legacy.go) and the UEFI path (esp.go,
// efiboot.go): plain data read from the disks and the running system, with no behaviour.

// Firmware is how the running system booted (/sys/firmware/efi present or not).
type Firmware string

// Firmware modes.
const (
	FirmwareBIOS Firmware = "bios"
	FirmwareUEFI Firmware = "uefi"
)

// MBRCode is what the boot code area of sector 0 (bytes 0–439) holds.
type MBRCode string

// MBR boot code kinds.
const (
	MBRGrub2      MBRCode = "grub2"       // GRUB 2's boot.img
	MBRGrubLegacy MBRCode = "grub-legacy" // GRUB 0.97's stage1
	MBROther      MBRCode = "other"       // some other boot code (syslinux, Windows, ...)
	MBRNone       MBRCode = "none"        // all zero
	MBRUnknown    MBRCode = "unknown"     // could not be read
)

// Loader is the boot loader the system's /boot (and ESP) say is in use.
type Loader string

// Loaders.
const (
	LoaderGrub2       Loader = "grub2"        // /boot/grub/i386-pc and/or /boot/grub/x86_64-efi, grub-install
	LoaderSystemdBoot Loader = "systemd-boot" // loader/loader.conf and EFI/systemd on the ESP
	LoaderGrubLegacy  Loader = "grub-legacy"  // GRUB 0.97: /boot/grub/stage1 and grub.conf or menu.lst
	LoaderNone        Loader = "none"         // nothing found
	LoaderUnknown     Loader = "unknown"      // something found that raidswap does not know
)

// Partition is one partition that matters for booting: a BIOS boot partition or an ESP.
type Partition struct {
	Name      string `json:"name"` // kernel name: sda1, nvme0n1p1
	Number    int    `json:"number"`
	PARTUUID  string `json:"partuuid,omitempty"`
	Type      string `json:"type"` // GPT type GUID (lower case) or MBR type byte as "0xef"
	SizeBytes int64  `json:"size_bytes"`
	FSType    string `json:"fstype,omitempty"` // vfat, linux_raid_member, ...
	FSLabel   string `json:"fslabel,omitempty"`
	FSUUID    string `json:"fsuuid,omitempty"`
	// FSVersion is blkid's VERSION of the file system: FAT12, FAT16 or FAT32 for an ESP (the
	// new disk's ESP is made of the same type).
	FSVersion string `json:"fsversion,omitempty"`
	// MDArray is the md array the partition is a member of (an ESP on RAID1 metadata 1.0),
	// and MDState its state there as discovery judged it (in_sync, rebuilding, faulty, ...;
	// "" when not known).
	MDArray string `json:"md_array,omitempty"`
	MDState string `json:"md_state,omitempty"`
}

// Disk is one disk of the mirror as the boot decision sees it.
type Disk struct {
	Name   string `json:"name"`
	Serial string `json:"serial"`
	// Label is the partition table: "gpt" or "dos".
	Label    string     `json:"label"`
	MBRCode  MBRCode    `json:"mbr_code"`
	BIOSBoot *Partition `json:"bios_boot,omitempty"`
	ESP      *Partition `json:"esp,omitempty"`
	// GapSectors is the free space between the MBR and the first partition (DOS labels: where
	// core.img goes), in logical sectors.
	GapSectors int64 `json:"gap_sectors,omitempty"`
	// Survivor and New say the disk's role in the replacement.
	Survivor bool `json:"survivor,omitempty"`
	New      bool `json:"new,omitempty"`

	// Added by detection (bootloader/detect.go), additively:

	// SectorSize is the logical sector size the table was read with.
	SectorSize int `json:"sector_size,omitempty"`
	// FirstPartitionLBA is where the first partition starts (the post-MBR gap ends there).
	FirstPartitionLBA int64 `json:"first_partition_lba,omitempty"`
	// BIOSDrive is GRUB legacy's name of the disk ("hd0") and BIOSDriveFrom where it came
	// from (/boot/grub/device.map or /sys/firmware/edd); "" when neither says.
	BIOSDrive     string `json:"bios_drive,omitempty"`
	BIOSDriveFrom string `json:"bios_drive_from,omitempty"`
	// BootMember is the disk's partition in /boot's array (vda2), "" when it has none.
	BootMember string `json:"boot_member,omitempty"`
	// Ready says whether the disk can boot alone (VerifyBIOS, or the UEFI verifier), judged
	// for the disks holding a member of /boot's array; State "" for the others.
	Ready Readiness `json:"ready"`
	// ReadError says why the disk's first sectors could not be read or parsed (then MBRCode
	// is unknown and Label empty).
	ReadError string `json:"read_error,omitempty"`
}

// BootDir is where /boot lives.
type BootDir struct {
	// Array is the md array whose file system holds /boot: its own (/boot mounted from it or
	// in fstab) or the root array with /boot a directory on it. "" when no array does.
	Array string `json:"array,omitempty"`
	// OnRoot says /boot is a directory on the root array, not a file system of its own.
	OnRoot bool `json:"on_root,omitempty"`
	// Mountpoint is where /boot's file system is mounted now; "" when it is not mounted
	// (the install then mounts it at a private directory and passes --boot-directory).
	Mountpoint string `json:"mountpoint,omitempty"`
	// Partition is set when /boot is a plain partition of one disk, or rests on one through
	// LVM or dm-crypt (several are joined by ", "): the mirror does not cover it.
	Partition string `json:"partition,omitempty"`
	// FSType is /boot's file system type (ext4, xfs, ...) and Metadata the md metadata
	// version of Array: they choose GRUB's modules. Added by detection.
	FSType   string `json:"fstype,omitempty"`
	Metadata string `json:"metadata,omitempty"`
	// From says how Array was found: "mounted", "fstab" or "root".
	From string `json:"from,omitempty"`
	// Device is the block device /boot's file system is on when more than an array or a
	// partition lies between them (an LV, a LUKS device, a partition of an array: dm-0,
	// md0p1), and Via the whole chain down to the disks, for the operator:
	// "/boot (a directory on /) → dm-0 (LVM vg0-root) → md1 → vda2, vdb2".
	Device string `json:"device,omitempty"`
	Via    string `json:"via,omitempty"`
	// Crypt names the dm-crypt devices /boot's file system lies inside ("dm-0"), and
	// CryptoDisk says GRUB is told to unlock them (GRUB_ENABLE_CRYPTODISK=y).
	Crypt      string `json:"crypt,omitempty"`
	CryptoDisk bool   `json:"cryptodisk,omitempty"`
	// Unsupported says why GRUB's boot of this stack cannot be set up by raidswap: a
	// device-mapper target neither LVM nor dm-crypt, a device it cannot follow, an LV that
	// spans several arrays. "" when none.
	Unsupported string `json:"unsupported,omitempty"`
}

// Facts are everything the boot decision looks at.
type Facts struct {
	Firmware Firmware `json:"firmware"`
	Disks    []Disk   `json:"disks"`
	Boot     BootDir  `json:"boot"`
	Loader   Loader   `json:"loader"`
	// Shim says Secure Boot's shim is on the ESP (EFI/<distro>/shimx64.efi): boot entries
	// point at it, not at grubx64.efi.
	Shim bool `json:"shim,omitempty"`
	// ShimSigned says the Debian family's signed shim is installed (ShimSignedImage), so
	// grub-install --uefi-secure-boot puts shim and the signed GRUB on an ESP it makes.
	ShimSigned bool `json:"shim_signed,omitempty"`
	// EFILoader is the ESP path of the loader the firmware boot entries name, as FindLoader
	// finds it on the survivor's ESP: EFI/debian/grubx64.efi, EFI/debian/shimx64.efi with
	// shim, EFI/systemd/systemd-bootx64.efi with systemd-boot.
	EFILoader string `json:"efi_loader,omitempty"`
	// InstallDevices is Debian's debconf grub-pc/install_devices (nil when not a Debian
	// family system or not set).
	InstallDevices []string `json:"install_devices,omitempty"`

	// Added by detection, additively:

	// DebconfGrubPC says debconf holds the grub-pc/install_devices question (Debian family
	// with grub-pc installed), so a replacement must set it to the current disks.
	DebconfGrubPC bool `json:"debconf_grub_pc,omitempty"`
	// EFIInstallDevices is Ubuntu's debconf grub-efi/install_devices (the ESPs
	// grub-multi-install installs GRUB on) and DebconfGrubEFI says the question exists; read
	// only where the distribution profile keeps that list.
	EFIInstallDevices []string `json:"efi_install_devices,omitempty"`
	DebconfGrubEFI    bool     `json:"debconf_grub_efi,omitempty"`
	// GrubInstall says grub-install (host.GrubInstall) exists on the system.
	GrubInstall bool `json:"grub_install,omitempty"`
	// GrubInstallProgram is GRUB's installer as the distribution names and places it
	// (/usr/sbin/grub2-install on RHEL) and GrubInstallPackage the package that ships it
	// there (host.Profile); "" when not known.
	GrubInstallProgram string `json:"grub_install_program,omitempty"`
	GrubInstallPackage string `json:"grub_install_package,omitempty"`
	// FailedESP is the failed disk's ESP when the survivor has none (issue 17, item 14: an ESP
	// on one disk only): as detection read it while the failed disk is attached, else as the
	// inventory last saw it; FailedESPFrom says which, FailedName and FailedSerial name the
	// disk. nil when neither knows. The plan fills it in (the failed disk is none of Disks).
	FailedESP     *Partition `json:"failed_esp,omitempty"`
	FailedESPFrom string     `json:"failed_esp_from,omitempty"`
	FailedName    string     `json:"failed_name,omitempty"`
	FailedSerial  string     `json:"failed_serial,omitempty"`
	// LoaderFrom says what the Loader was judged from.
	LoaderFrom string `json:"loader_from,omitempty"`
	// Notes are what detection could not read or judge; each is shown to the operator.
	Notes []string `json:"notes,omitempty"`
}

// Decision kinds beyond those in decide.go; the table in decide.go returns each.
const (
	// BootNotMirrored: /boot is a plain partition of one disk; the mirror does not cover it.
	BootNotMirrored Kind = iota + 100
	// UEFIESPEveryDisk: one ESP per disk: make the new disk's ESP, copy and verify the
	// survivor's, fallback path on each, one firmware boot entry per disk.
	UEFIESPEveryDisk
	// UEFIESPOnMD: the ESP is an md RAID1 (metadata 1.0): the re-add copies it; check the
	// fallback path and the boot entries for both disks.
	UEFIESPOnMD
	// UEFIFromRescue: the disks are set up for UEFI (an ESP on each, no BIOS boot
	// partition) but the running system booted by BIOS: sync the ESPs, and say that the boot
	// entries could not be written and how to add them.
	UEFIFromRescue
	// GrubLegacyByHand: GRUB 0.97: run nothing, print the grub shell commands per disk and
	// wait for the operator's confirmation.
	GrubLegacyByHand
	// UnknownLoader: a loader raidswap does not know: refuse to guess, say what was found.
	UnknownLoader
	// BootStackRefused: /boot rests on the arrays through a stack raidswap cannot set GRUB
	// up for (inside LUKS without GRUB_ENABLE_CRYPTODISK, a dm target neither LVM nor
	// dm-crypt, an LV across several arrays, a stacked /boot not mounted): refuse the plan
	// before anything is written, naming why.
	BootStackRefused
	// UEFIESPFromFailed: UEFI, no ESP on the survivor, and the failed disk's ESP is known
	// (FailedESP, with its size and FAT type): the new disk gets an ESP remade like the
	// failed disk's; the survivor, without an ESP, still cannot boot alone (warned).
	UEFIESPFromFailed
)

// Readiness is whether a disk can boot by itself.
type Readiness struct {
	// State is BootOK, BootMissing or BootUnknown ("" when not judged: the disk holds no
	// member of /boot's array).
	State  BootState `json:"state,omitempty"`
	Reason string    `json:"reason,omitempty"`
}

// BootState is whether a disk boots alone: the one vocabulary of status's BOOT column, the
// boot verifiers (BIOS and UEFI) and exec's postconditions.
type BootState string

// Boot states.
const (
	BootOK      BootState = "ok"
	BootMissing BootState = "missing"
	BootUnknown BootState = "unknown"
)
