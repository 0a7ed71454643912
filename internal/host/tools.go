package host

// Paths of the external tools raidswap runs, at their Debian/Ubuntu locations. Every command
// raidswap starts names one of these; the distribution profile (profile.go, Profile.Program)
// maps each to the program the running system has (grub2-install, /usr/sbin/efibootmgr).
const (
	Mdadm       = "/sbin/mdadm"
	Sgdisk      = "/sbin/sgdisk"
	Sfdisk      = "/sbin/sfdisk"
	Partx       = "/usr/bin/partx"
	Wipefs      = "/sbin/wipefs"
	Blkid       = "/sbin/blkid"
	Mkswap      = "/sbin/mkswap"
	Swapon      = "/sbin/swapon"
	Swapoff     = "/sbin/swapoff"
	GrubInstall = "/usr/sbin/grub-install"
	Efibootmgr  = "/bin/efibootmgr"
	Udevadm     = "/bin/udevadm"
	Ledctl      = "/usr/sbin/ledctl"
	Losetup     = "/sbin/losetup"
	Dmsetup     = "/sbin/dmsetup"
	Modprobe    = "/sbin/modprobe"
	MkfsExt4    = "/sbin/mkfs.ext4"
	MkfsVfat    = "/sbin/mkfs.vfat"
	Mount       = "/bin/mount"
	Umount      = "/bin/umount"
	Lsblk       = "/bin/lsblk"
	Dd          = "/bin/dd"
	Flock       = "/usr/bin/flock"
	// VMTestHotplug exists only inside an internal/vmtest VM: it asks the host to unplug or
	// plug a virtio disk through QMP (package simulate uses it to make a disk vanish).
	VMTestHotplug = "/run/vmtest/bin/vmtest-hotplug"
)

// DebconfSetSelections sets debconf answers (grub-pc/install_devices); debconf is installed on
// every Debian system.
const DebconfSetSelections = "/usr/bin/debconf-set-selections"
