package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
)

// locate --blink refuses the survivor, partitions and arrays before it reads anything (the
// captures come from a real kernel in the VM suite).
func TestLocateBlinkRefusals(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"vda"}, ExitRefused, "refusing to blink vda: it holds md"},
		{[]string{"WD-WCC4N1KPA001"}, ExitRefused, "refusing to blink vda: it holds md"},
		{[]string{"vdb2"}, ExitRefused, "refusing vdb2: it is a partition of vdb (WD-WCC4N1KPB002), not a whole disk"},
		{[]string{"md0"}, ExitRefused, "refusing md0: it is an md array, not a disk"},
		{[]string{"sdz"}, ExitUsage, "sdz: no such disk"},
		{[]string{"vdb", "--for", "3m"}, ExitUsage, "at most 2m0s"},
		{[]string{"vdb"}, ExitUsage, "--blink reads a disk of the live system, not under --root"},
	} {
		args := append([]string{"locate", "--blink", "--root", fixture("failed")}, tt.args...)
		code, _, errOut := run(t, args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
}

// A disk carrying the serial of a disk that holds a working member cannot be told apart
// from it: it does not blink.
func TestBlinkRefusesTheSurvivorsSerial(t *testing.T) {
	sp := func(s string) *string { return &s }
	slot := 0
	sys := &discover.System{
		Arrays: []discover.Array{{Name: "md0", Members: []discover.Member{{Device: sp("vda2"), Disk: sp("vda"), Slot: &slot, State: discover.MemberInSync}}}},
		Disks:  []discover.Disk{{Name: "vda", Serial: "WD-SURV", Present: true}, {Name: "vdc", Serial: "WD-SURV", Present: true}, {Name: "vdd", Serial: "WD-OTHER", Present: true}},
	}
	root := host.NewRoot(t.TempDir())
	if err := blinkRefusal(sys, root, "vdc"); err == nil || !strings.Contains(err.Error(), "it carries serial WD-SURV, the serial of vda") {
		t.Errorf("vdc: %v", err)
	}
	if err := blinkRefusal(sys, root, "vdd"); err != nil {
		t.Errorf("vdd: %v", err)
	}
}

// The blink on a real block device (a loop device) reads, and stops at its bound.
func TestLocateBlinkLoopBound(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loop devices need root")
	}
	img := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	res, err := host.ExecRunner{}.Run(context.Background(), host.Losetup, "--show", "-f", img)
	if err != nil {
		t.Fatalf("attaching a loop device: %v", err)
	}
	dev := strings.TrimSpace(string(res.Stdout))
	t.Cleanup(func() {
		if _, err := (host.ExecRunner{}).Run(context.Background(), host.Losetup, "-d", dev); err != nil {
			t.Errorf("detaching %s: %v", dev, err)
		}
	})
	start := time.Now()
	code, out, errOut := run(t, "locate", "--blink", "--for", "2500ms", filepath.Base(dev))
	took := time.Since(start)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The bound is what is asserted: it stops at --for, not at BlinkMax (2 minutes). Under
	// load it may stop a little late, so the printed duration is parsed, not matched as text.
	if took < 2500*time.Millisecond || took > 30*time.Second {
		t.Errorf("the blink took %s, want its bound of 2.5 s", took)
	}
	if !strings.Contains(out, "blinking "+filepath.Base(dev)) || strings.Contains(out, "read 0 MiB") {
		t.Errorf("output:\n%s", out)
	}
	if m := regexp.MustCompile(`stopped after (\S+):`).FindStringSubmatch(out); m == nil {
		t.Errorf("no \"stopped after\" line in:\n%s", out)
	} else if d, err := time.ParseDuration(m[1]); err != nil || d < 2500*time.Millisecond || d > took+time.Second {
		t.Errorf("it says it stopped after %q; it ran %s with a bound of 2.5 s", m[1], took)
	}
	t.Log(strings.TrimSpace(out))
	// Ctrl-C (a cancelled context) stops it at once, long before its bound.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	n, err := identify.Blink(ctx, host.NewRoot("/"), filepath.Base(dev), identify.BlinkMax, nil)
	if err != nil || n == 0 || time.Since(start) > 2*time.Second {
		t.Errorf("cancelled blink: %d bytes, %v, after %s", n, err, time.Since(start))
	}
}

// locate without --blink finds the bay from discovery (identify's hand-written enclosure
// tree): an ambiguous bay is refused, a disk without LED is pointed to --blink, and under
// --root nothing is written.
func TestLocateLEDDecisions(t *testing.T) {
	tree := filepath.Join("..", "..", "identify", "testdata", "enclosure", "root")
	for _, tt := range []struct {
		disk string
		code int
		want string
	}{
		{"sda", ExitUsage, "LEDs are driven on the live system only, not under --root"},
		{"sdd", ExitRefused, "refusing to light an LED for sdd (serial unknown): its bay is unknown: 2 enclosure slots claim it"},
		{"vda", ExitFailed, "no enclosure, NPEM or ledctl LED is known for vda (serial unknown)'s bay; `raidswap locate vda --blink`"},
	} {
		code, _, errOut := run(t, "locate", "--root", tree, tt.disk)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tt.disk, code, errOut, tt.code, tt.want)
		}
	}
	b, err := os.ReadFile(filepath.Join(tree, "sys/devices/pci0000:00/0000:00:02.0/0000:03:00.0/host0/target0:0:0/0:0:0:0/enclosure/0:0:0:0/Slot 01/locate"))
	if err != nil || strings.TrimSpace(string(b)) != "0" {
		t.Errorf("the fixture's Slot 01 locate is %q (%v): something was written under --root", b, err)
	}
}
