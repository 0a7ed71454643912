package event

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/inventory"
)

func TestParse(t *testing.T) {
	tests := []struct {
		args   []string
		action Action
		bad    string
	}{
		{[]string{"Fail", "/dev/md0", "/dev/vdb2"}, Alarm, ""},
		{[]string{"FailSpare", "/dev/md/boot", "/dev/sdc1"}, Alarm, ""},
		{[]string{"DegradedArray", "/dev/md127"}, Alarm, ""},
		{[]string{"RebuildFinished", "/dev/md1"}, Recovered, ""},
		{[]string{"SpareActive", "/dev/md1", "/dev/nvme1n1p3"}, Recovered, ""},
		{[]string{"Rebuild20", "/dev/md1"}, Report, ""},
		{[]string{"NewArray", "/dev/md_d0"}, Report, ""},
		{[]string{"MoveSpare", "/dev/md1", "/dev/md2"}, Report, ""},
		{[]string{"DeviceDisappeared", "/dev/md9"}, Report, ""},
		{[]string{"TestMessage", "/dev/md0"}, Report, ""},
		{[]string{"fail", "/dev/md0"}, 0, `unknown mdadm event "fail"`},
		{[]string{"Rebuild5", "/dev/md0"}, 0, "unknown mdadm event"},
		{[]string{"Fail; rm -rf /", "/dev/md0"}, 0, "unknown mdadm event"},
		{[]string{"Fail", "/dev/sda"}, 0, "not an md array name"},
		{[]string{"Fail", "md0"}, 0, "not an md array name"},
		{[]string{"Fail", "/dev/md/../../etc/passwd"}, 0, "not an md array name"},
		{[]string{"Fail", "/dev/md0", "/dev/../etc/shadow"}, 0, "not a device name"},
		{[]string{"Fail", "/dev/md0", "vdb2"}, 0, "not a device name"},
		{[]string{"Fail", "/dev/md0", "/dev/vd\nb2"}, 0, "not a device name"},
		{[]string{"Fail"}, 0, "got 1 argument"},
		{[]string{"Fail", "/dev/md0", "/dev/vdb2", "x"}, 0, "got 4 argument"},
	}
	for _, tt := range tests {
		ev, err := Parse(tt.args)
		var ie *InputError
		switch {
		case tt.bad == "" && err != nil:
			t.Errorf("%q: %v", tt.args, err)
		case tt.bad == "" && ev.Action() != tt.action:
			t.Errorf("%q: action %v, want %v", tt.args, ev.Action(), tt.action)
		case tt.bad != "" && (!errors.As(err, &ie) || !strings.Contains(err.Error(), tt.bad)):
			t.Errorf("%q: error %v, want an InputError with %q", tt.args, err, tt.bad)
		}
	}
}

// tree unpacks one of discover's captured trees into a writable temporary root.
func tree(t *testing.T, name string) string {
	t.Helper()
	in, err := os.Open(filepath.Join("..", "discover", "testdata", "fixtures", name+".tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dir := t.TempDir()
	if _, err := capture.Unpack(in, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fakeLED records the fault LED changes asked for.
type fakeLED struct {
	mu    sync.Mutex
	calls []string
	err   error
	block chan struct{}
	// entered, when set, is closed when SetFault is first called.
	entered chan struct{}
	once    sync.Once
}

func (f *fakeLED) SetFault(ctx context.Context, d discover.Disk, on bool) error {
	if f.entered != nil {
		f.once.Do(func() { close(f.entered) })
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, map[bool]string{true: "on ", false: "off "}[on]+d.Name+" "+d.Serial)
	return f.err
}

func mustParse(t *testing.T, args ...string) Event {
	t.Helper()
	ev, err := Parse(args)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func auditLines(t *testing.T, dir string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, DefaultAuditLog))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestFailWritesEverything(t *testing.T) {
	dir := tree(t, "failed")
	_ = os.Remove(filepath.Join(dir, inventory.Path))
	led := &fakeLED{}
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	o, err := Handle(context.Background(), Config{Root: host.NewRoot(dir), LED: led, Syslog: "-", Now: func() time.Time { return now }},
		mustParse(t, "Fail", "/dev/md0", "/dev/vdb2"))
	if err != nil {
		t.Fatal(err)
	}
	prom := filepath.Join(dir, DefaultTextfile)
	b, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(filepath.Join("..", "discover", "testdata", "golden", "failed.prom"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(golden) {
		t.Errorf("textfile differs from status --format prometheus (failed.prom):\n%s", b)
	}
	if fi, _ := os.Stat(prom); fi.Mode().Perm() != 0o644 {
		t.Errorf("textfile mode %v, want 0644", fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(filepath.Dir(prom))
	if len(ents) != 1 {
		t.Errorf("the textfile directory holds %d entries (a temporary file left?)", len(ents))
	}
	if got := strings.Join(led.calls, "|"); got != "on vdb WD-WCC4N1KPB002" {
		t.Errorf("LED calls %q, want the failed member's disk only", got)
	}
	inv, err := inventory.Load(host.NewRoot(dir))
	if err != nil || len(inv.Disks["WD-WCC4N1KPA001"].Members) != 2 {
		t.Errorf("inventory not saved with the survivor's slots: %v %+v", err, inv)
	}
	lines := auditLines(t, dir)
	if len(lines) != 1 {
		t.Fatalf("%d audit lines, want 1", len(lines))
	}
	l := lines[0]
	for k, want := range map[string]any{"level": "error", "event": "mdadm", "mdadm_event": "Fail", "array": "/dev/md0",
		"member": "/dev/vdb2", "verdict": "critical", "inventory": "saved", "time": "2026-12-01T15:00:00Z", "textfile": DefaultTextfile} {
		if l[k] != want {
			t.Errorf("audit %s = %v, want %v (line %v)", k, l[k], want, l)
		}
	}
	if !strings.Contains(o.Line(), "disk vdb (WD-WCC4N1KPB002)") || !strings.Contains(o.Line(), "fault LED: vdb on") {
		t.Errorf("line %q", o.Line())
	}
}

func TestDegradedArrayLightsFaultyDisks(t *testing.T) {
	dir := tree(t, "failed")
	led := &fakeLED{}
	if _, err := Handle(context.Background(), Config{Root: host.NewRoot(dir), LED: led, Syslog: "-"}, mustParse(t, "DegradedArray", "/dev/md1")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(led.calls, "|"); got != "on vdb WD-WCC4N1KPB002" {
		t.Errorf("LED calls %q", got)
	}
}

func TestRecoveredClearsHealthyDisks(t *testing.T) {
	dir := tree(t, "clean")
	led := &fakeLED{}
	if _, err := Handle(context.Background(), Config{Root: host.NewRoot(dir), LED: led, Syslog: "-"}, mustParse(t, "RebuildFinished", "/dev/md0")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(led.calls, "|"); got != "off vda WD-WCC4N1KPA001|off vdb WD-WCC4N1KPB002" {
		t.Errorf("LED calls %q", got)
	}
	// A disk still failed in some array keeps its fault LED on, even when another array's
	// spare became active.
	dir = tree(t, "failed")
	led = &fakeLED{}
	if _, err := Handle(context.Background(), Config{Root: host.NewRoot(dir), LED: led, Syslog: "-"}, mustParse(t, "SpareActive", "/dev/md0", "/dev/vdb2")); err != nil {
		t.Fatal(err)
	}
	if len(led.calls) != 0 {
		t.Errorf("LED of a failed disk cleared: %q", led.calls)
	}
}

func TestReportLeavesTheLED(t *testing.T) {
	dir := tree(t, "recovering")
	_ = os.Remove(filepath.Join(dir, inventory.Path))
	led := &fakeLED{}
	tf := "/run/metrics/rs.prom"
	o, err := Handle(context.Background(), Config{Root: host.NewRoot(dir), LED: led, Syslog: "-", Textfile: tf}, mustParse(t, "Rebuild40", "/dev/md0"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, tf))
	// recovering from the last good copy is critical (issue 17)
	if err != nil || !strings.Contains(string(b), "raidswap_status_verdict 2\n") {
		t.Errorf("textfile: %v\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join(dir, inventory.Path)); err != nil || o.Inventory != "saved" {
		t.Errorf("a report event did not save the changed inventory: %v, %q", err, o.Inventory)
	}
	if len(led.calls) != 0 {
		t.Errorf("report event: LED %q", led.calls)
	}
	if l := auditLines(t, dir); len(l) != 1 || l[0]["level"] != "warn" || l[0]["mdadm_event"] != "Rebuild40" {
		t.Errorf("audit %v", l)
	}
}

func TestLEDErrorIsNotedNotFatal(t *testing.T) {
	dir := tree(t, "failed")
	led := &fakeLED{err: errors.New("no enclosure slot or LED for vdb")}
	o, err := Handle(context.Background(), Config{Root: host.NewRoot(dir), LED: led, Syslog: "-"}, mustParse(t, "Fail", "/dev/md0", "/dev/vdb2"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(o.Line(), "fault LED: vdb: no enclosure slot or LED for vdb") {
		t.Errorf("line %q", o.Line())
	}
	if _, err := os.Stat(filepath.Join(dir, DefaultTextfile)); err != nil {
		t.Error(err)
	}
}

func TestBoundedTime(t *testing.T) {
	dir := tree(t, "failed")
	led := &fakeLED{block: make(chan struct{})}
	defer close(led.block)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Handle(ctx, Config{Root: host.NewRoot(dir), LED: led, Syslog: "-"}, mustParse(t, "Fail", "/dev/md0", "/dev/vdb2"))
	if took := time.Since(start); err == nil || took > 2*time.Second || !strings.Contains(err.Error(), "gave up after") {
		t.Errorf("a wedged LED: error %v after %s", err, took)
	}
	// The textfile was written before the LED was tried.
	if b, _ := os.ReadFile(filepath.Join(dir, DefaultTextfile)); !strings.Contains(string(b), "raidswap_status_verdict 2\n") {
		t.Errorf("textfile not written before the wedged step")
	}
}

func TestUnwritableTextfileFails(t *testing.T) {
	dir := tree(t, "failed")
	if err := os.MkdirAll(filepath.Join(dir, DefaultTextfile), 0o755); err != nil { // a directory where the file goes
		t.Fatal(err)
	}
	o, err := Handle(context.Background(), Config{Root: host.NewRoot(dir), Syslog: "-"}, mustParse(t, "Fail", "/dev/md0", "/dev/vdb2"))
	if err == nil || !strings.Contains(err.Error(), "textfile") {
		t.Errorf("error %v", err)
	}
	// It is still logged, with the problem.
	if l := auditLines(t, dir); len(l) != 1 || l[0]["problems"] == nil || o.Textfile != "" {
		t.Errorf("audit %v", l)
	}
}

func TestNotARootWritesNoTextfile(t *testing.T) {
	dir := t.TempDir()
	_, err := Handle(context.Background(), Config{Root: host.NewRoot(dir), Syslog: "-"}, mustParse(t, "Fail", "/dev/md0", "/dev/vdb2"))
	if err == nil || !strings.Contains(err.Error(), "not a system root") {
		t.Errorf("error %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, DefaultTextfile)); err == nil {
		t.Errorf("a textfile was written without a judged system")
	}
}

func TestSyslog(t *testing.T) {
	dir := tree(t, "failed")
	sock := filepath.Join(dir, "dev", "log")
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	if len(sock) > 100 {
		t.Skipf("socket path too long for a unix socket: %s", sock)
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := Handle(context.Background(), Config{Root: host.NewRoot(dir)}, mustParse(t, "Fail", "/dev/md0", "/dev/vdb2")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(buf[:n])
	if !strings.HasPrefix(msg, "<26>") || !strings.Contains(msg, " raidswap[") || !strings.Contains(msg, "mdadm Fail on /dev/md0 (/dev/vdb2): status critical") {
		t.Errorf("syslog message %q", msg)
	}
}

// slowSMART answers once released, as a failing disk answers SMART late.
type slowSMART struct{ release chan struct{} }

func (s slowSMART) ReadSMART(ctx context.Context, name string) identify.Health {
	<-s.release
	return identify.Health{State: identify.SMARTUnavailable}
}

// An alarm's textfile does not wait for SMART: the md state is written first, and rewritten
// with SMART when it comes.
func TestAlarmTextfileBeforeSMART(t *testing.T) {
	dir := tree(t, "failed")
	smart := slowSMART{release: make(chan struct{})}
	cfg := Config{Root: host.NewRoot(dir), Syslog: "-", Options: func(*host.Root) discover.Options { return discover.Options{SMART: smart} }}
	done := make(chan error, 1)
	go func() {
		_, err := Handle(context.Background(), cfg, mustParse(t, "Fail", "/dev/md0", "/dev/vdb2"))
		done <- err
	}()
	prom := filepath.Join(dir, DefaultTextfile)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(prom)
		if strings.Contains(string(b), "raidswap_status_verdict 2\n") {
			if strings.Contains(string(b), "raidswap_disk_smart_state") {
				t.Errorf("the first textfile already has SMART, which was not read yet")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no textfile while SMART is being read")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(smart.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(prom); !strings.Contains(string(b), `raidswap_disk_smart_state{disk="vdb",serial="WD-WCC4N1KPB002",state="unavailable"} 1`) {
		t.Errorf("the final textfile lacks SMART:\n%s", b)
	}
}
