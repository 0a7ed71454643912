package host

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Family is a distribution family: the distributions that name and place raidswap's tools,
// GRUB's directory and the UEFI loaders alike.
type Family string

// Families. FamilyUnknown takes the Debian names, each resolved by a PATH-style lookup.
const (
	FamilyDebian  Family = "debian"
	FamilyUbuntu  Family = "ubuntu"
	FamilyRHEL    Family = "rhel" // RHEL, Rocky, Alma, CentOS, Oracle Linux, Fedora
	FamilySUSE    Family = "suse" // SLES, openSUSE
	FamilyArch    Family = "arch"
	FamilyUnknown Family = "unknown"
)

// OSRelease is what raidswap reads of /etc/os-release (os-release(5)).
type OSRelease struct {
	ID     string
	IDLike []string
	Name   string // PRETTY_NAME, else NAME
}

// maxOSRelease bounds what is read of /etc/os-release: the real files are under 1 KiB.
const maxOSRelease = 64 << 10

// ParseOSRelease parses os-release(5) text: KEY=value lines, values optionally quoted with
// "…" or '…' (backslash escapes inside double quotes). The file is untrusted input: lines
// that are not assignments are skipped, an ID that is not a plain lower-case word is
// dropped, and a file too large or not text is an error.
func ParseOSRelease(b []byte) (OSRelease, error) {
	var o OSRelease
	if len(b) > maxOSRelease {
		return o, fmt.Errorf("os-release is %d bytes, more than %d", len(b), maxOSRelease)
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return o, fmt.Errorf("os-release holds a NUL byte: not a text file")
	}
	vals := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxOSRelease+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.ContainsFunc(k, func(r rune) bool { return !(r == '_' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') }) {
			continue
		}
		vals[k] = unquoteOSRelease(v)
	}
	if err := sc.Err(); err != nil {
		return o, fmt.Errorf("reading os-release: %w", err)
	}
	o.ID = osReleaseWord(vals["ID"])
	for _, w := range strings.Fields(vals["ID_LIKE"]) {
		if w = osReleaseWord(w); w != "" {
			o.IDLike = append(o.IDLike, w)
		}
	}
	o.Name = vals["PRETTY_NAME"]
	if o.Name == "" {
		o.Name = vals["NAME"]
	}
	o.Name = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, o.Name)
	if len(o.Name) > 80 {
		o.Name = o.Name[:80]
	}
	return o, nil
}

func unquoteOSRelease(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if u, err := strconv.Unquote(v); err == nil {
			return u
		}
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	return v
}

// osReleaseWord is an ID as os-release(5) allows it (lower-case letters, digits, "._-"),
// or "".
func osReleaseWord(w string) string {
	if w == "" || len(w) > 64 || strings.ContainsFunc(w, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) {
		return ""
	}
	return w
}

// FamilyOf is the family of a distribution: its ID first, then each ID_LIKE in order.
func FamilyOf(o OSRelease) Family {
	for _, id := range append([]string{o.ID}, o.IDLike...) {
		switch {
		case id == "debian":
			return FamilyDebian
		case id == "ubuntu":
			return FamilyUbuntu
		case id == "rhel" || id == "fedora" || id == "centos" || id == "rocky" || id == "almalinux" || id == "ol":
			return FamilyRHEL
		case id == "suse" || id == "sles" || id == "sled" || strings.HasPrefix(id, "opensuse"):
			return FamilySUSE
		case id == "arch":
			return FamilyArch
		}
	}
	return FamilyUnknown
}

// tool is one row of the profile table: a tool raidswap runs, named by its Debian path (the
// constants in tools.go), with its name and package on each family (missing: the Debian
// name, and pkg[""] for the package).
type tool struct {
	names map[Family]string
	pkg   map[Family]string
}

// tools is the one table of what each family calls raidswap's tools and which package ships
// them. A tool absent here keeps its Debian name everywhere.
var tools = map[string]tool{
	Mdadm:                {pkg: map[Family]string{"": "mdadm"}},
	Sgdisk:               {pkg: map[Family]string{"": "gdisk", FamilySUSE: "gptfdisk", FamilyArch: "gptfdisk"}},
	Sfdisk:               {pkg: map[Family]string{"": "util-linux", FamilyDebian: "fdisk", FamilyUbuntu: "fdisk"}},
	Partx:                {pkg: map[Family]string{"": "util-linux"}},
	Wipefs:               {pkg: map[Family]string{"": "util-linux"}},
	Blkid:                {pkg: map[Family]string{"": "util-linux"}},
	Mkswap:               {pkg: map[Family]string{"": "util-linux"}},
	Swapon:               {pkg: map[Family]string{"": "util-linux", FamilyDebian: "mount", FamilyUbuntu: "mount"}},
	Swapoff:              {pkg: map[Family]string{"": "util-linux", FamilyDebian: "mount", FamilyUbuntu: "mount"}},
	Losetup:              {pkg: map[Family]string{"": "util-linux", FamilyDebian: "mount", FamilyUbuntu: "mount"}},
	Mount:                {pkg: map[Family]string{"": "util-linux", FamilyDebian: "mount", FamilyUbuntu: "mount"}},
	Umount:               {pkg: map[Family]string{"": "util-linux", FamilyDebian: "mount", FamilyUbuntu: "mount"}},
	Lsblk:                {pkg: map[Family]string{"": "util-linux"}},
	Flock:                {pkg: map[Family]string{"": "util-linux"}},
	Dd:                   {pkg: map[Family]string{"": "coreutils"}},
	Udevadm:              {pkg: map[Family]string{"": "udev", FamilyRHEL: "systemd-udev", FamilyArch: "systemd"}},
	Dmsetup:              {pkg: map[Family]string{"": "device-mapper", FamilyDebian: "dmsetup", FamilyUbuntu: "dmsetup"}},
	Modprobe:             {pkg: map[Family]string{"": "kmod"}},
	MkfsExt4:             {pkg: map[Family]string{"": "e2fsprogs"}},
	MkfsVfat:             {pkg: map[Family]string{"": "dosfstools"}},
	Ledctl:               {pkg: map[Family]string{"": "ledmon"}},
	Efibootmgr:           {pkg: map[Family]string{"": "efibootmgr"}},
	GrubInstall:          {names: map[Family]string{FamilyRHEL: "grub2-install", FamilySUSE: "grub2-install"}, pkg: map[Family]string{"": "grub2-common", FamilyRHEL: "grub2-tools", FamilySUSE: "grub2", FamilyArch: "grub"}},
	DebconfSetSelections: {pkg: map[Family]string{"": "debconf"}},
}

// searchDirs are where a tool is looked for, in PATH's usual order for root.
var searchDirs = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// Profile is what the running distribution calls and places: each tool's program, GRUB's
// directory, the UEFI loader names and whether debconf keeps GRUB's install devices. It is
// one value, resolved once (DetectProfile) and passed down; the zero Profile is Debian's
// names at Debian's paths.
type Profile struct {
	Family Family    `json:"family"`
	OS     OSRelease `json:"os"`
	// Programs maps each tool (its Debian path, tools.go) to the program found for it in the
	// system root; a tool not found keeps the path it would have (Program).
	Programs map[string]string `json:"programs,omitempty"`
	// Problem says why /etc/os-release could not be used ("" when it could).
	Problem string `json:"problem,omitempty"`
	// Live says the lookup was made in the running system's root: only then does a tool
	// not found mean a program missing (a capture holds no programs).
	Live bool `json:"live,omitempty"`
}

// Name is the file name tool has on this family (grub2-install on RHEL).
func (p Profile) Name(tool string) string {
	if n := tools[tool].names[p.Family]; n != "" {
		return n
	}
	return path.Base(tool)
}

// Program is the absolute path raidswap runs for tool (a Debian path from tools.go): the one
// found in the system root, else the Debian directory with this family's name. A path that
// names no tool of the table is returned as it is.
func (p Profile) Program(tool string) string {
	if prog := p.Programs[tool]; prog != "" {
		return prog
	}
	if _, ok := tools[tool]; !ok {
		return tool
	}
	return path.Join(path.Dir(tool), p.Name(tool))
}

// Argv is argv with its program replaced by this profile's (Program); the rest is kept.
func (p Profile) Argv(argv []string) []string {
	if len(argv) == 0 {
		return argv
	}
	out := append([]string{p.Program(argv[0])}, argv[1:]...)
	return out
}

// Found says program is one the lookup found on the system (DetectProfile).
func (p Profile) Found(program string) bool {
	for _, prog := range p.Programs {
		if prog == program {
			return true
		}
	}
	return false
}

// Package is the package that ships the program (given by its path on this system or by its
// Debian path) on this family, or "" for a program the table does not know.
func (p Profile) Package(program string) string {
	for t, row := range tools {
		if program != t && program != p.Program(t) {
			continue
		}
		if pkg := row.pkg[p.Family]; pkg != "" {
			return pkg
		}
		return row.pkg[""]
	}
	return ""
}

// GrubDir is the directory under /boot that holds GRUB 2's modules and grub.cfg.
func (p Profile) GrubDir() string {
	if p.Family == FamilyRHEL || p.Family == FamilySUSE {
		return "grub2"
	}
	return "grub"
}

// EFIFiles are the file names a distribution gives its boot files in its directory on the
// ESP (EFI/<distro>/): Secure Boot's shim, the GRUB image shim loads (by this name, so a
// copy beside shim must keep it), and shim's MOK manager.
type EFIFiles struct {
	Shim, Grub, MokManager string
}

// EFIFiles are this distribution's names (SUSE: shim.efi, grub.efi, MokManager.efi; the
// others: shimx64.efi, grubx64.efi, mmx64.efi).
func (p Profile) EFIFiles() EFIFiles {
	if p.Family == FamilySUSE {
		return EFIFiles{Shim: "shim.efi", Grub: "grub.efi", MokManager: "MokManager.efi"}
	}
	return EFIFiles{Shim: "shimx64.efi", Grub: "grubx64.efi", MokManager: "mmx64.efi"}
}

// DebconfLists are the debconf questions listing the disks GRUB is installed on, which a
// replacement must point at the new disk (only the Debian family has them; Ubuntu adds
// grub-efi's, which grub-multi-install reads). nil: the family keeps no such list.
func (p Profile) DebconfLists() []string {
	switch p.Family {
	case FamilyDebian, FamilyUnknown, "":
		return []string{"grub-pc/install_devices"}
	case FamilyUbuntu:
		return []string{"grub-pc/install_devices", "grub-efi/install_devices"}
	}
	return nil
}

// DetectProfile reads /etc/os-release through root and finds every tool of the table there:
// its Debian path first when this family uses the Debian name, then the usual sbin and bin
// directories in PATH order. It never fails: an unreadable os-release is the unknown family
// with the reason in Problem.
func DetectProfile(root *Root) Profile {
	p := Profile{Family: FamilyUnknown, Programs: map[string]string{}, Live: root.IsLive()}
	b, err := root.ReadFile("/etc/os-release")
	if err != nil {
		b, err = root.ReadFile("/usr/lib/os-release")
	}
	if err != nil {
		p.Problem = "reading /etc/os-release: " + err.Error()
	} else if o, perr := ParseOSRelease(b); perr != nil {
		p.Problem = "/etc/os-release: " + perr.Error()
	} else {
		p.OS, p.Family = o, FamilyOf(o)
	}
	names := make([]string, 0, len(tools))
	for t := range tools {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		if prog := Lookup(root, p.Name(t), t); prog != "" {
			p.Programs[t] = prog
		}
	}
	return p
}

// Lookup finds the program name in root: first at preferred when that path ends in name,
// then in the usual sbin and bin directories; the path must be an executable file (links
// followed inside the root). "" when none is.
func Lookup(root *Root, name, preferred string) string {
	if name == "" || strings.Contains(name, "/") {
		return ""
	}
	var cands []string
	if preferred != "" && path.Base(preferred) == name {
		cands = append(cands, preferred)
	}
	for _, d := range searchDirs {
		cands = append(cands, path.Join(d, name))
	}
	for _, c := range cands {
		if root.Executable(c) {
			return c
		}
	}
	return ""
}

// Executable reports whether p is a regular file with an execute bit, following symbolic
// links inside the Root (an absolute link target is the Root's, not the host's). It is not
// told to the Recorder: a capture holds what discovery read, not the programs it looked for.
func (r *Root) Executable(p string) bool {
	for i := 0; i < 16; i++ {
		fi, err := os.Lstat(r.Path(p))
		if err != nil {
			return false
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
		}
		t, err := os.Readlink(r.Path(p))
		if err != nil {
			return false
		}
		if !path.IsAbs(t) {
			t = path.Join(path.Dir(path.Clean("/"+p)), t)
		}
		p = path.Clean(t)
	}
	return false
}

// ProfileRunner runs every command with its program mapped by the profile (Profile.Argv):
// a command built from the Debian path of a tool runs the distribution's program.
type ProfileRunner struct {
	Runner  Runner
	Profile Profile
}

// Run runs argv with its program as the profile names it.
func (p ProfileRunner) Run(ctx context.Context, argv ...string) (Result, error) {
	return p.Runner.Run(ctx, p.Profile.Argv(argv)...)
}
