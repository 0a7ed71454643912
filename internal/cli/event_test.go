package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/event"
)

// files lists every file below dir with its size and modification time.
func files(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out = append(out, p+" "+fi.ModTime().String()+" "+fi.Mode().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func TestEventCommand(t *testing.T) {
	dir := unpackFixture(t, "failed")
	code, out, errOut := run(t, "--root", dir, "event", "--syslog", "-", "Fail", "/dev/md0", "/dev/vdb2")
	if code != ExitOK || !strings.Contains(out, "mdadm Fail on /dev/md0 (/dev/vdb2): status critical; disk vdb (WD-WCC4N1KPB002)") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	b, err := os.ReadFile(filepath.Join(dir, event.DefaultTextfile))
	if err != nil || !strings.Contains(string(b), "raidswap_status_verdict 2\n") {
		t.Errorf("textfile: %v %s", err, b)
	}
	t.Setenv("RAIDSWAP_TEXTFILE", "/srv/metrics/raid.prom")
	if code, _, errOut := run(t, "--root", dir, "event", "--syslog", "-", "RebuildStarted", "/dev/md0"); code != ExitOK {
		t.Errorf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "srv", "metrics", "raid.prom")); err != nil {
		t.Errorf("RAIDSWAP_TEXTFILE not followed: %v", err)
	}
}

func TestEventBadInputWritesNothing(t *testing.T) {
	dir := unpackFixture(t, "failed")
	before := files(t, dir)
	for _, args := range [][]string{
		{"Fial", "/dev/md0", "/dev/vdb2"},
		{"Fail", "/etc/passwd"},
		{"Fail", "/dev/md0", "../../etc/shadow"},
		{"Fail"},
		// issue 18: no such array, and a textfile that cannot be placed.
		{"Fail", "/dev/md99"},
		{"Fail", "/dev/md99", "/dev/vdb2"},
		{"--textfile", "rel.prom", "Fail", "/dev/md0", "/dev/vdb2"},
	} {
		code, out, errOut := run(t, append([]string{"--root", dir, "event"}, args...)...)
		if code != ExitUsage || out != "" || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || errOut == "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	t.Setenv("RAIDSWAP_TEXTFILE", "rel.prom")
	if code, _, errOut := run(t, "--root", dir, "event", "Fail", "/dev/md0", "/dev/vdb2"); code != ExitUsage || !strings.Contains(errOut, `"rel.prom" is a relative path`) {
		t.Errorf("RAIDSWAP_TEXTFILE=rel.prom: exit %d, %q", code, errOut)
	}
	if after := files(t, dir); after != before {
		t.Errorf("bad input wrote into the tree")
	}
	code, _, errOut := run(t, "--root", fixture("failed"), "event", "Fail", "/dev/md0")
	if code != ExitUsage || !strings.Contains(errOut, "a capture file is only read") {
		t.Errorf("capture file: exit %d, %q", code, errOut)
	}
}

func TestEventInstallCommand(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "etc", "mdadm", "mdadm.conf")
	if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("MAILADDR root\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "usr", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "usr", "bin", "raidswap"), []byte("\x7fELF"), 0o755); err != nil {
		t.Fatal(err)
	}
	// issue 18: a PROGRAM path mdadm would split is a usage error, and nothing is written.
	code, out, errOut := run(t, "--root", dir, "event", "--install", "--target", "/usr/bin/raidswap", "--program", "/usr/local/my dir/raidswap-event")
	if code != ExitUsage || out != "" || !strings.Contains(errOut, "clean absolute path") {
		t.Errorf("--program with a space: exit %d, %q %q", code, out, errOut)
	}
	if ents, _ := os.ReadDir(filepath.Dir(conf)); len(ents) != 1 {
		t.Errorf("a refused --install wrote into /etc/mdadm")
	}
	f := func(args ...string) (int, string, string) {
		return run(t, append(args, "--target", "/usr/bin/raidswap")...)
	}
	code, out, errOut = f("--root", dir, "event", "--install")
	if code != ExitOK || !regexp.MustCompile(`^added PROGRAM /usr/local/sbin/raidswap-event to /etc/mdadm/mdadm.conf \(the copy from before: /etc/mdadm/mdadm.conf.raidswap-bak.20[0-9]{6}T[0-9]{6}Z\); link /usr/local/sbin/raidswap-event -> /usr/bin/raidswap: created\n`).MatchString(out) {
		t.Fatalf("exit %d, %q %q", code, out, errOut)
	}
	code, out, _ = f("--root", dir, "event", "--install")
	if code != ExitOK || !strings.Contains(out, "nothing changed") {
		t.Errorf("second: exit %d, %q", code, out)
	}
	if err := os.WriteFile(conf, []byte("MAILADDR root\nPROGRAM /usr/sbin/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = f("--root", dir, "event", "--install")
	if code != ExitRefused || !strings.Contains(errOut, "/usr/sbin/other") {
		t.Errorf("conflict: exit %d, %q", code, errOut)
	}
	code, _, errOut = f("--root", dir, "event", "--install", "Fail", "/dev/md0")
	if code != ExitUsage {
		t.Errorf("--install with arguments: exit %d, %q", code, errOut)
	}
}
