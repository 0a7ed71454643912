package event

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const debianConf = `# mdadm.conf
#
# !NB! Run update-initramfs -u after updating this file.
HOMEHOST <system>

# instruct the monitoring daemon where to send mail alerts
MAILADDR root

ARRAY /dev/md/0  metadata=1.2 UUID=b20317bc:968c61ec:6b136a77:2ab4ad77 name=vmtest:0`

func confRoot(t *testing.T, conf string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "etc", "mdadm", "mdadm.conf")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(conf), 0o640); err != nil {
		t.Fatal(err)
	}
	binaries(t, dir)
	return dir
}

// binaries puts the raidswap binaries the tests link to into root dir.
func binaries(t *testing.T, dir string) {
	t.Helper()
	for _, b := range []string{"/usr/bin/raidswap", "/opt/raidswap"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(b)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, b), []byte("\x7fELF"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInstallIdempotent(t *testing.T) {
	dir := confRoot(t, debianConf)
	now := time.Date(2026, 12, 1, 15, 4, 5, 0, time.UTC)
	res, err := Install(InstallOptions{Root: dir, Target: "/usr/bin/raidswap", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Conf != "/etc/mdadm/mdadm.conf" || res.Backup != "/etc/mdadm/mdadm.conf.raidswap-bak.20261201T150405Z" || res.Link != "created" {
		t.Errorf("result %+v", res)
	}
	b, _ := os.ReadFile(filepath.Join(dir, res.Conf))
	if !strings.HasPrefix(string(b), debianConf+"\n") || !strings.HasSuffix(string(b), "\nPROGRAM /usr/local/sbin/raidswap-event\n") {
		t.Errorf("mdadm.conf now:\n%s", b)
	}
	if p := readConfProgram(b).Program; p != DefaultProgram {
		t.Errorf("programLine reads %q back", p)
	}
	bak, _ := os.ReadFile(filepath.Join(dir, res.Backup))
	if string(bak) != debianConf {
		t.Errorf("backup differs from the original:\n%s", bak)
	}
	for _, p := range []string{res.Conf, res.Backup} {
		if fi, _ := os.Stat(filepath.Join(dir, p)); fi.Mode().Perm() != 0o640 {
			t.Errorf("%s mode %v, want the original's 0640", p, fi.Mode().Perm())
		}
	}
	if l, err := os.Readlink(filepath.Join(dir, DefaultProgram)); err != nil || l != "/usr/bin/raidswap" {
		t.Errorf("link: %q %v", l, err)
	}
	// Again, later, with raidswap moved: mdadm.conf untouched, no second backup, link updated.
	res, err = Install(InstallOptions{Root: dir, Target: "/opt/raidswap", Now: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed || res.Backup != "" || res.Link != "updated (was /usr/bin/raidswap)" {
		t.Errorf("second run %+v", res)
	}
	b2, _ := os.ReadFile(filepath.Join(dir, res.Conf))
	if string(b2) != string(b) {
		t.Errorf("second run changed mdadm.conf")
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "etc", "mdadm"))
	if len(ents) != 2 {
		t.Errorf("/etc/mdadm holds %d entries, want mdadm.conf and one backup", len(ents))
	}
	res, err = Install(InstallOptions{Root: dir, Target: "/opt/raidswap", Now: now.Add(2 * time.Hour)})
	if err != nil || res.Link != "kept" {
		t.Errorf("third run %+v %v", res, err)
	}
}

func TestInstallRefusesAnotherProgram(t *testing.T) {
	for _, conf := range []string{
		debianConf + "\nPROGRAM /usr/sbin/handle-md-event\n",
		debianConf + "\nprog /usr/sbin/handle-md-event # shortened, as mdadm allows\n",
		debianConf + "\nPROGRAM\n  /usr/sbin/handle-md-event\n",
	} {
		dir := confRoot(t, conf)
		_, err := Install(InstallOptions{Root: dir, Target: "/usr/bin/raidswap", Now: time.Now()})
		var ce *ConflictError
		if !errors.As(err, &ce) || ce.Program != "/usr/sbin/handle-md-event" || !strings.Contains(err.Error(), "chain them") {
			t.Errorf("conf %q: error %v", conf, err)
			continue
		}
		b, _ := os.ReadFile(filepath.Join(dir, "etc", "mdadm", "mdadm.conf"))
		ents, _ := os.ReadDir(filepath.Join(dir, "etc", "mdadm"))
		if string(b) != conf || len(ents) != 1 || exists(filepath.Join(dir, DefaultProgram)) {
			t.Errorf("a refused install wrote something")
		}
	}
}

func TestInstallRefuses(t *testing.T) {
	// No mdadm.conf: mdadm's own tools write it, with the arrays.
	dir := t.TempDir()
	if _, err := Install(InstallOptions{Root: dir, Target: "/usr/bin/raidswap", Now: time.Now()}); err == nil || !strings.Contains(err.Error(), "mkconf") {
		t.Errorf("no mdadm.conf: %v", err)
	}
	// A file of someone else's where the link goes.
	dir = confRoot(t, debianConf)
	p := filepath.Join(dir, DefaultProgram)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(InstallOptions{Root: dir, Target: "/usr/bin/raidswap", Now: time.Now()}); err == nil || !strings.Contains(err.Error(), "not a link to raidswap") {
		t.Errorf("file at the link: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "etc", "mdadm", "mdadm.conf")); string(b) != debianConf {
		t.Errorf("mdadm.conf changed")
	}
	// A PROGRAM raidswap would not be called through.
	if _, err := Install(InstallOptions{Root: dir, Program: "/usr/local/sbin/raidswap", Target: "/usr/bin/raidswap", Now: time.Now()}); err == nil {
		t.Errorf("a program not named raidswap-event was accepted")
	}
}

func TestInstallUpstreamConfAndComments(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "etc", "mdadm.conf")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	binaries(t, dir)
	conf := "# PROGRAM /usr/sbin/old-handler\nDEVICE partitions\nARRAY /dev/md0 UUID=1:2:3:4 # PROGRAM x\n"
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Install(InstallOptions{Root: dir, Target: "/usr/bin/raidswap", Now: time.Now()})
	if err != nil || res.Conf != "/etc/mdadm.conf" || !res.Changed {
		t.Fatalf("%+v %v", res, err)
	}
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

func TestProgramFor(t *testing.T) {
	for target, want := range map[string]string{
		"/usr/sbin/raidswap":           PackagedProgram,
		"/usr/local/sbin/raidswap":     DefaultProgram,
		"/usr/bin/raidswap":            DefaultProgram,
		"/tmp/raidswap-bin-1/raidswap": DefaultProgram,
	} {
		if got := ProgramFor(target); got != want {
			t.Errorf("ProgramFor(%s) = %s, want %s", target, got, want)
		}
	}
}

// The Debian package ships /usr/sbin/raidswap-event as a relative link to raidswap: --install
// from the packaged binary names it in mdadm.conf and leaves the package's link as it is.
func TestInstallKeepsPackagedLink(t *testing.T) {
	dir := confRoot(t, debianConf)
	sbin := filepath.Join(dir, "usr", "sbin")
	if err := os.MkdirAll(sbin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sbin, "raidswap"), []byte("\x7fELF"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("raidswap", filepath.Join(sbin, ProgramName)); err != nil {
		t.Fatal(err)
	}
	target := "/usr/sbin/raidswap"
	res, err := Install(InstallOptions{Root: dir, Program: ProgramFor(target), Target: target, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Link != "kept" {
		t.Errorf("result %+v, want the package's link kept", res)
	}
	if l, err := os.Readlink(filepath.Join(sbin, ProgramName)); err != nil || l != "raidswap" {
		t.Errorf("the package's link now reads %q (%v)", l, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, res.Conf))
	if p := readConfProgram(b).Program; p != PackagedProgram {
		t.Errorf("mdadm.conf names %q, want %s:\n%s", p, PackagedProgram, b)
	}
}
