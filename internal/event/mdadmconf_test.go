package event

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readConfProgram reads mdadm.conf as mdadm's config.c does (issue 18).
func TestReadConfProgram(t *testing.T) {
	long := "# " + strings.Repeat("x", 1<<20+10) + "\n"
	tests := []struct {
		name, conf, want string
		line             int
	}{
		{"none", "DEVICE partitions\nMAILADDR root\n", "", 0},
		{"plain", "MAILADDR root\nPROGRAM /usr/sbin/x\n", "/usr/sbin/x", 2},
		{"after a comment line over 1 MiB", long + "PROGRAM /usr/sbin/other\n", "/usr/sbin/other", 2},
		{"after an ARRAY line over 1 MiB", "ARRAY /dev/md0 name=" + strings.Repeat("n", 1<<20+10) + "\nPROGRAM /usr/sbin/other\n", "/usr/sbin/other", 2},
		{"first line wins", "PROGRAM /usr/sbin/a\nPROGRAM /usr/sbin/b\n", "/usr/sbin/a", 1},
		{"first word wins", "PROGRAM /usr/sbin/a /usr/sbin/b\n", "/usr/sbin/a", 1},
		{"an empty PROGRAM line is passed over", "PROGRAM\nPROGRAM /usr/sbin/b\n", "/usr/sbin/b", 2},
		{"continued across empty and comment lines", "PROGRAM\n\n# a note\n\t/usr/sbin/x\n", "/usr/sbin/x", 1},
		{"indented line continues ARRAY, not a keyword", "ARRAY /dev/md0 UUID=1:2:3:4\n  PROGRAM /usr/sbin/x\n", "", 0},
		{"indented first line is a keyword line", "  PROGRAM /usr/sbin/x\n", "/usr/sbin/x", 1},
		{"shortened and any case", "prog /usr/sbin/x\n", "/usr/sbin/x", 1},
		{"three letters", "PRO /usr/sbin/x\n", "/usr/sbin/x", 1},
		{"two letters are no keyword", "PR /usr/sbin/x\n", "", 0},
		{"longer is no keyword", "PROGRAMS /usr/sbin/x\n", "", 0},
		{"comment after white space", "PROGRAM # /usr/sbin/x\n", "", 0},
		{"# inside a word", "PROGRAM /usr/sbin/x#y\n", "/usr/sbin/x#y", 1},
		{"commented-out line", "#PROGRAM /usr/sbin/x\n", "", 0},
		{"double quotes", "PROGRAM \"/usr/local/my dir/x\"\n", "/usr/local/my dir/x", 1},
		{"single quotes mid-word", "PROGRAM /usr/'sbin'/x\n", "/usr/sbin/x", 1},
		{"quote ends at the line", "PROGRAM \"/usr/sbin/x\n  /y\n", "/usr/sbin/x", 1},
		{"NUL ends a word", "PROGRAM /usr/sbin/x\x00y\n", "/usr/sbin/x", 1},
		{"CR is part of the word", "PROGRAM /usr/sbin/x\r\n", "/usr/sbin/x\r", 1},
		{"no final newline", "PROGRAM /usr/sbin/x", "/usr/sbin/x", 1},
		{"tabs", "PROGRAM\t\t/usr/sbin/x\n", "/usr/sbin/x", 1},
	}
	for _, tt := range tests {
		got := readConfProgram([]byte(tt.conf))
		if got.Program != tt.want || got.Found != (tt.want != "") || got.LineNo != tt.line {
			t.Errorf("%s: got %+v, want %q on line %d", tt.name, got, tt.want, tt.line)
		}
	}
}

// A PROGRAM line mdadm reads after a comment line over 1 MiB is another PROGRAM: --install
// refuses, and never says it added its own (issue 18).
func TestInstallReadsAsMdadm(t *testing.T) {
	for name, conf := range map[string]string{
		"long comment":      "# " + strings.Repeat("x", 1<<20+10) + "\nPROGRAM /usr/sbin/other\n",
		"continued program": "MAILADDR root\nPROGRAM\n\n# where it goes:\n  /usr/sbin/other\n",
	} {
		dir := confRoot(t, conf)
		_, err := Install(InstallOptions{Root: dir, Target: "/usr/bin/raidswap", Now: time.Now()})
		var ce *ConflictError
		if !errors.As(err, &ce) || ce.Program != "/usr/sbin/other" {
			t.Errorf("%s: error %v, want a conflict with /usr/sbin/other", name, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "etc", "mdadm", "mdadm.conf")); string(b) != conf {
			t.Errorf("%s: mdadm.conf changed", name)
		}
	}
	// mdadm reads mdadm.conf.d/*.conf after mdadm.conf: a PROGRAM there is in effect too.
	dir := confRoot(t, debianConf)
	d := filepath.Join(dir, "etc", "mdadm", "mdadm.conf.d")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, c := range map[string]string{"10-mail.conf": "MAILADDR ops\n", "20-hook.conf": "PROGRAM /usr/sbin/other\n", ".30-hidden.conf": "PROGRAM /x\n"} {
		if err := os.WriteFile(filepath.Join(d, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Install(InstallOptions{Root: dir, Target: "/usr/bin/raidswap", Now: time.Now()})
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Program != "/usr/sbin/other" || ce.Conf != "/etc/mdadm/mdadm.conf.d/20-hook.conf" {
		t.Errorf("mdadm.conf.d: error %v", err)
	}
	// Quoted, it is still raidswap's own: nothing to add.
	dir = confRoot(t, debianConf+"\nPROGRAM \""+DefaultProgram+"\"\n")
	res, err := Install(InstallOptions{Root: dir, Target: "/usr/bin/raidswap", Now: time.Now()})
	if err != nil || res.Changed {
		t.Errorf("quoted own PROGRAM: %+v %v", res, err)
	}
}

// A PROGRAM path mdadm would read otherwise (white space, a newline, quotes, '#'), or one
// not clean, is refused with nothing written; so is a raidswap binary that is missing or not
// executable (issue 18).
func TestInstallRefusesProgramPaths(t *testing.T) {
	for _, prog := range []string{
		"/usr/local/my dir/raidswap-event",
		"/usr/local/sbin/x\n/raidswap-event",
		"/usr/local/sbin/x\tPROGRAM/raidswap-event",
		"/usr/local/\"q\"/raidswap-event",
		"/usr/local/#/raidswap-event",
		"/usr/local/sbin/../sbin/raidswap-event",
		"//usr/local/sbin/raidswap-event",
		"usr/local/sbin/raidswap-event",
	} {
		dir := confRoot(t, debianConf)
		_, err := Install(InstallOptions{Root: dir, Program: prog, Target: "/usr/bin/raidswap", Now: time.Now()})
		if err == nil || !strings.Contains(err.Error(), "clean absolute path") {
			t.Errorf("%q: error %v", prog, err)
		}
		assertUntouched(t, dir)
	}
	dir := confRoot(t, debianConf)
	if err := os.Chmod(filepath.Join(dir, "usr", "bin", "raidswap"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Install(InstallOptions{Root: dir, Target: "/usr/bin/raidswap", Now: time.Now()})
	if err == nil || !strings.Contains(err.Error(), "is not executable") {
		t.Errorf("non-executable binary: %v", err)
	}
	assertUntouched(t, dir)
	_, err = Install(InstallOptions{Root: dir, Target: "/usr/bin/nosuch", Now: time.Now()})
	if err == nil || !strings.Contains(err.Error(), "/usr/bin/nosuch does not exist") {
		t.Errorf("missing binary: %v", err)
	}
	assertUntouched(t, dir)
}

func assertUntouched(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(dir, "etc", "mdadm"))
	b, _ := os.ReadFile(filepath.Join(dir, "etc", "mdadm", "mdadm.conf"))
	if len(ents) != 1 || string(b) != debianConf {
		t.Errorf("a refused install changed /etc/mdadm (%d entries)", len(ents))
	}
	if _, err := os.Stat(filepath.Join(dir, "usr", "local")); err == nil {
		t.Errorf("a refused install made a link")
	}
}

// An mdadm.conf that is a symbolic link is written through: its target is replaced in its
// own directory, the link stays (issue 18).
func TestInstallThroughSymlinkedConf(t *testing.T) {
	for _, target := range []string{"../../srv/conf/mdadm.conf", "/srv/conf/mdadm.conf"} {
		dir := confRoot(t, "")
		conf := filepath.Join(dir, "etc", "mdadm", "mdadm.conf")
		real := filepath.Join(dir, "srv", "conf", "mdadm.conf")
		if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(real, []byte(debianConf), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(conf); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, conf); err != nil {
			t.Fatal(err)
		}
		res, err := Install(InstallOptions{Root: dir, Target: "/usr/bin/raidswap", Now: time.Date(2026, 12, 1, 15, 4, 5, 0, time.UTC)})
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		if l, err := os.Readlink(conf); err != nil || l != target {
			t.Errorf("%s: the link now reads %q (%v)", target, l, err)
		}
		b, _ := os.ReadFile(real)
		if !strings.HasSuffix(string(b), "\nPROGRAM "+DefaultProgram+"\n") || !strings.HasPrefix(string(b), debianConf) {
			t.Errorf("%s: the link's target now:\n%s", target, b)
		}
		if res.Conf != "/etc/mdadm/mdadm.conf" || res.Written != "/srv/conf/mdadm.conf" || res.Backup != "/srv/conf/mdadm.conf.raidswap-bak.20261201T150405Z" {
			t.Errorf("%s: result %+v", target, res)
		}
		if bak, _ := os.ReadFile(filepath.Join(dir, res.Backup)); string(bak) != debianConf {
			t.Errorf("%s: backup %q", target, bak)
		}
		if fi, _ := os.Stat(real); fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v", target, fi.Mode().Perm())
		}
		// Run again: the link is read through, and nothing changes.
		res, err = Install(InstallOptions{Root: dir, Target: "/usr/bin/raidswap", Now: time.Now()})
		if err != nil || res.Changed {
			t.Errorf("%s: second run %+v %v", target, res, err)
		}
	}
	// A link to a directory is refused.
	dir := confRoot(t, "")
	conf := filepath.Join(dir, "etc", "mdadm", "mdadm.conf")
	if err := os.Remove(conf); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "srv", "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/srv/d", conf); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(InstallOptions{Root: dir, Target: "/usr/bin/raidswap", Now: time.Now()}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("link to a directory: %v", err)
	}
}
