package bootloader

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"sort"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
)

// DiskIn is a disk as discovery already knows it.
type DiskIn struct {
	Name       string
	Serial     string
	SectorSize int // logical; 0 means 512
	Partitions []string
}

// Input is what discovery already knows and detection builds on; Detect reads the rest
// (the disks' first sectors, /etc/fstab, /boot, debconf) through the Root.
type Input struct {
	Disks []DiskIn
	// Members maps a partition's kernel name to the md array it is a member of.
	Members map[string]string
	// MemberStates maps a member partition's kernel name to its state in its array as
	// discovery judged it (in_sync, rebuilding, faulty, spare, ...): an ESP on md boots from
	// a disk only when that disk's member is in sync.
	MemberStates map[string]string
	// Arrays maps each md array's kernel name to its metadata version ("1.0").
	Arrays map[string]string
	// Mounts maps a block device's kernel name (md0, sda1) to its mount points (a drill's
	// /boot is found by it).
	Mounts map[string][]string
	// Stack is what every mount rests on (blockstack.Read); where the host's /boot lives is
	// traced through it. nil: Detect reads it through the Root.
	Stack *blockstack.Stack
	// BootMount, when set, makes Detect read a drill's boot facts instead of the host's
	// (discover.Scope): firmware BIOS (the drill's layout is a BIOS/GPT one), /boot is the
	// array mounted at BootMount, and neither /etc/fstab, debconf nor EFI variables and ESPs
	// are the drill's, so none is read.
	BootMount string
	// Profile names the distribution's tools (grub2-install on RHEL): GRUB's installer is
	// looked for under its name there.
	Profile host.Profile
}

// Detect reads the boot facts of the system under root. It never fails: what it cannot read
// is an unknown field and a line in Facts.Notes, never a guess.
func Detect(root *host.Root, in Input) Facts {
	f := Facts{Firmware: FirmwareBIOS, Loader: LoaderNone}
	if in.BootMount != "" {
		return detectLab(root, in)
	}
	if root.Exists("/sys/firmware/efi") {
		f.Firmware = FirmwareUEFI
	}
	f.GrubInstall = root.Exists(in.Profile.Program(host.GrubInstall))
	f.GrubInstallProgram, f.GrubInstallPackage = in.Profile.Program(host.GrubInstall), in.Profile.Package(host.GrubInstall)
	fstab, err := root.ReadFile("/etc/fstab")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.Notes = append(f.Notes, "reading /etc/fstab: "+err.Error())
	}
	mounts, err := root.ReadFile("/proc/self/mounts")
	if err != nil {
		f.Notes = append(f.Notes, "reading /proc/self/mounts: "+err.Error())
	}
	st := in.Stack
	if st == nil {
		var problems []string
		st, problems = blockstack.Read(root)
		f.Notes = append(f.Notes, problems...)
	}
	f.Boot = findBoot(root, in, st, ParseFstab(fstab))
	if f.Boot.Crypt != "" {
		f.Boot.CryptoDisk = grubCryptodisk(root)
	}
	for _, d := range in.Disks {
		f.Disks = append(f.Disks, detectDisk(root, d, in))
	}
	markBootMembers(&f, in)
	f.Loader, f.LoaderFrom = detectLoader(root, f)
	if f.Loader == LoaderGrubLegacy {
		biosDrives(root, &f)
	}
	f.Shim = detectShim(root, in.Profile.EFIFiles())
	f.ShimSigned = root.Exists(ShimSignedImage)
	detectEFILoader(root, &f, blockstack.ParseMounts(mounts), in.Profile.EFIFiles())
	verifyDisks(root, &f)
	if b, err := root.ReadFile("/var/cache/debconf/config.dat"); err == nil {
		f.InstallDevices, f.DebconfGrubPC = DebconfValue(b, "grub-pc/install_devices")
		if slices.Contains(in.Profile.DebconfLists(), DebconfGrubEFIQuestion) {
			f.EFIInstallDevices, f.DebconfGrubEFI = DebconfValue(b, DebconfGrubEFIQuestion)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		f.Notes = append(f.Notes, "reading /var/cache/debconf/config.dat: "+err.Error())
	}
	return f
}

// detectLab is Detect for a drill: the host's firmware, fstab, debconf and ESP say nothing
// of the drill's disks.
func detectLab(root *host.Root, in Input) Facts {
	f := Facts{Firmware: FirmwareBIOS, Loader: LoaderNone}
	f.GrubInstall = root.Exists(in.Profile.Program(host.GrubInstall))
	f.GrubInstallProgram, f.GrubInstallPackage = in.Profile.Program(host.GrubInstall), in.Profile.Package(host.GrubInstall)
	mounts, err := root.ReadFile("/proc/self/mounts")
	if err != nil {
		f.Notes = append(f.Notes, "reading /proc/self/mounts: "+err.Error())
	}
	f.Boot = findLabBoot(in, blockstack.ParseMounts(mounts))
	if f.Boot.Array == "" {
		f.Notes = append(f.Notes, "no array of the drill is mounted at "+in.BootMount)
	}
	for _, d := range in.Disks {
		f.Disks = append(f.Disks, detectDisk(root, d, in))
	}
	markBootMembers(&f, in)
	f.Loader, f.LoaderFrom = detectLoader(root, f)
	verifyDisks(root, &f)
	return f
}

// findLabBoot is the array mounted at the drill's BootMount.
func findLabBoot(in Input, mounts []blockstack.MountsLine) BootDir {
	names := make([]string, 0, len(in.Mounts))
	for n := range in.Mounts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, isArray := in.Arrays[n]; !isArray {
			continue
		}
		for _, m := range in.Mounts[n] {
			if m != in.BootMount {
				continue
			}
			return BootDir{Array: n, Mountpoint: m, From: "mounted", FSType: fsTypeAt(mounts, m), Metadata: in.Arrays[n]}
		}
	}
	// /boot a directory on the drill's root array (a host whose /boot is on /, copied by
	// --like-host): BootMount is <mount>/boot with the array mounted at <mount>.
	if path.Base(in.BootMount) == "boot" {
		parent := path.Dir(in.BootMount)
		for _, n := range names {
			if _, isArray := in.Arrays[n]; !isArray {
				continue
			}
			for _, m := range in.Mounts[n] {
				if m != parent {
					continue
				}
				return BootDir{Array: n, OnRoot: true, Mountpoint: m, From: "mounted", FSType: fsTypeAt(mounts, m), Metadata: in.Arrays[n]}
			}
		}
	}
	return BootDir{}
}

// fsTypeAt is the type of the file system mounted last at point ("" when none is).
func fsTypeAt(mounts []blockstack.MountsLine, point string) string {
	t := ""
	for _, e := range mounts {
		if e.Point == point {
			t = e.FSType
		}
	}
	return t
}

func partitionsOf(in Input, disk string) []string {
	for _, d := range in.Disks {
		if d.Name == disk {
			return d.Partitions
		}
	}
	return nil
}

// markBootMembers names, on each disk, its member of the array /boot is on.
func markBootMembers(f *Facts, in Input) {
	if f.Boot.Array == "" {
		return
	}
	for i, d := range f.Disks {
		for _, p := range partitionsOf(in, d.Name) {
			if in.Members[p] == f.Boot.Array {
				f.Disks[i].BootMember = p
			}
		}
	}
}
