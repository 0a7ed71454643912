package host

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseOSRelease(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     OSRelease
		family   Family
		err      string
	}{
		{"debian 12", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
			OSRelease{ID: "debian", Name: "Debian GNU/Linux 12 (bookworm)"}, FamilyDebian, ""},
		{"ubuntu 24.04", "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\n",
			OSRelease{ID: "ubuntu", IDLike: []string{"debian"}, Name: "Ubuntu 24.04.1 LTS"}, FamilyUbuntu, ""},
		{"rhel 9", "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\n",
			OSRelease{ID: "rhel", IDLike: []string{"fedora"}, Name: "Red Hat Enterprise Linux"}, FamilyRHEL, ""},
		{"rocky 9", "NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n",
			OSRelease{ID: "rocky", IDLike: []string{"rhel", "centos", "fedora"}, Name: "Rocky Linux"}, FamilyRHEL, ""},
		{"alma, single quotes", "ID='almalinux'\nID_LIKE='rhel centos fedora'\n",
			OSRelease{ID: "almalinux", IDLike: []string{"rhel", "centos", "fedora"}}, FamilyRHEL, ""},
		{"sles 15", "NAME=\"SLES\"\nID=\"sles\"\nID_LIKE=\"suse\"\n", OSRelease{ID: "sles", IDLike: []string{"suse"}, Name: "SLES"}, FamilySUSE, ""},
		{"opensuse leap", "ID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\n", OSRelease{ID: "opensuse-leap", IDLike: []string{"suse", "opensuse"}}, FamilySUSE, ""},
		{"arch", "NAME=\"Arch Linux\"\nID=arch\n", OSRelease{ID: "arch", Name: "Arch Linux"}, FamilyArch, ""},
		{"derivative by ID_LIKE only", "ID=mint\nID_LIKE=\"ubuntu debian\"\n", OSRelease{ID: "mint", IDLike: []string{"ubuntu", "debian"}}, FamilyUbuntu, ""},
		{"comments, blanks, CRLF, garbage lines", "# c\r\n\r\nnot an assignment\r\n=x\r\nid=rhel\r\nID=debian\r\n",
			OSRelease{ID: "debian"}, FamilyDebian, ""},
		{"ID that is not a word is dropped", "ID=\"../../etc\"\nID_LIKE=\"Fedora rhel ../x $(rm)\"\n", OSRelease{IDLike: []string{"rhel"}}, FamilyRHEL, ""},
		{"control characters stripped from the name", "PRETTY_NAME=\"evil\x1b[2Jname\"\nID=x\n", OSRelease{ID: "x", Name: "evil[2Jname"}, FamilyUnknown, ""},
		{"empty", "", OSRelease{}, FamilyUnknown, ""},
		{"binary", "ID=debian\x00\x01", OSRelease{}, FamilyUnknown, "NUL byte"},
		{"too large", "ID=debian\n" + strings.Repeat("#", maxOSRelease), OSRelease{}, FamilyUnknown, "more than"},
		{"one huge line", "ID=" + strings.Repeat("a", 70000), OSRelease{}, FamilyUnknown, "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseOSRelease([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if f := FamilyOf(got); f != tc.family {
				t.Errorf("family %s, want %s", f, tc.family)
			}
		})
	}
}

// FuzzParseOSRelease: whatever the file holds, parsing never panics and yields only plain IDs.
func FuzzParseOSRelease(f *testing.F) {
	f.Add([]byte("ID=rhel\nID_LIKE=\"fedora\"\n"))
	f.Add([]byte("ID=\"unterminated\nNAME='x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseOSRelease(b)
		if err != nil {
			return
		}
		for _, id := range append([]string{o.ID}, o.IDLike...) {
			if id != osReleaseWord(id) {
				t.Fatalf("ID %q is not a plain word", id)
			}
		}
	})
}

// tree builds a system root: files given by path (mode 0755 when the content starts with
// "#!"), links as "->target".
func tree(t *testing.T, files map[string]string) *Root {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasPrefix(c, "->"):
			err = os.Symlink(strings.TrimPrefix(c, "->"), full)
		case strings.HasPrefix(c, "#!"):
			err = os.WriteFile(full, []byte(c), 0o755)
		default:
			err = os.WriteFile(full, []byte(c), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return NewRoot(dir)
}

func TestDetectProfile(t *testing.T) {
	const x = "#!/bin/sh\n"
	for _, tc := range []struct {
		name    string
		files   map[string]string
		family  Family
		want    map[string]string // tool -> Program
		problem string
	}{
		{"debian: the Debian paths, merged /usr", map[string]string{
			"etc/os-release": "ID=debian\n", "usr/sbin/grub-install": x, "usr/sbin/mdadm": x, "usr/bin/efibootmgr": x,
			"sbin": "->usr/sbin", "bin": "->usr/bin"},
			FamilyDebian, map[string]string{GrubInstall: "/usr/sbin/grub-install", Mdadm: "/sbin/mdadm", Efibootmgr: "/bin/efibootmgr"}, ""},
		{"rhel 9: grub2-install, efibootmgr only in /usr/sbin", map[string]string{
			"etc/os-release": "ID=\"rhel\"\nID_LIKE=\"fedora\"\n", "usr/sbin/grub2-install": x, "usr/sbin/grub-install": x,
			"usr/sbin/efibootmgr": x, "usr/sbin/mdadm": x},
			FamilyRHEL, map[string]string{GrubInstall: "/usr/sbin/grub2-install",
				Efibootmgr: "/usr/sbin/efibootmgr", Mdadm: "/usr/sbin/mdadm"}, ""},
		{"rhel: an absolute link is followed inside the root", map[string]string{
			"etc/os-release": "ID=rocky\n", "usr/sbin/grub2-install": "->/opt/grub/grub-install", "opt/grub/grub-install": x},
			FamilyRHEL, map[string]string{GrubInstall: "/usr/sbin/grub2-install"}, ""},
		{"not executable, a dangling link or a directory is not a program", map[string]string{
			"etc/os-release": "ID=sles\n", "usr/sbin/grub2-install": "not executable", "usr/sbin/efibootmgr": "->/nowhere",
			"usr/sbin/mdadm/x": x},
			FamilySUSE, map[string]string{GrubInstall: "/usr/sbin/grub2-install", Efibootmgr: "/bin/efibootmgr", Mdadm: "/sbin/mdadm"}, ""},
		{"no os-release: unknown family, Debian names by lookup", map[string]string{"usr/local/sbin/mdadm": x},
			FamilyUnknown, map[string]string{Mdadm: "/usr/local/sbin/mdadm", GrubInstall: "/usr/sbin/grub-install"}, "reading /etc/os-release"},
		{"garbage os-release", map[string]string{"etc/os-release": "ID=rhel\x00"},
			FamilyUnknown, map[string]string{GrubInstall: "/usr/sbin/grub-install"}, "NUL byte"},
		{"/usr/lib/os-release when /etc has none", map[string]string{"usr/lib/os-release": "ID=arch\n", "usr/bin/mdadm": x},
			FamilyArch, map[string]string{Mdadm: "/usr/bin/mdadm"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := DetectProfile(tree(t, tc.files))
			if p.Family != tc.family {
				t.Errorf("family %s, want %s", p.Family, tc.family)
			}
			if tc.problem == "" && p.Problem != "" || !strings.Contains(p.Problem, tc.problem) {
				t.Errorf("problem %q, want %q", p.Problem, tc.problem)
			}
			for tool, want := range tc.want {
				if got := p.Program(tool); got != want {
					t.Errorf("Program(%s) = %s, want %s", tool, got, want)
				}
			}
		})
	}
}

// TestDetectProfileRecordsOnlyOSRelease: a capture (snapshot's Recorder) gets os-release,
// never the programs the lookup looked at.
func TestDetectProfileRecordsOnlyOSRelease(t *testing.T) {
	r := tree(t, map[string]string{"etc/os-release": "ID=rhel\n", "usr/sbin/grub2-install": "->grub-install", "usr/sbin/grub-install": "#!/bin/sh\n"})
	var seen []string
	r.Recorder = func(p string) { seen = append(seen, p) }
	p := DetectProfile(r)
	if p.Program(GrubInstall) != "/usr/sbin/grub2-install" {
		t.Errorf("grub-install is %s", p.Program(GrubInstall))
	}
	if len(seen) != 1 || seen[0] != "/etc/os-release" {
		t.Errorf("recorded %q, want only /etc/os-release", seen)
	}
}

func TestProfileTable(t *testing.T) {
	rhel := Profile{Family: FamilyRHEL, Programs: map[string]string{GrubInstall: "/usr/sbin/grub2-install"}}
	for _, tc := range []struct {
		name    string
		p       Profile
		program string
		pkg     string
		grubDir string
		shim    string
		debconf []string
	}{
		{"debian", Profile{Family: FamilyDebian}, GrubInstall, "grub2-common", "grub", "shimx64.efi", []string{"grub-pc/install_devices"}},
		{"ubuntu", Profile{Family: FamilyUbuntu}, GrubInstall, "grub2-common", "grub", "shimx64.efi", []string{"grub-pc/install_devices", "grub-efi/install_devices"}},
		{"rhel, by the program found", rhel, "/usr/sbin/grub2-install", "grub2-tools", "grub2", "shimx64.efi", nil},
		{"rhel, by the Debian path", rhel, GrubInstall, "grub2-tools", "grub2", "shimx64.efi", nil},
		{"suse", Profile{Family: FamilySUSE}, "/usr/sbin/grub2-install", "grub2", "grub2", "shim.efi", nil},
		{"arch", Profile{Family: FamilyArch}, Sgdisk, "gptfdisk", "grub", "shimx64.efi", nil},
		{"unknown program", Profile{Family: FamilyDebian}, "/tmp/evil", "", "grub", "shimx64.efi", []string{"grub-pc/install_devices"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Package(tc.program); got != tc.pkg {
				t.Errorf("Package(%s) = %q, want %q", tc.program, got, tc.pkg)
			}
			if got := tc.p.GrubDir(); got != tc.grubDir {
				t.Errorf("GrubDir = %s, want %s", got, tc.grubDir)
			}
			if shim := tc.p.EFIFiles().Shim; shim != tc.shim {
				t.Errorf("shim %s, want %s", shim, tc.shim)
			}
			if got := tc.p.DebconfLists(); !reflect.DeepEqual(got, tc.debconf) {
				t.Errorf("DebconfLists = %v, want %v", got, tc.debconf)
			}
		})
	}
	if got := rhel.Argv([]string{GrubInstall, "--target=i386-pc", "/dev/vda"}); !reflect.DeepEqual(got, []string{"/usr/sbin/grub2-install", "--target=i386-pc", "/dev/vda"}) {
		t.Errorf("Argv = %q", got)
	}
	if got := rhel.Argv([]string{"raidswap", "partition"}); got[0] != "raidswap" {
		t.Errorf("a program outside the table changed: %q", got)
	}
	var zero Profile
	if got := zero.Program(Efibootmgr); got != Efibootmgr {
		t.Errorf("the zero profile's efibootmgr is %s, want Debian's %s", got, Efibootmgr)
	}
}
