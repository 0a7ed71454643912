package exec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// ledTree is an enclosure's slot files as the kernel lays them out (the layout of
// identify/testdata/enclosure, reduced to the files the LED writes touch).
func ledTree(t *testing.T) (*host.Root, func(slot string) string) {
	t.Helper()
	dir := t.TempDir()
	for _, slot := range []string{"Slot 01", "Slot 02"} {
		p := filepath.Join(dir, "sys/class/enclosure/0:0:0:0", slot)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "locate"), []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return host.NewRoot(dir), func(slot string) string {
		b, err := os.ReadFile(filepath.Join(dir, "sys/class/enclosure/0:0:0:0", slot, "locate"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
}

// ledWorld is the seed with the failed disk in Slot 02 and the survivor in Slot 01; the
// operator's hands are the test's (no triggers), so the pull comes after the locate step.
func ledWorld(failedBay *identify.Bay) *plantest.World {
	return plantest.NewWorld(plantest.WithBays(plantest.Seed(), map[string]*identify.Bay{
		plantest.Old: failedBay, plantest.Survivor: plantest.EnclosureBay("Slot 01", 1)}))
}

func stepID(p *plan.Plan, a plan.Action) string {
	for _, s := range p.Steps {
		if s.Action == a {
			return s.ID
		}
	}
	return ""
}

func ledNotes(t *testing.T, path string) []string {
	t.Helper()
	recs, err := journal.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		if v, ok := r.Data[noteLED]; ok {
			out = append(out, r.Data[noteLEDWhy]+"="+v)
		}
	}
	return out
}

// TestLocateLightsTheBayAndVerifyClearsIt: the locate step writes 1 to the failed disk's slot
// (and nothing to the survivor's), a resume after the pull turns it off, and the run ends
// with it off; every change is journalled.
func TestLocateLightsTheBayAndVerifyClearsIt(t *testing.T) {
	w := ledWorld(plantest.EnclosureBay("Slot 02", 2))
	p := build(t, w.Sys(), seedReq())
	exp := seedExpect(w)
	r := hosttest.NewFakeRunner(t, exp[:3]...)
	root, locate := ledTree(t)
	o := options(t, w, r, t.TempDir())
	o.LEDs = SysLEDs{Root: root, Runner: r}
	o.StopAfter = stepID(p, plan.ActionLocate)
	res, err := Apply(context.Background(), p, o)
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("first run: %v", err)
	}
	if locate("Slot 02") != "1" || locate("Slot 01") != "0" {
		t.Fatalf("after locate: Slot 02 %s, Slot 01 %s", locate("Slot 02"), locate("Slot 01"))
	}
	// The operator pulls the disk and puts the new one into the same bay.
	w.Pull(plantest.Old)
	nd := plantest.BlankDisk("vdb", plantest.New)
	nd.Bay = plantest.EnclosureBay("Slot 02", 2)
	w.Insert(nd)
	r.Add(exp[3:]...)
	o.StopAfter = ""
	if _, err := Apply(context.Background(), p, o); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if locate("Slot 02") != "0" || locate("Slot 01") != "0" {
		t.Errorf("after the run: Slot 02 %s, Slot 01 %s", locate("Slot 02"), locate("Slot 01"))
	}
	if got := strings.Join(ledNotes(t, res.Journal), " "); got != "locate=on resume=off verify=off" {
		t.Errorf("journalled LED changes: %s", got)
	}
}

// A resume before the pull turns off what the interrupted run lit and lights it again.
func TestResumeRelightsBeforeThePull(t *testing.T) {
	w := ledWorld(plantest.EnclosureBay("Slot 02", 2))
	p := build(t, w.Sys(), seedReq())
	exp := seedExpect(w)
	r := hosttest.NewFakeRunner(t, exp[:3]...)
	root, locate := ledTree(t)
	o := options(t, w, r, t.TempDir())
	o.LEDs = SysLEDs{Root: root, Runner: r}
	o.StopAfter = stepID(p, plan.ActionLocate)
	res, err := Apply(context.Background(), p, o)
	if !errors.Is(err, ErrStopped) {
		t.Fatal(err)
	}
	// Resumed, the run stops right after the (done) locate step, before waiting for the pull.
	if _, err := Apply(context.Background(), p, o); !errors.Is(err, ErrStopped) {
		t.Fatal(err)
	}
	if locate("Slot 02") != "1" {
		t.Errorf("Slot 02 %s after a resume before the pull", locate("Slot 02"))
	}
	if got := strings.Join(ledNotes(t, res.Journal), " "); got != "locate=on resume=off resume: the disk is still to be pulled=on" {
		t.Errorf("journalled LED changes: %s", got)
	}
}

// A bay that no longer holds the plan's disk is never lit: the locate step is refused.
func TestLocateRefusesABayThatChanged(t *testing.T) {
	w := ledWorld(plantest.EnclosureBay("Slot 02", 2))
	p := build(t, w.Sys(), seedReq())
	w.SetBay(plantest.Old, plantest.EnclosureBay("Slot 04", 4))
	exp := seedExpect(w)
	r := hosttest.NewFakeRunner(t, exp[:3]...)
	root, locate := ledTree(t)
	o := options(t, w, r, t.TempDir())
	o.LEDs = SysLEDs{Root: root, Runner: r}
	_, err := Apply(context.Background(), p, o)
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), `not lighting the locate LED of enclosure 0:0:0:0 (id 0x5001438012345678) slot "Slot 02"`) ||
		!strings.Contains(err.Error(), `now: enclosure 0:0:0:0`) || re.Serial != plantest.Old {
		t.Fatalf("err = %v", err)
	}
	if locate("Slot 02") != "0" {
		t.Error("the changed bay was lit")
	}
}

// An LED that cannot be written is said and journalled; the replacement goes on.
func TestUnwritableLEDDoesNotStopTheRun(t *testing.T) {
	w := ledWorld(plantest.EnclosureBay("Slot 02", 2))
	p := build(t, w.Sys(), seedReq())
	exp := seedExpect(w)
	r := hosttest.NewFakeRunner(t, exp[:3]...)
	root, _ := ledTree(t)
	f := root.Path("/sys/class/enclosure/0:0:0:0/Slot 02/locate")
	os.Remove(f)
	os.Mkdir(f, 0o755)
	o := options(t, w, r, t.TempDir())
	o.LEDs = SysLEDs{Root: root, Runner: r}
	o.StopAfter = stepID(p, plan.ActionLocate)
	res, err := Apply(context.Background(), p, o)
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("run: %v", err)
	}
	recs, _ := journal.Load(res.Journal)
	found := false
	for _, rec := range recs {
		if rec.Data[noteLED] == "error" && strings.Contains(rec.Data[noteLEDError], "vdb (WD-OLD)") &&
			strings.Contains(rec.Data[noteLEDError], "/sys/class/enclosure/0:0:0:0/Slot 02/locate") {
			found = true
		}
	}
	if !found {
		t.Errorf("no journalled LED error naming the disk and the file: %+v", recs)
	}
}

// Abort turns off the LED the run lit; ledctl's argv is derived from the typed operands.
func TestAbortTurnsOffLedctlLED(t *testing.T) {
	w := ledWorld(plantest.LedctlBay())
	p := build(t, w.Sys(), seedReq())
	exp := seedExpect(w)
	r := hosttest.NewFakeRunner(t, append(exp[:3:3],
		hosttest.Expect{Argv: []string{host.Ledctl, "locate=/dev/vdb"}},
		hosttest.Expect{Argv: []string{host.Ledctl, "locate_off=/dev/vdb"}})...)
	o := options(t, w, r, t.TempDir())
	o.LEDs = SysLEDs{Root: host.NewRoot(t.TempDir()), Runner: r}
	o.StopAfter = stepID(p, plan.ActionLocate)
	res, err := Apply(context.Background(), p, o)
	if !errors.Is(err, ErrStopped) {
		t.Fatal(err)
	}
	said, err := Abort(res.Journal, &fakeSpeed{}, o.LEDs)
	if err != nil {
		t.Fatal(err)
	}
	if len(said) != 1 || said[0] != "turned off the locate LED of the bay of /dev/vdb as ledctl finds it" {
		t.Errorf("said %q", said)
	}
	if got := strings.Join(ledNotes(t, res.Journal), " "); got != "locate=on abort=off" {
		t.Errorf("journalled LED changes: %s", got)
	}
}

// --replace locates the old disk after verifying: the led-off step after the pull turns the
// LED off.
func TestReplaceWorkingLEDOffAfterPull(t *testing.T) {
	w := plantest.NewWorld(plantest.WithBays(plantest.Working(), map[string]*identify.Bay{plantest.Old: plantest.EnclosureBay("Slot 02", 2)}))
	root, locate := ledTree(t)
	// The operator pulls the old disk once its bay is lit.
	w.When(func(*discover.System) bool { return locate("Slot 02") == "1" }, func(w *plantest.World) { w.Pull(plantest.Old) })
	p := build(t, w.Sys(), plan.Request{Mode: plan.ReplaceWorking, Failed: plantest.Old, New: plantest.New,
		Swap: []plan.SwapPartition{{Partition: 4, UUID: plantest.SwapUUID, Active: true}}})
	r := hosttest.NewFakeRunner(t,
		hosttest.Expect{Argv: []string{"/sbin/mdadm", "--zero-superblock", "/dev/vdc2", "/dev/vdc3"}},
		hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md0", "--add", "/dev/vdc2"}, Do: func() { w.Add("md0", "vdc2", "vdc") }},
		hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md0", "--replace", "/dev/vdb2", "--with", "/dev/vdc2"}, Do: func() { w.Replace("md0", "vdb2", "vdc2") }},
		hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md1", "--add", "/dev/vdc3"}, Do: func() { w.Add("md1", "vdc3", "vdc") }},
		hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md1", "--replace", "/dev/vdb3", "--with", "/dev/vdc3"}, Do: func() { w.Replace("md1", "vdb3", "vdc3") }},
		hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md0", "--fail", "/dev/vdb2", "--remove", "/dev/vdb2"}, Do: func() { w.FailRemove("md0", "vdb2") }},
		hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md1", "--fail", "/dev/vdb3", "--remove", "/dev/vdb3"}, Do: func() { w.FailRemove("md1", "vdb3") }},
		hosttest.Expect{Argv: []string{"/sbin/swapoff", "/dev/vdb4"}, Do: func() { w.SetSwap(plantest.Old, "vdb4", false) }},
		hosttest.Expect{Argv: []string{"/sbin/mkswap", "-U", plantest.SwapUUID, "/dev/vdc4"}},
		hosttest.Expect{Argv: []string{"/sbin/swapon", "/dev/vdc4"}, Do: func() { w.SetSwap(plantest.New, "vdc4", true) }},
		hosttest.Expect{Argv: []string{"/usr/sbin/grub-install", "--target=i386-pc", "--modules=part_gpt mdraid1x ext2", "/dev/vda"}},
		hosttest.Expect{Argv: []string{"/usr/sbin/grub-install", "--target=i386-pc", "--modules=part_gpt mdraid1x ext2", "/dev/vdc"}},
	)
	o := options(t, w, r, t.TempDir())
	o.LEDs = SysLEDs{Root: root, Runner: r}
	res, err := Apply(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	if locate("Slot 02") != "0" {
		t.Errorf("Slot 02 %s after the run", locate("Slot 02"))
	}
	if got := strings.Join(ledNotes(t, res.Journal), " "); got != "locate=on led-off=off" {
		t.Errorf("journalled LED changes: %s", got)
	}
}
