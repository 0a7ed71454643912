package bootloader

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/partition"
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
	for i, d := range f.Disks {
		if f.Boot.Array != "" {
			for _, p := range partitionsOf(in, d.Name) {
				if in.Members[p] == f.Boot.Array {
					f.Disks[i].BootMember = p
				}
			}
		}
	}
	f.Loader, f.LoaderFrom = detectLoader(root, f)
	if f.Loader == LoaderGrubLegacy {
		biosDrives(root, &f)
	}
	f.Shim = detectShim(root, in.Profile.EFIFiles())
	f.ShimSigned = root.Exists(ShimSignedImage)
	detectEFILoader(root, &f, ParseFstab(mounts), in.Profile.EFIFiles())
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
	f.Boot = findLabBoot(in, ParseFstab(mounts))
	if f.Boot.Array == "" {
		f.Notes = append(f.Notes, "no array of the drill is mounted at "+in.BootMount)
	}
	for _, d := range in.Disks {
		f.Disks = append(f.Disks, detectDisk(root, d, in))
	}
	for i, d := range f.Disks {
		if f.Boot.Array != "" {
			for _, p := range partitionsOf(in, d.Name) {
				if in.Members[p] == f.Boot.Array {
					f.Disks[i].BootMember = p
				}
			}
		}
	}
	f.Loader, f.LoaderFrom = detectLoader(root, f)
	verifyDisks(root, &f)
	return f
}

// findLabBoot is the array mounted at the drill's BootMount.
func findLabBoot(in Input, mounts []FstabEntry) BootDir {
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
			fst := ""
			for _, e := range mounts {
				if e.Mountpoint == m {
					fst = e.FSType
				}
			}
			return BootDir{Array: n, Mountpoint: m, From: "mounted", FSType: fst, Metadata: in.Arrays[n]}
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
				fst := ""
				for _, e := range mounts {
					if e.Mountpoint == m {
						fst = e.FSType
					}
				}
				return BootDir{Array: n, OnRoot: true, Mountpoint: m, From: "mounted", FSType: fst, Metadata: in.Arrays[n]}
			}
		}
	}
	return BootDir{}
}

func partitionsOf(in Input, disk string) []string {
	for _, d := range in.Disks {
		if d.Name == disk {
			return d.Partitions
		}
	}
	return nil
}

// FstabEntry is one line of /etc/fstab or /proc/self/mounts.
type FstabEntry struct {
	Spec, Mountpoint, FSType string
}

// ParseFstab parses fstab-format lines (also /proc/self/mounts); octal escapes in the
// mount point (\040) are decoded.
func ParseFstab(b []byte) []FstabEntry {
	var out []FstabEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		out = append(out, FstabEntry{Spec: f[0], Mountpoint: host.UnescapeMount(f[1]), FSType: f[2]})
	}
	return out
}

// resolveSpec names the block device an fstab spec means (UUID=, LABEL=, PARTUUID=, a /dev
// path or link), or "".
func resolveSpec(root *host.Root, spec string) string {
	link := ""
	switch {
	case strings.HasPrefix(spec, "UUID="):
		link = "/dev/disk/by-uuid/" + strings.Trim(strings.TrimPrefix(spec, "UUID="), `"`)
	case strings.HasPrefix(spec, "LABEL="):
		link = "/dev/disk/by-label/" + strings.Trim(strings.TrimPrefix(spec, "LABEL="), `"`)
	case strings.HasPrefix(spec, "PARTUUID="):
		link = "/dev/disk/by-partuuid/" + strings.Trim(strings.TrimPrefix(spec, "PARTUUID="), `"`)
	case strings.HasPrefix(spec, "/dev/"):
		link = spec
	default:
		return ""
	}
	for i := 0; i < 8; i++ {
		t, err := root.ReadLink(link)
		if err != nil {
			break
		}
		if !path.IsAbs(t) {
			t = path.Join(path.Dir(link), t)
		}
		link = t
	}
	if !strings.HasPrefix(link, "/dev/") || strings.HasPrefix(link, "/dev/disk/") {
		return ""
	}
	return path.Base(link)
}

// findBoot says where /boot lives: the file system mounted at /boot, else the one
// /etc/fstab mounts there, else / (then /boot is a directory on it). Each is traced through
// the stack (blockstack: LVM, LUKS, dm-crypt, partitions of an array, bind mounts) down to
// the md arrays it rests on.
func findBoot(root *host.Root, in Input, st *blockstack.Stack, fstab []FstabEntry) BootDir {
	if m, ok := st.MountAt("/boot"); ok {
		if dev := st.Device(m); dev != "" {
			tr := st.Trace(dev)
			return bootOn(in, tr, blockstack.Describe("/boot", m, tr), "/boot", "mounted", false, m.FSType)
		}
	}
	for _, e := range fstab {
		if e.Mountpoint != "/boot" {
			continue
		}
		if dev := resolveSpec(root, e.Spec); dev != "" {
			tr := st.Trace(dev)
			return bootOn(in, tr, "/boot (not mounted; "+e.Spec+" in /etc/fstab) → "+tr.String(), "", "fstab", false, e.FSType)
		}
	}
	if m, ok := st.MountAt("/"); ok {
		if dev := st.Device(m); dev != "" {
			if tr := st.Trace(dev); len(tr.Arrays) > 0 {
				return bootOn(in, tr, blockstack.Describe("/boot", m, tr), "/", "root", true, m.FSType)
			}
		}
	}
	return BootDir{}
}

// bootOn is the BootDir of a /boot whose file system is on the traced device.
func bootOn(in Input, tr blockstack.Trace, via, mp, from string, onRoot bool, fst string) BootDir {
	b := BootDir{Mountpoint: mp, From: from, FSType: fst, OnRoot: onRoot}
	if tr.Stacked() {
		b.Device, b.Via = tr.Device, via
	}
	if len(tr.Plain) > 0 {
		b.Partition = strings.Join(tr.Plain, ", ")
		return b
	}
	var why []string
	if len(tr.Unknown) > 0 {
		why = append(why, "raidswap cannot tell what "+strings.Join(tr.Unknown, ", ")+" rests on")
	}
	for _, n := range tr.OfKind(blockstack.KindDM) {
		why = append(why, n+" is a device-mapper target that is neither LVM nor dm-crypt")
	}
	if len(tr.Arrays) > 1 {
		why = append(why, "it spans the arrays "+strings.Join(tr.Arrays, ", "))
	}
	b.Unsupported = strings.Join(why, "; ")
	if len(tr.Arrays) > 0 {
		b.Array = tr.Arrays[0]
		b.Metadata = in.Arrays[b.Array]
	}
	b.Crypt = strings.Join(tr.OfKind(blockstack.KindCrypt), ", ")
	return b
}

// grubCryptodisk says whether GRUB is told to unlock encrypted disks
// (GRUB_ENABLE_CRYPTODISK=y in /etc/default/grub or /etc/default/grub.d/*.cfg, the last
// setting winning as when the shell sources them).
func grubCryptodisk(root *host.Root) bool {
	files := []string{"/etc/default/grub"}
	more, _ := root.Glob("/etc/default/grub.d/*.cfg")
	sort.Strings(more)
	on := false
	for _, p := range append(files, more...) {
		b, err := root.ReadFile(p)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if ok && strings.TrimSpace(k) == "GRUB_ENABLE_CRYPTODISK" {
				on = strings.Trim(strings.TrimSpace(v), `"'`) == "y"
			}
		}
	}
	return on
}

// readAt reads n bytes at off of a device (or a disk image in a fixture tree) through the
// Root's path mapping.
func readAt(root *host.Root, dev string, off int64, n int) ([]byte, error) {
	f, err := os.Open(root.Path(dev))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	got, err := f.ReadAt(b, off)
	if err != nil && !(errors.Is(err, io.EOF) && got == n) {
		return nil, fmt.Errorf("reading %d bytes at %d of %s: %w", n, off, dev, err)
	}
	return b, nil
}

// deviceSize is the size in bytes of a device (or a disk image in a fixture tree).
func deviceSize(root *host.Root, dev string) (int64, error) {
	f, err := os.Open(root.Path(dev))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dev, err)
	}
	return size, nil
}

// ReadLabel reads sector 0 and the partition table of /dev/NAME; ss is its logical sector
// size.
func ReadLabel(root *host.Root, name string, ss int) (sector0 []byte, t partition.Table, err error) {
	dev := "/dev/" + name
	if sector0, err = readAt(root, dev, 0, 512); err != nil {
		return nil, t, err
	}
	size, err := deviceSize(root, dev)
	if err != nil {
		return sector0, t, err
	}
	t, err = ReadTable(func(off int64, n int) ([]byte, error) { return readAt(root, dev, off, n) }, size, ss)
	return sector0, t, err
}

func detectDisk(root *host.Root, in DiskIn, all Input) Disk {
	d := Disk{Name: in.Name, Serial: in.Serial, MBRCode: MBRUnknown, SectorSize: in.SectorSize}
	if d.SectorSize <= 0 {
		d.SectorSize = 512
	}
	sector0, t, err := ReadLabel(root, in.Name, d.SectorSize)
	if sector0 != nil {
		d.MBRCode = ParseMBRCode(sector0)
	}
	if err != nil {
		if !errors.Is(err, partition.ErrNoTable) {
			d.ReadError = err.Error()
		}
		return d
	}
	d.Label = string(t.Scheme)
	d.FirstPartitionLBA = t.FirstLBA()
	if t.Scheme == partition.MBR && d.FirstPartitionLBA > 1 {
		d.GapSectors = d.FirstPartitionLBA - 1
	}
	for _, p := range t.Partitions {
		if p.Kind == partition.KindExtended {
			continue
		}
		typ := partType(p)
		part := &Partition{Name: blockstack.PartitionName(in.Name, p.Number), Number: p.Number, PARTUUID: t.PARTUUID(p), Type: typ,
			SizeBytes: p.Size}
		part.MDArray = all.Members[part.Name]
		if part.MDArray != "" {
			part.MDState = all.MemberStates[part.Name]
		}
		fillFS(root, part)
		switch {
		case t.Scheme == partition.GPT && typ == TypeBIOSBoot && d.BIOSBoot == nil:
			d.BIOSBoot = part
		case (typ == TypeESP || typ == TypeMBRESP) && d.ESP == nil:
			d.ESP = part
		}
	}
	return d
}

// fillFS fills a partition's file system type, label and UUID from udev's database, when
// udev knows the partition.
func fillFS(root *host.Root, p *Partition) {
	dev, err := root.ReadString("/sys/class/block/" + p.Name + "/dev")
	if err != nil {
		return
	}
	b, err := root.ReadFile("/run/udev/data/b" + dev)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "E:"), "=")
		if !ok || !strings.HasPrefix(line, "E:") {
			continue
		}
		switch k {
		case "ID_FS_TYPE":
			p.FSType = v
		case "ID_FS_LABEL":
			p.FSLabel = v
		case "ID_FS_UUID":
			p.FSUUID = v
		case "ID_FS_VERSION":
			p.FSVersion = v
		}
	}
}

// bootPath is where /boot's files are seen now, "" when /boot is not mounted.
func bootPath(b BootDir) string {
	switch {
	case b.Mountpoint == "":
		return ""
	case b.OnRoot:
		return path.Join(b.Mountpoint, "boot")
	}
	return b.Mountpoint
}

// detectLoader judges the boot loader from /boot's files when /boot is mounted, else from
// the disks' boot code.
func detectLoader(root *host.Root, f Facts) (Loader, string) {
	if bp := bootPath(f.Boot); bp != "" {
		has := func(p string) bool { return root.Exists(path.Join(bp, p)) }
		switch {
		case has("grub/i386-pc") || has("grub/x86_64-efi") || has("grub2/i386-pc") || has("grub2/x86_64-efi"):
			return LoaderGrub2, bp + "/grub holds GRUB 2's modules"
		case has("grub/stage1") && (has("grub/grub.conf") || has("grub/menu.lst")):
			return LoaderGrubLegacy, bp + "/grub holds GRUB 0.97's stage1 and grub.conf or menu.lst"
		case has("loader/loader.conf") || has("efi/loader/loader.conf"):
			return LoaderSystemdBoot, bp + "/loader/loader.conf (systemd-boot)"
		case has("syslinux") || has("extlinux") || has("grub"):
			return LoaderUnknown, bp + " holds a boot loader raidswap does not know (syslinux, extlinux or an unrecognised grub directory)"
		}
		if root.Exists("/efi/loader/loader.conf") {
			return LoaderSystemdBoot, "/efi/loader/loader.conf (systemd-boot)"
		}
		return LoaderNone, bp + " holds no boot loader files"
	}
	var grub2, legacy, bbp bool
	for _, d := range f.Disks {
		switch d.MBRCode {
		case MBRGrub2:
			grub2 = true
		case MBRGrubLegacy:
			legacy = true
		}
		bbp = bbp || d.BIOSBoot != nil
	}
	why := "/boot is not mounted: "
	switch {
	case grub2 && !legacy:
		return LoaderGrub2, why + "a disk's MBR holds GRUB 2's boot.img"
	case legacy && !grub2:
		return LoaderGrubLegacy, why + "a disk's MBR holds GRUB 0.97's stage1"
	case legacy && grub2:
		return LoaderUnknown, why + "the disks' MBRs hold both GRUB 2 and GRUB 0.97 boot code"
	case bbp:
		return LoaderGrub2, why + "the disks carry a BIOS boot partition, which only GRUB 2 uses"
	}
	return LoaderNone, why + "no disk's MBR holds GRUB boot code"
}

// ParseDeviceMap parses GRUB's device.map ("(hd0) /dev/sda") into device path -> drive.
func ParseDeviceMap(b []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || !strings.HasPrefix(f[0], "(hd") || !strings.HasSuffix(f[0], ")") {
			continue
		}
		out[f[1]] = strings.Trim(f[0], "()")
	}
	return out
}

// biosDrives names each disk's GRUB legacy drive (hdN) from /boot/grub/device.map, else from
// the BIOS's disk order in /sys/firmware/edd (matched by MBR signature); never by guessing.
func biosDrives(root *host.Root, f *Facts) {
	if bp := bootPath(f.Boot); bp != "" {
		if b, err := root.ReadFile(path.Join(bp, "grub/device.map")); err == nil {
			m := ParseDeviceMap(b)
			for i := range f.Disks {
				d := &f.Disks[i]
				for dev, hd := range m {
					if resolveSpec(root, dev) == d.Name {
						d.BIOSDrive, d.BIOSDriveFrom = hd, path.Join(bp, "grub/device.map")
					}
				}
			}
		}
	}
	edd, _ := root.Glob("/sys/firmware/edd/int13_dev*/mbr_signature")
	for _, p := range edd {
		sig, err := root.ReadString(p)
		if err != nil {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(path.Base(path.Dir(p)), "int13_dev"), 16, 8)
		if err != nil || n < 0x80 {
			continue
		}
		for i := range f.Disks {
			d := &f.Disks[i]
			if d.BIOSDrive != "" {
				continue
			}
			s0, err := readAt(root, "/dev/"+d.Name, 0, 512)
			if err != nil {
				continue
			}
			if fmt.Sprintf("0x%08x", uint32(s0[440])|uint32(s0[441])<<8|uint32(s0[442])<<16|uint32(s0[443])<<24) == sig {
				d.BIOSDrive, d.BIOSDriveFrom = fmt.Sprintf("hd%d", n-0x80), "/sys/firmware/edd"
			}
		}
	}
}

// detectEFILoader finds, on the ESP mounted now (any disk's: the ESPs of a mirror carry the
// same tree; or the md array the ESPs are members of, mounted by its /dev/mdN or /dev/md/NAME
// name), the loader the firmware boot entries name (FindLoader). An ESP that is not
// mounted cannot be read without a mount, which discovery never does: the fact stays empty,
// and the UEFI steps refuse with that reason rather than guess a path.
func detectEFILoader(root *host.Root, f *Facts, mounts []FstabEntry, names host.EFIFiles) {
	esps := map[string]bool{}
	for _, d := range f.Disks {
		if d.ESP != nil {
			esps[d.ESP.Name] = true
			if d.ESP.MDArray != "" {
				esps[d.ESP.MDArray] = true
			}
		}
	}
	if len(esps) == 0 {
		return
	}
	for _, m := range mounts {
		dev := strings.TrimPrefix(m.Spec, "/dev/")
		if strings.HasPrefix(dev, "md/") {
			// /dev/md/esp is a udev link to ../md127.
			if t, err := os.Readlink(root.Path(m.Spec)); err == nil {
				dev = path.Base(t)
			}
		}
		if !esps[dev] {
			continue
		}
		p, err := FindLoader(root.Path(m.Mountpoint), f.Loader, f.Shim, names)
		if err != nil {
			f.Notes = append(f.Notes, fmt.Sprintf("the ESP %s mounted at %s: %v", m.Spec, m.Mountpoint, err))
			return
		}
		f.EFILoader = p
		return
	}
	if f.Firmware == FirmwareUEFI {
		f.Notes = append(f.Notes, "no ESP is mounted (/boot/efi in fstab): the loader the boot entries name cannot be read; mount it and plan again")
	}
}

// detectShim reports Secure Boot's shim (by the distribution's name for it) on a mounted ESP.
func detectShim(root *host.Root, names host.EFIFiles) bool {
	for _, esp := range []string{"/boot/efi", "/efi"} {
		if m, _ := root.Glob(esp + "/EFI/*/" + names.Shim); len(m) > 0 {
			return true
		}
	}
	return false
}

// DebconfGrubEFIQuestion is Ubuntu's list of the ESPs GRUB is installed on.
const DebconfGrubEFIQuestion = "grub-efi/install_devices"

// DebconfOwner is the first package owning a debconf question (its "Owners:" field), "" when
// the question is not there.
func DebconfOwner(b []byte, name string) string {
	for _, stanza := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n\n") {
		fields := map[string]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
				fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		if fields["Name"] == name {
			owner, _, _ := strings.Cut(fields["Owners"], ",")
			return strings.TrimSpace(owner)
		}
	}
	return ""
}

// DebconfValue reads one question's value from debconf's config.dat (RFC 822-style stanzas:
// "Name:", "Value:", ...). A multiselect value is split at ", ". found says the question
// exists.
func DebconfValue(b []byte, name string) (values []string, found bool) {
	for _, stanza := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n\n") {
		fields := map[string]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
				fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		if fields["Name"] != name {
			continue
		}
		for _, v := range strings.Split(fields["Value"], ",") {
			if v = strings.TrimSpace(v); v != "" {
				values = append(values, v)
			}
		}
		return values, true
	}
	return nil, false
}
