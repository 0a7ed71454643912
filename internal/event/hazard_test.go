package event

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
)

// A Fail event that names a member md reports in sync (a late, replayed or wrong event) lights
// no LED and says why; md's faulty member, or one md no longer has while the array misses a
// member, is lit (issue 18).
func TestAlarmLightsOnlyWhatMdReportsFailed(t *testing.T) {
	md0 := filepath.Join("sys", "devices", "virtual", "block", "md0", "md")
	tests := []struct {
		name    string
		args    []string
		prepare func(t *testing.T, dir string)
		calls   string
		noLED   string
	}{
		// vdb2, which md does report faulty in md0, is lit; the survivor named is not.
		{"in-sync survivor named", []string{"Fail", "/dev/md0", "/dev/vda2"}, nil, "on vdb WD-WCC4N1KPB002",
			"not vda (WD-WCC4N1KPA001): md reports vda2 in_sync in md0, not faulty"},
		{"faulty member named", []string{"Fail", "/dev/md0", "/dev/vdb2"}, nil, "on vdb WD-WCC4N1KPB002", ""},
		{"member gone, array degraded", []string{"Fail", "/dev/md0", "/dev/vdb2"}, func(t *testing.T, dir string) {
			if err := os.RemoveAll(filepath.Join(dir, md0, "dev-vdb2")); err != nil {
				t.Fatal(err)
			}
		}, "on vdb WD-WCC4N1KPB002", ""},
		{"member gone, array whole", []string{"FailSpare", "/dev/md0", "/dev/vdb2"}, func(t *testing.T, dir string) {
			if err := os.RemoveAll(filepath.Join(dir, md0, "dev-vdb2")); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, md0, "degraded"), []byte("0\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "", "not vdb (WD-WCC4N1KPB002): vdb2 is no member of md0 and md0 misses none"},
		{"faulty member turned in sync before the hook ran", []string{"Fail", "/dev/md0", "/dev/vdb2"}, func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, md0, "dev-vdb2", "state"), []byte("in_sync\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "", "md reports vdb2 in_sync in md0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tree(t, "failed")
			if tt.prepare != nil {
				tt.prepare(t, dir)
			}
			led := &fakeLED{}
			o, err := Handle(context.Background(), Config{Root: host.NewRoot(dir), LED: led, Syslog: "-"}, mustParse(t, tt.args...))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(led.calls, "|"); got != tt.calls {
				t.Errorf("LED calls %q, want %q (line %q)", got, tt.calls, o.Line())
			}
			if tt.noLED == "" {
				if len(o.NoLED) != 0 {
					t.Errorf("no-LED reasons %q, want none", o.NoLED)
				}
				return
			}
			if !strings.Contains(o.Line(), "no fault LED lit: ") || !strings.Contains(o.Line(), tt.noLED) {
				t.Errorf("line %q does not say why no LED was lit (%q)", o.Line(), tt.noLED)
			}
			l := auditLines(t, dir)
			if len(l) != 1 || !strings.Contains(strings.Join(anyStrings(l[0]["led_not_lit"]), "|"), tt.noLED) {
				t.Errorf("audit line lacks the reason %q: %v", tt.noLED, l)
			}
		})
	}
}

func anyStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// The audit log is appended to only as a regular file reached without a symbolic link: the
// hook runs as root (issue 18).
func TestAuditLogRefusesLinksAndSpecialFiles(t *testing.T) {
	dir := tree(t, "failed")
	elsewhere := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(elsewhere, []byte("root:x:0:0::/root:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	audit := filepath.Join(dir, DefaultAuditLog)
	if err := os.MkdirAll(filepath.Dir(audit), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, audit); err != nil {
		t.Fatal(err)
	}
	_, err := Handle(context.Background(), Config{Root: host.NewRoot(dir), Syslog: "-"}, mustParse(t, "Fail", "/dev/md0", "/dev/vdb2"))
	if err == nil || !strings.Contains(err.Error(), "refusing to append: it is a symbolic link") {
		t.Errorf("error %v", err)
	}
	if b, _ := os.ReadFile(elsewhere); string(b) != "root:x:0:0::/root:/bin/sh\n" {
		t.Errorf("the link's target was appended to:\n%s", b)
	}
	// A FIFO would block an ordinary open for writing: refused at once.
	if err := os.Remove(audit); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(audit, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Handle(context.Background(), Config{Root: host.NewRoot(dir), Syslog: "-"}, mustParse(t, "Fail", "/dev/md0", "/dev/vdb2"))
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO: error %v", err)
	}
}

// An event on an array the kernel does not have writes nothing (issue 18); DeviceDisappeared,
// whose array is gone by definition, is still reported.
func TestNoSuchArrayWritesNothing(t *testing.T) {
	dir := tree(t, "failed")
	for _, args := range [][]string{{"Fail", "/dev/md99"}, {"DegradedArray", "/dev/md/nosuch"}, {"RebuildFinished", "/dev/md99"}} {
		led := &fakeLED{}
		o, err := Handle(context.Background(), Config{Root: host.NewRoot(dir), LED: led, Syslog: "-"}, mustParse(t, args...))
		var na *NoArrayError
		if !errors.As(err, &na) || o != nil || !strings.Contains(err.Error(), "no such md array") {
			t.Errorf("%q: outcome %v, error %v", args, o, err)
		}
	}
	for _, p := range []string{DefaultTextfile, DefaultAuditLog} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s written for an array that does not exist", p)
		}
	}
	if _, err := Handle(context.Background(), Config{Root: host.NewRoot(dir), Syslog: "-"}, mustParse(t, "DeviceDisappeared", "/dev/md99")); err != nil {
		t.Errorf("DeviceDisappeared: %v", err)
	}
}

// /dev/md/NAME is the array its link leads to.
func TestNamedArrayThroughItsLink(t *testing.T) {
	dir := tree(t, "failed")
	if err := os.MkdirAll(filepath.Join(dir, "dev", "md"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../md0", filepath.Join(dir, "dev", "md", "boot")); err != nil {
		t.Fatal(err)
	}
	led := &fakeLED{}
	if _, err := Handle(context.Background(), Config{Root: host.NewRoot(dir), LED: led, Syslog: "-"}, mustParse(t, "Fail", "/dev/md/boot", "/dev/vdb2")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(led.calls, "|"); got != "on vdb WD-WCC4N1KPB002" {
		t.Errorf("LED calls %q", got)
	}
}

// A relative path cannot be placed: it is refused before anything is written (issue 18).
func TestRelativePathsRefused(t *testing.T) {
	dir := tree(t, "failed")
	for _, cfg := range []Config{{Textfile: "rel.prom"}, {AuditLog: "audit.jsonl"}, {Syslog: "dev/log"}} {
		cfg.Root = host.NewRoot(dir)
		_, err := Handle(context.Background(), cfg, mustParse(t, "Fail", "/dev/md0", "/dev/vdb2"))
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "relative path") {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, DefaultAuditLog)); err == nil {
		t.Errorf("audit log written")
	}
}

// An event that gives up still leaves its one audit line, saying so (issue 18: a burst of
// events each giving up at its bound lost their lines).
func TestGiveUpIsLogged(t *testing.T) {
	dir := tree(t, "failed")
	led := &fakeLED{block: make(chan struct{})}
	defer close(led.block)
	ctx, cancel := context.WithCancel(context.Background())
	led.entered = make(chan struct{})
	go func() { <-led.entered; cancel() }()
	o, err := Handle(ctx, Config{Root: host.NewRoot(dir), LED: led, Syslog: "-"}, mustParse(t, "Fail", "/dev/md0", "/dev/vdb2"))
	if err == nil || !strings.Contains(err.Error(), "gave up after") || o == nil {
		t.Fatalf("error %v", err)
	}
	l := auditLines(t, dir)
	if len(l) != 1 || !strings.Contains(strings.Join(anyStrings(l[0]["problems"]), "|"), "gave up after") || l[0]["mdadm_event"] != "Fail" {
		t.Errorf("audit after giving up: %v", l)
	}
}

// Giving up removes a temporary textfile still being written and lets no later rename or
// create happen.
func TestAbandonRemovesTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	var tmp temps
	f, err := tmp.create(dir, ".raidswap.prom.")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	tmp.abandon()
	if _, err := os.Stat(f.Name()); err == nil {
		t.Errorf("temporary file %s left after abandon", f.Name())
	}
	if err := tmp.rename(f.Name(), filepath.Join(dir, "raidswap.prom")); !errors.Is(err, errAbandoned) {
		t.Errorf("rename after abandon: %v", err)
	}
	if _, err := tmp.create(dir, ".raidswap.prom."); !errors.Is(err, errAbandoned) {
		t.Errorf("create after abandon: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%d entries left", len(ents))
	}
	// A failed rename (a directory where the textfile goes) removes the temporary file too.
	sys, err := discover.Discover(host.NewRoot(tree(t, "failed")))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub", "x.prom", "y"), 0o755); err != nil {
		t.Fatal(err)
	}
	var t2 temps
	if err := t2.writeTextfile(filepath.Join(dir, "sub", "x.prom"), sys); err == nil {
		t.Errorf("written over a directory")
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "sub")); len(ents) != 1 {
		t.Errorf("%d entries left after a failed write, want only x.prom", len(ents))
	}
}

// A guarded write (the inventory's) finishes before abandon returns, and none starts after.
func TestAbandonWaitsForGuardedWrite(t *testing.T) {
	var tmp temps
	inside, release := make(chan struct{}), make(chan struct{})
	wrote := make(chan error, 1)
	go func() {
		wrote <- tmp.guard(func() error { close(inside); <-release; return nil })
	}()
	<-inside
	abandoned := make(chan struct{})
	go func() { tmp.abandon(); close(abandoned) }()
	select {
	case <-abandoned:
		t.Fatal("abandon returned while a guarded write was under way")
	case err := <-wrote:
		t.Fatalf("guarded write ended early: %v", err)
	default:
	}
	close(release)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	<-abandoned
	if err := tmp.guard(func() error { t.Error("a guarded write ran after abandon"); return nil }); !errors.Is(err, errAbandoned) {
		t.Errorf("guard after abandon: %v", err)
	}
}
