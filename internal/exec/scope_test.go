package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// sysTree writes a sysfs fixture: whole disks with partitions, loop devices over drill
// files, and md arrays with their members, laid out the way the kernel does (devices under
// /sys/devices, links in /sys/block and /sys/class/block).
type sysTree struct {
	t   *testing.T
	dir string
}

func (f sysTree) file(p, s string) {
	f.t.Helper()
	full := filepath.Join(f.dir, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f sysTree) link(p, target string) {
	f.t.Helper()
	full := filepath.Join(f.dir, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Symlink(target, full); err != nil {
		f.t.Fatal(err)
	}
}

// disk adds a whole disk with a sysfs serial and partitions 1..parts.
func (f sysTree) disk(name, serial string, parts int) {
	dev := "sys/devices/virtual/block/" + name
	f.file(dev+"/dev", "254:0\n")
	f.file(dev+"/size", "16777216\n")
	if serial != "" {
		f.file(dev+"/serial", serial+"\n")
	}
	if err := os.MkdirAll(filepath.Join(f.dir, dev, "slaves"), 0o755); err != nil {
		f.t.Fatal(err)
	}
	f.link("sys/block/"+name, "../devices/virtual/block/"+name)
	f.link("sys/class/block/"+name, "../../devices/virtual/block/"+name)
	for n := 1; n <= parts; n++ {
		p := blockstack.PartitionName(name, n)
		f.file(dev+"/"+p+"/partition", "1\n")
		f.file(dev+"/"+p+"/dev", "254:1\n")
		f.link("sys/class/block/"+p, "../../devices/virtual/block/"+name+"/"+p)
	}
}

// loop adds a drill disk of lab: a loop over <lab>/raidswap-drill-<serial>.img, the image
// made and recorded in the lab's marker as a drill makes it, and the inode behind the loop
// (what LOOP_GET_STATUS64 says) that image's.
func (f sysTree) loop(name, lab, serial string, parts int) {
	f.disk(name, "", parts)
	img := lab + "/" + identify.DrillFile(serial)
	f.file("sys/devices/virtual/block/"+name+"/loop/backing_file", img+"\n")
	f.file(img, "")
	dev, ino, _, _, err := identify.FileInode(filepath.Join(f.dir, img))
	if err != nil {
		f.t.Fatal(err)
	}
	f.file("sys/devices/virtual/block/"+name+"/"+identify.LoopBackingInodeFile, fmt.Sprintf("%d:%d\n", dev, ino))
	root := host.NewRoot(f.dir)
	m, err := identify.ReadDrillMarker(root, lab)
	if err != nil {
		m = identify.LabMarker{Tool: identify.DrillMarkerTool, ID: path.Base(lab), PID: 1}
	}
	m.Disks = append(m.Disks, identify.LabDisk{Serial: serial, File: img, SectorSize: 512, Dev: dev, Ino: ino})
	b, err := json.Marshal(m)
	if err != nil {
		f.t.Fatal(err)
	}
	f.file(lab+"/"+identify.DrillMarker, string(b))
}

// array adds md array name with UUID and members (partition names).
func (f sysTree) array(name, uuid string, members ...string) {
	dev := "sys/devices/virtual/block/" + name
	f.link("sys/block/"+name, "../devices/virtual/block/"+name)
	for k, v := range map[string]string{"level": "raid1", "array_state": "clean", "metadata_version": "1.2",
		"uuid": uuid, "raid_disks": "2", "degraded": "0", "sync_action": "idle", "sync_completed": "none"} {
		f.file(dev+"/md/"+k, v+"\n")
	}
	for i, m := range members {
		disk := strings.TrimRight(m, "0123456789")
		disk = strings.TrimSuffix(disk, "p")
		f.file(dev+"/md/dev-"+m+"/state", "in_sync\n")
		f.file(dev+"/md/dev-"+m+"/slot", string(rune('0'+i))+"\n")
		f.link(dev+"/md/dev-"+m+"/block", "../../../"+disk+"/"+m)
	}
}

const testLab = "/var/lib/raidswap/drill/drill-20261201-180000-ab12"

// hostTree is the seed's host disks and arrays (vda survivor, vdb failed, vdc the new disk)
// next to a lab with two drill disks and their own array.
func hostTree(t *testing.T) string {
	f := sysTree{t: t, dir: t.TempDir()}
	f.disk("vda", plantest.Survivor, 4)
	f.disk("vdb", plantest.Old, 4)
	f.disk("vdc", plantest.New, 4)
	f.array("md0", plantest.BootUUID, "vda2", "vdb2")
	f.array("md1", plantest.RootUUID, "vda3", "vdb3")
	f.loop("loop0", testLab, "DRILL-A0001", 3)
	f.loop("loop1", testLab, "DRILL-B0002", 3)
	f.array("md126", "11111111:22222222:33333333:44444444", "loop0p2", "loop1p2")
	return f.dir
}

// TestScopeRefusesHostSteps: a drill's run (Options.Scope) refuses every step of a plan for
// the host's arrays, naming the host disk's device and serial and the lab, whatever the
// step: detach, add, partition clone, bootloader, swap, zero-superblock.
func TestScopeRefusesHostSteps(t *testing.T) {
	dir := hostTree(t)
	sys := plantest.Seed()
	sys.Root = dir
	w := plantest.NewWorld(sys)
	p := build(t, w.Sys(), seedReq())
	live := w.Sys()
	live.Disks = append(live.Disks, plantest.BlankDisk("vdc", plantest.New))
	live.Disks[len(live.Disks)-1].Partitions = []string{"vdc1", "vdc2", "vdc3", "vdc4"}
	wd := &world{sys: live, newSerial: plantest.New, scope: &discover.Scope{Lab: testLab, BootMount: testLab + "/boot"}}
	seen := map[plan.Action]bool{}
	for _, s := range p.Steps {
		err := wd.checkScope(p, s)
		if s.Action == plan.ActionAwaitNewDisk || s.Action == plan.ActionAwaitRebuild && len(s.Preconditions)+len(s.Postconditions) == 0 {
			continue
		}
		var re *RefusedError
		if !errors.As(err, &re) {
			if s.Action == plan.ActionPreflight || s.Action == plan.ActionCheckNewDisk || s.Action == plan.ActionVerify || s.Action == plan.ActionLocate ||
				s.Action == plan.ActionAwaitRemoval || s.Action == plan.ActionAwaitRebuild || s.Action == plan.ActionRaiseSpeed || s.Action == plan.ActionRestoreSpeed {
				continue // these name host devices only in passing; the steps that act are refused
			}
			t.Errorf("step %s (%s): %v, want refused", s.ID, s.Action, err)
			continue
		}
		seen[s.Action] = true
		if !strings.Contains(re.Reason, "not one of this drill's disks (lab "+testLab+")") || !strings.HasPrefix(re.Device, "/dev/vd") || re.Serial == "" {
			t.Errorf("step %s (%s): %q, want the host device, its serial and the lab", s.ID, s.Action, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("step %s: refusal is more than one line: %q", s.ID, err)
		}
		// The same refusal comes from checkSafety, which the in-process steps call right
		// before they write.
		if err2 := wd.checkSafety(p, s); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("step %s: checkSafety says %v, checkScope %v", s.ID, err2, err)
		}
	}
	for _, a := range []plan.Action{plan.ActionDetach, plan.ActionAddMember, plan.ActionPartitionClone, plan.ActionBootloader,
		plan.ActionSwapOff, plan.ActionZeroSuperblock, plan.ActionMkswap} {
		if !seen[a] {
			t.Errorf("no %s step was refused", a)
		}
	}
	// The detach names the failed disk's member by device and serial.
	for _, s := range p.Steps {
		if s.Action == plan.ActionDetach {
			err := wd.checkScope(p, s)
			if want := "refusing to write /dev/vdb2 (" + plantest.Old + "): not one of this drill's disks (lab " + testLab + ")"; err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("detach: %v, want %q", err, want)
			}
			break
		}
	}
}

// TestScopeApplyRefusesFirstStep: applying the host's plan under a drill's scope stops at its
// first step that names a device, after the preflight (which writes nothing), with the
// refusal journalled; the fake runner (which fails the test on any command) and the cloner
// saw nothing.
func TestScopeApplyRefusesFirstStep(t *testing.T) {
	dir := hostTree(t)
	sys := plantest.Seed()
	sys.Root = dir
	w := plantest.NewWorld(sys)
	p := build(t, w.Sys(), seedReq())
	r := hosttest.NewFakeRunner(t)
	o := options(t, w, r, t.TempDir())
	o.Scope = &discover.Scope{Lab: testLab, BootMount: testLab + "/boot"}
	res, err := Apply(context.Background(), p, o)
	var re *RefusedError
	if !errors.As(err, &re) || re.Step != p.Steps[1].ID || re.Device != "/dev/vdb4" || re.Serial != plantest.Old {
		t.Fatalf("err = %v, want step %s refused on /dev/vdb4 (%s)", err, p.Steps[1].ID, plantest.Old)
	}
	if len(res.Ran) != 1 || res.Ran[0] != p.Steps[0].ID {
		t.Errorf("ran %v", res.Ran)
	}
	if c := o.Cloner.(*fakeCloner); len(c.calls) != 0 {
		t.Errorf("cloner called: %v", c.calls)
	}
	recs, lerr := journal.Load(res.Journal)
	if lerr != nil {
		t.Fatal(lerr)
	}
	last := recs[len(recs)-1]
	if last.Event != journal.EventRefused || !strings.Contains(last.Error, "not one of this drill's disks") {
		t.Errorf("journal ends with %+v", last)
	}
}

// TestScopeAllowsLab: the same checks let a step on the lab's own disks and arrays through,
// and an invalid scope refuses everything.
func TestScopeAllowsLab(t *testing.T) {
	dir := hostTree(t)
	sys := &discover.System{Root: dir, Disks: []discover.Disk{
		{Name: "loop0", Serial: "DRILL-A0001", Present: true, Partitions: []string{"loop0p1", "loop0p2", "loop0p3"}, Drill: testLab},
		{Name: "loop1", Serial: "DRILL-B0002", Present: true, Partitions: []string{"loop1p1", "loop1p2", "loop1p3"}, Drill: testLab},
	}}
	p := &plan.Plan{Disks: plan.Disks{Survivor: plan.DiskRef{Device: "loop0", Serial: "DRILL-A0001"}}}
	detach := plan.Step{ID: "detach-md126-loop1p2", Action: plan.ActionDetach,
		Target: plan.Target{Device: "loop1p2", Serial: "DRILL-B0002", Array: "md126", ArrayUUID: "11111111:22222222:33333333:44444444"}}
	boot := plan.Step{ID: "bootloader-loop0", Action: plan.ActionBootloader,
		Target: plan.Target{Device: "loop0", Serial: "DRILL-A0001", Array: "md126", ArrayUUID: "11111111:22222222:33333333:44444444", BootDir: testLab + "/boot"}}
	w := &world{sys: sys, scope: &discover.Scope{Lab: testLab, BootMount: testLab + "/boot"}}
	for _, s := range []plan.Step{detach, boot} {
		if err := w.checkScope(p, s); err != nil {
			t.Errorf("%s: %v", s.ID, err)
		}
	}
	// Another lab's scope, a boot directory outside the lab, a hostile lab path.
	other := &world{sys: sys, scope: &discover.Scope{Lab: "/var/lib/raidswap/drill/other"}}
	if err := other.checkScope(p, detach); err == nil || !strings.Contains(err.Error(), "refusing to write /dev/loop1p2 (DRILL-B0002): not one of this drill's disks (lab /var/lib/raidswap/drill/other)") {
		t.Errorf("other lab: %v", err)
	}
	boot.Target.BootDir = "/boot"
	if err := w.checkScope(p, boot); err == nil || !strings.Contains(err.Error(), "outside the drill's lab") {
		t.Errorf("boot dir outside: %v", err)
	}
	for _, lab := range []string{"", "relative/lab", "/var/lib/../lib/raidswap", "/"} {
		bad := &world{sys: sys, scope: &discover.Scope{Lab: lab}}
		if err := bad.checkScope(p, detach); err == nil {
			t.Errorf("lab %q: allowed", lab)
		}
	}
	// Debconf and EFI variables are the host's.
	for _, a := range []plan.Action{plan.ActionDebconfDevices, plan.ActionEFIEntry, plan.ActionEFIBootOrder} {
		if err := w.checkScope(p, plan.Step{ID: string(a), Action: a}); err == nil {
			t.Errorf("%s allowed under a scope", a)
		}
	}
	// An array with a member outside the lab is refused by its member.
	f := sysTree{t: t, dir: dir}
	f.array("md125", "55555555:66666666:77777777:88888888", "loop0p3", "vda1")
	mixed := plan.Step{ID: "add-md125", Action: plan.ActionAddMember,
		Target: plan.Target{Device: "loop1p3", Serial: "DRILL-B0002", Array: "md125", ArrayUUID: "55555555:66666666:77777777:88888888"}}
	if err := w.checkScope(p, mixed); err == nil || !strings.Contains(err.Error(), "/dev/vda1 ("+plantest.Survivor+")") || !strings.Contains(err.Error(), "md125's member vda1") {
		t.Errorf("mixed array: %v", err)
	}
}

// TestScopeApplyRefusesEachAction: a plan that starts at a detach, an add, the partition
// clone or a bootloader step (re-sealed with the host's key, as root could) is refused under
// the drill's scope at that step, naming the host device and its serial; nothing runs.
func TestScopeApplyRefusesEachAction(t *testing.T) {
	for _, tt := range []struct {
		action plan.Action
		device string
		serial string
	}{
		{plan.ActionDetach, "/dev/vdb2", plantest.Old},
		{plan.ActionAddMember, "/dev/vdc2", plantest.New},
		{plan.ActionPartitionClone, "/dev/vdc", plantest.New},
		{plan.ActionBootloader, "/dev/vda", plantest.Survivor},
	} {
		t.Run(string(tt.action), func(t *testing.T) {
			sys := plantest.Seed()
			sys.Root = hostTree(t)
			nd := plantest.BlankDisk("vdc", plantest.New)
			if tt.action != plan.ActionPartitionClone {
				// Partitioned already (a resumed run), so the later steps are reached.
				nd.Partitions = []string{"vdc1", "vdc2", "vdc3", "vdc4"}
			}
			sys.Disks = append(sys.Disks, nd)
			w := plantest.NewWorld(sys)
			req := seedReq()
			req.Wipe = true
			p := build(t, w.Sys(), req)
			i := slices.IndexFunc(p.Steps, func(s plan.Step) bool { return s.Action == tt.action })
			if i < 0 {
				t.Fatalf("no %s step", tt.action)
			}
			p.Steps = p.Steps[i:]
			if err := p.Seal(testKey); err != nil {
				t.Fatal(err)
			}
			r := hosttest.NewFakeRunner(t) // any command fails the test
			o := options(t, w, r, t.TempDir())
			o.Scope = &discover.Scope{Lab: testLab}
			res, err := Apply(context.Background(), p, o)
			var re *RefusedError
			if !errors.As(err, &re) || re.Step != p.Steps[0].ID || re.Device != tt.device || re.Serial != tt.serial ||
				re.Reason != "not one of this drill's disks (lab "+testLab+")" {
				t.Fatalf("err = %v, want step %s refused on %s (%s)", err, p.Steps[0].ID, tt.device, tt.serial)
			}
			if res != nil && len(res.Ran) != 0 {
				t.Errorf("ran %v", res.Ran)
			}
			if c := o.Cloner.(*fakeCloner); len(c.calls) != 0 {
				t.Errorf("cloner called: %v", c.calls)
			}
		})
	}
}

// TestScopeRefusesSwappedImage: a loop named like the lab's disk is written only when the
// file the kernel holds behind it is the image raidswap made, the image's path still names
// it with one link, and no other loop shares it (issue 18: two "disks" were one host file).
func TestScopeRefusesSwappedImage(t *testing.T) {
	detach := plan.Step{ID: "detach-md126-loop1p2", Action: plan.ActionDetach,
		Target: plan.Target{Device: "loop1p2", Serial: "DRILL-B0002", Array: "md126", ArrayUUID: "11111111:22222222:33333333:44444444"}}
	p := &plan.Plan{Disks: plan.Disks{Survivor: plan.DiskRef{Device: "loop0", Serial: "DRILL-A0001"}}}
	for name, tc := range map[string]struct {
		swap func(t *testing.T, dir string)
		want string
	}{
		"loop attached to another file": {func(t *testing.T, dir string) {
			host := filepath.Join(dir, "srv/host.img")
			sysTree{t: t, dir: dir}.file("srv/host.img", "host data")
			dev, ino, _, _, _ := identify.FileInode(host)
			sysTree{t: t, dir: dir}.file("sys/devices/virtual/block/loop1/"+identify.LoopBackingInodeFile, fmt.Sprintf("%d:%d\n", dev, ino))
		}, "/dev/loop1 is attached to inode "},
		"image replaced by a link": {func(t *testing.T, dir string) {
			img := filepath.Join(dir, testLab, identify.DrillFile("DRILL-B0002"))
			sysTree{t: t, dir: dir}.file("srv/host.img", "host data")
			if err := os.Remove(img); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(filepath.Join(dir, "srv/host.img"), img); err != nil {
				t.Fatal(err)
			}
		}, "it was replaced"},
		"a second link to the image": {func(t *testing.T, dir string) {
			if err := os.Link(filepath.Join(dir, testLab, identify.DrillFile("DRILL-B0002")), filepath.Join(dir, "srv-link")); err != nil {
				t.Fatal(err)
			}
		}, "has 2 links"},
		"two loops on one file": {func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "sys/devices/virtual/block/loop1/"+identify.LoopBackingInodeFile))
			sysTree{t: t, dir: dir}.file("sys/devices/virtual/block/loop0/"+identify.LoopBackingInodeFile, string(b))
		}, "are attached to one file"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := hostTree(t)
			sys := &discover.System{Root: dir}
			w := &world{sys: sys, scope: &discover.Scope{Lab: testLab, BootMount: testLab + "/boot"}}
			if err := w.checkScope(p, detach); err != nil {
				t.Fatalf("before the swap: %v", err)
			}
			tc.swap(t, dir)
			err := w.checkScope(p, detach)
			var re *RefusedError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), "not one of this drill's disks (lab "+testLab+")") ||
				!strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err %v, want refused with %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}
