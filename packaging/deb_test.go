package packaging

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// need returns a tool's path; outside CI a missing tool skips the test (scripts/install-deps.sh
// installs every one of them, and under CI a skip fails the run).
func need(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (scripts/install-deps.sh installs it)", tool)
		}
		t.Skipf("%s is not installed (scripts/install-deps.sh installs it)", tool)
	}
	return p
}

var debBuild struct {
	once sync.Once
	path string
	out  []byte
	err  error
}

// buildDeb runs build-deb.sh once per test process and returns the package's path.
func buildDeb(t testing.TB) string {
	t.Helper()
	need(t, "dpkg-deb")
	debBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "raidswap-deb-")
		if err != nil {
			debBuild.err = err
			return
		}
		cmd := exec.Command("bash", "build-deb.sh", "--out", dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		debBuild.out = append(out, stderr.Bytes()...)
		debBuild.err = err
		debBuild.path = strings.TrimSpace(string(out))
	})
	if debBuild.err != nil {
		t.Fatalf("build-deb.sh: %v\n%s", debBuild.err, debBuild.out)
	}
	if _, err := os.Stat(debBuild.path); err != nil {
		t.Fatalf("build-deb.sh printed %q, which is no file: %v\n%s", debBuild.path, err, debBuild.out)
	}
	return debBuild.path
}

// debField is a field of the package's control file.
func debField(t testing.TB, deb, name string) string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", "-f", deb, name).Output()
	if err != nil {
		t.Fatalf("dpkg-deb -f %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// TestToolDebLintian builds the package and runs Debian's package checker on it: no error may be
// reported (the overrides in packaging/lintian-overrides each say why).
func TestToolDebLintian(t *testing.T) {
	lintian := need(t, "lintian")
	deb := buildDeb(t)
	out, err := exec.Command(lintian, "--fail-on", "error", "--pedantic", deb).CombinedOutput()
	t.Logf("lintian --pedantic %s:\n%s", filepath.Base(deb), out)
	if err != nil {
		t.Errorf("lintian reports an error: %v", err)
	}
	if regexp.MustCompile(`(?m)^E: `).Match(out) {
		t.Errorf("lintian printed an error tag")
	}
}

// TestToolDebContents checks what the package holds and that its pieces are the working ones: the
// binary runs and says the package's upstream version, the event link points at it, the units
// name /usr/sbin/raidswap, the man pages are section 8 and gzip, the copyright file carries the
// license of every module linked into the binary.
func TestToolDebContents(t *testing.T) {
	deb := buildDeb(t)
	root := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-x", deb, root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
	}
	field := func(name string) string { return debField(t, deb, name) }
	version := field("Version")
	upstream, rev, ok := strings.Cut(version, "-")
	if !ok || rev != "1" || !regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`).MatchString(upstream) {
		t.Errorf("version %q: want UPSTREAM-1", version)
	}
	if filepath.Base(deb) != "raidswap_"+version+"_amd64.deb" {
		t.Errorf("file name %s does not carry version %s", filepath.Base(deb), version)
	}
	for name, want := range map[string]string{"Package": "raidswap", "Architecture": "amd64", "Section": "admin", "Priority": "optional"} {
		if got := field(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if !strings.HasPrefix(field("Homepage"), "https://") || !strings.Contains(field("Maintainer"), "@") {
		t.Errorf("Homepage %q / Maintainer %q", field("Homepage"), field("Maintainer"))
	}

	rs := filepath.Join(root, "usr/sbin/raidswap")
	out, err := exec.Command(rs, "--version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "raidswap version "+upstream {
		t.Errorf("raidswap --version: %q %v, want the package's upstream version %s", out, err, upstream)
	}
	if l, err := os.Readlink(filepath.Join(root, "usr/sbin/raidswap-event")); err != nil || l != "raidswap" {
		t.Errorf("usr/sbin/raidswap-event: %q %v, want a relative link to raidswap", l, err)
	}
	for _, f := range []string{
		"usr/share/bash-completion/completions/raidswap", "usr/share/zsh/vendor-completions/_raidswap",
		"usr/lib/systemd/system/raidswap-inventory.service", "usr/lib/systemd/system/raidswap-inventory.timer",
		"usr/share/doc/raidswap/copyright", "usr/share/doc/raidswap/changelog.Debian.gz",
		"usr/share/doc/raidswap/examples/mdadm.conf", "usr/share/doc/raidswap/runbook.md",
		"usr/share/lintian/overrides/raidswap", "usr/share/man/man8/raidswap.8.gz", "usr/share/man/man8/raidswap-event.8.gz",
	} {
		if fi, err := os.Lstat(filepath.Join(root, f)); err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", f, err)
		}
	}
	svc, _ := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/raidswap-inventory.service"))
	if !strings.Contains(string(svc), "\nExecStart=/usr/sbin/raidswap inventory save ") || strings.Contains(string(svc), "/usr/local") {
		t.Errorf("the packaged service does not run /usr/sbin/raidswap:\n%s", svc)
	}
	ex, _ := os.ReadFile(filepath.Join(root, "usr/share/doc/raidswap/examples/mdadm.conf"))
	if !regexp.MustCompile(`(?m)^#PROGRAM /usr/sbin/raidswap-event$`).Match(ex) {
		t.Errorf("the mdadm.conf example has no commented PROGRAM line naming the packaged link")
	}
	mans, _ := filepath.Glob(filepath.Join(root, "usr/share/man/man8/*.8.gz"))
	if len(mans) < 10 {
		t.Errorf("%d man pages", len(mans))
	}
	for _, m := range mans {
		f, err := os.Open(m)
		if err != nil {
			t.Fatal(err)
		}
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Errorf("%s: %v", m, err)
			f.Close()
			continue
		}
		b, _ := io.ReadAll(z)
		f.Close()
		if !regexp.MustCompile(`(?m)^\.TH "RAIDSWAP" "8" `).Match(b) {
			t.Errorf("%s: no section-8 .TH line", filepath.Base(m))
		}
	}
	cl, _ := os.ReadFile(filepath.Join(root, "usr/share/doc/raidswap/changelog.Debian.gz"))
	if z, err := gzip.NewReader(bytes.NewReader(cl)); err != nil {
		t.Errorf("changelog.Debian.gz: %v", err)
	} else if b, _ := io.ReadAll(z); !strings.HasPrefix(string(b), "raidswap ("+version+") ") {
		t.Errorf("changelog.Debian.gz does not start with this version:\n%s", b)
	}
	// Every module linked into the binary has its license in the copyright file.
	copyright, _ := os.ReadFile(filepath.Join(root, "usr/share/doc/raidswap/copyright"))
	out, err = exec.Command("go", "version", "-m", rs).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	var mods []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "dep" {
			mods = append(mods, f[1]+" "+f[2])
		}
	}
	if len(mods) == 0 {
		t.Fatal("go version -m lists no modules")
	}
	for _, m := range mods {
		if !strings.Contains(string(copyright), "\n"+m+"\n") {
			t.Errorf("copyright has no section for %s", m)
		}
	}
	// The package's files, as dpkg lists them, are the ones checked above and nothing unlisted
	// outside these directories.
	out, _ = exec.Command("dpkg-deb", "-c", deb).Output()
	var stray []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		p := strings.TrimPrefix(f[5], "./")
		if !strings.HasPrefix(f[1], "root/root") {
			t.Errorf("%s is owned by %s", p, f[1])
		}
		ok := false
		for _, dir := range []string{"", "usr/", "usr/sbin/", "usr/share/", "usr/lib/", "usr/lib/systemd/", "usr/lib/systemd/system/", "usr/share/man/", "usr/share/man/man8/",
			"usr/share/doc/", "usr/share/doc/raidswap/", "usr/share/doc/raidswap/examples/", "usr/share/bash-completion/", "usr/share/bash-completion/completions/",
			"usr/share/zsh/", "usr/share/zsh/vendor-completions/", "usr/share/lintian/", "usr/share/lintian/overrides/"} {
			if p == dir || filepath.Dir(p)+"/" == dir {
				ok = true
			}
		}
		if !ok {
			stray = append(stray, p)
		}
	}
	sort.Strings(stray)
	if len(stray) > 0 {
		t.Errorf("files outside the package's directories: %v", stray)
	}
}
