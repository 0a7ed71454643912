package plan

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

var testOpts = Options{Version: "test", Key: []byte("raidswap plan test key, 32 bytes"), Now: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)}

func seedSwap() []SwapPartition {
	return []SwapPartition{{Partition: 4, UUID: plantest.SwapUUID, Active: true}}
}

type scenario struct {
	name string
	sys  func() *discover.System
	req  Request
	// argv is the plan's command sequence, one line per step with a command.
	argv []string
}

var scenarios = []scenario{
	{
		name: "seed",
		sys:  plantest.Seed,
		req:  Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS, Swap: seedSwap()},
		argv: []string{
			"/sbin/swapoff /dev/vdb4",
			"/sbin/mdadm /dev/md0 --fail /dev/vdb2 --remove /dev/vdb2",
			"/sbin/mdadm /dev/md1 --fail /dev/vdb3 --remove /dev/vdb3",
			"raidswap partition clone --from /dev/vda --to {new}",
			"/sbin/mdadm --zero-superblock {new:2} {new:3}",
			"/sbin/mdadm /dev/md0 --add {new:2}",
			"/sbin/mdadm /dev/md1 --add {new:3}",
			"/sbin/mkswap -U " + plantest.SwapUUID + " {new:4}",
			"/sbin/swapon {new:4}",
			"/usr/sbin/grub-install --target=i386-pc '--modules=part_gpt mdraid1x ext2' /dev/vda",
			"/usr/sbin/grub-install --target=i386-pc '--modules=part_gpt mdraid1x ext2' {new}",
		},
	},
	{
		name: "vanished",
		sys:  plantest.Vanished,
		req:  Request{Mode: ReplaceFailed, Failed: plantest.Old, Firmware: FirmwareBIOS, Swap: []SwapPartition{{Partition: 4, UUID: plantest.SwapUUID}}},
		argv: []string{
			"/sbin/mdadm /dev/md0 --fail detached --remove detached",
			"/sbin/mdadm /dev/md1 --fail detached --remove detached",
			"raidswap partition clone --from /dev/vda --to {new}",
			"/sbin/mdadm --zero-superblock {new:2} {new:3}",
			"/sbin/mdadm /dev/md0 --add {new:2}",
			"/sbin/mdadm /dev/md1 --add {new:3}",
			"/sbin/mkswap -U " + plantest.SwapUUID + " {new:4}",
			"/sbin/swapon {new:4}",
			"/usr/sbin/grub-install --target=i386-pc '--modules=part_gpt mdraid1x ext2' /dev/vda",
			"/usr/sbin/grub-install --target=i386-pc '--modules=part_gpt mdraid1x ext2' {new}",
		},
	},
	{
		name: "vanished-gone",
		sys:  plantest.VanishedGone,
		req:  Request{Mode: ReplaceFailed, Failed: "vdb", Firmware: FirmwareBIOS},
		argv: []string{
			"/sbin/mdadm /dev/md0 --fail detached --remove detached",
			"/sbin/mdadm /dev/md1 --fail detached --remove detached",
			"raidswap partition clone --from /dev/vda --to {new}",
			"/sbin/mdadm --zero-superblock {new:2} {new:3}",
			"/sbin/mdadm /dev/md0 --add {new:2}",
			"/sbin/mdadm /dev/md1 --add {new:3}",
			"/usr/sbin/grub-install --target=i386-pc '--modules=part_gpt mdraid1x ext2' /dev/vda",
			"/usr/sbin/grub-install --target=i386-pc '--modules=part_gpt mdraid1x ext2' {new}",
		},
	},
	{
		name: "partial",
		sys:  plantest.Partial,
		req:  Request{Mode: ReplaceFailed, Failed: "/dev/vdb", New: plantest.New, Firmware: FirmwareBIOS},
		argv: []string{
			"/sbin/swapoff /dev/vdb4",
			"/sbin/mdadm /dev/md0 --fail /dev/vdb2 --remove /dev/vdb2",
			"/sbin/mdadm /dev/md1 --fail /dev/vdb3 --remove /dev/vdb3",
			"raidswap partition clone --from /dev/vda --to {new}",
			"/sbin/mdadm --zero-superblock {new:2} {new:3}",
			"/sbin/mdadm /dev/md0 --add {new:2}",
			"/sbin/mdadm /dev/md1 --add {new:3}",
			"/usr/sbin/grub-install --target=i386-pc '--modules=part_gpt mdraid1x ext2' /dev/vda",
			"/usr/sbin/grub-install --target=i386-pc '--modules=part_gpt mdraid1x ext2' {new}",
		},
	},
	{
		name: "replace-working",
		sys:  plantest.Working,
		req:  Request{Mode: ReplaceWorking, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS, Swap: seedSwap(), RebuildSpeedKiB: 200000},
		argv: []string{
			"raidswap partition clone --from /dev/vda --to {new}",
			"/sbin/mdadm --zero-superblock {new:2} {new:3}",
			"/sbin/mdadm /dev/md0 --add {new:2}",
			"/sbin/mdadm /dev/md0 --replace /dev/vdb2 --with {new:2}",
			"/sbin/mdadm /dev/md1 --add {new:3}",
			"/sbin/mdadm /dev/md1 --replace /dev/vdb3 --with {new:3}",
			"/sbin/mdadm /dev/md0 --fail /dev/vdb2 --remove /dev/vdb2",
			"/sbin/mdadm /dev/md1 --fail /dev/vdb3 --remove /dev/vdb3",
			"/sbin/swapoff /dev/vdb4",
			"/sbin/mkswap -U " + plantest.SwapUUID + " {new:4}",
			"/sbin/swapon {new:4}",
			"/usr/sbin/grub-install --target=i386-pc '--modules=part_gpt mdraid1x ext2' /dev/vda",
			"/usr/sbin/grub-install --target=i386-pc '--modules=part_gpt mdraid1x ext2' {new}",
		},
	},
	{
		// Issue 17: md2 is built over whole disks; no table is cloned, the whole new disk
		// is cleared and added.
		name: "whole-disk",
		sys:  plantest.WholeDisk,
		req:  Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS},
		argv: []string{
			"/sbin/mdadm /dev/md2 --fail /dev/vdd --remove /dev/vdd",
			"/sbin/mdadm --zero-superblock {new}",
			"/sbin/mdadm /dev/md2 --add {new}",
		},
	},
	{
		name: "whole-disk-working",
		sys:  plantest.WholeDiskWorking,
		req:  Request{Mode: ReplaceWorking, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS},
		argv: []string{
			"/sbin/mdadm --zero-superblock {new}",
			"/sbin/mdadm /dev/md2 --add {new}",
			"/sbin/mdadm /dev/md2 --replace /dev/vdd --with {new}",
			"/sbin/mdadm /dev/md2 --fail /dev/vdd --remove /dev/vdd",
		},
	},
	{
		name: "re-add",
		sys:  plantest.Returned,
		req:  Request{Mode: ReAdd, Failed: plantest.Old, Firmware: FirmwareBIOS},
		argv: []string{
			"/sbin/mdadm --zero-superblock /dev/vdd2",
			"/sbin/mdadm /dev/md0 --add /dev/vdd2",
			"/sbin/mdadm /dev/md1 --re-add /dev/vdd3",
		},
	},
}

func commands(p *Plan) []string {
	var out []string
	for _, s := range p.Steps {
		if len(s.Argv) > 0 {
			out = append(out, Command(s.Argv))
		}
	}
	return out
}

func TestBuildScenarios(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			p, err := Build(sc.sys(), sc.req, testOpts)
			if err != nil {
				t.Fatal(err)
			}
			got := commands(p)
			if strings.Join(got, "\n") != strings.Join(sc.argv, "\n") {
				t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(sc.argv, "\n"))
			}
			// render_test.go checks the same file, and the text and markdown ones, through view.
			var b bytes.Buffer
			if err := p.Write(&b); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", sc.name+".json"), b.Bytes())
		})
	}
}

func TestSmallestArrayFirst(t *testing.T) {
	p, err := Build(plantest.Seed(), scenarios[0].req, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	var adds []string
	for _, s := range p.Steps {
		if s.Action == ActionAddMember {
			adds = append(adds, s.Target.Array)
		}
	}
	if strings.Join(adds, ",") != "md0,md1" {
		t.Errorf("add order %v, want md0 (/boot, smallest) first", adds)
	}
}

func TestBuildRefusals(t *testing.T) {
	noSurvivor := func() *discover.System {
		s := plantest.Seed()
		s.Arrays[0].Members[0].State = discover.MemberFaulty
		return plantest.Finish(s)
	}
	mountedNew := func() *discover.System {
		s := plantest.Working()
		s.Disks[2].Mounted = []string{"vdc1 on /mnt"}
		return s
	}
	smallNew := func() *discover.System {
		s := plantest.Working()
		s.Disks[2].SizeBytes = 1 << 30
		return s
	}
	usedNew := func() *discover.System {
		s := plantest.Working()
		s.Disks[2].Partitions = []string{"vdc1"}
		return s
	}
	// Ambiguous identity: two disks with one serial (a cheap USB bridge, a cloned virtual
	// disk), a disk without serial, a serial of garbage bytes.
	withDisk := func(base func() *discover.System, d discover.Disk) func() *discover.System {
		return func() *discover.System {
			s := base()
			s.Disks = append(s.Disks, d)
			return s
		}
	}
	twin := func(name, serial string, wwn string) discover.Disk {
		d := plantest.BlankDisk(name, serial)
		d.WWN = wwn
		return d
	}
	twinNew := withDisk(withDisk(plantest.Seed, twin("vdc", plantest.New, "0x5000c500000000c1")), twin("vdd", plantest.New, ""))
	twinSurvivor := withDisk(plantest.Seed, twin("vdd", plantest.Survivor, ""))
	noSerialFailed := func() *discover.System {
		s := plantest.Seed()
		s.Disks[1].Serial = ""
		for ai := range s.Arrays {
			for mi := range s.Arrays[ai].Members {
				if m := &s.Arrays[ai].Members[mi]; m.Disk != nil && *m.Disk == "vdb" {
					m.Serial = ""
				}
			}
		}
		return s
	}
	garbageNew := withDisk(plantest.Seed, twin("vdc", "WD\x01\xff7", ""))
	bios := FirmwareBIOS
	tests := []struct {
		name string
		sys  func() *discover.System
		req  Request
		want string
		kind any
	}{
		{"survivor as new", plantest.Seed, Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.Survivor, Firmware: bios},
			"vda (WD-SURV): is the survivor", &InputError{}},
		{"partition as disk", plantest.Seed, Request{Mode: ReplaceFailed, Failed: "/dev/vdb2", Firmware: bios},
			"/dev/vdb2 (WD-OLD): is a partition of vdb (WD-OLD)", &InputError{}},
		{"md as disk", plantest.Seed, Request{Mode: ReplaceFailed, Failed: "md1", Firmware: bios},
			"/dev/md1: is an md array", &InputError{}},
		{"md as new disk", plantest.Seed, Request{Mode: ReplaceFailed, Failed: plantest.Old, New: "/dev/md0", Firmware: bios},
			"/dev/md0: is an md array", &InputError{}},
		{"unknown disk", plantest.Seed, Request{Mode: ReplaceFailed, Failed: "WD-NOPE", Firmware: bios},
			"WD-NOPE: no disk", &InputError{}},
		{"no in_sync member left", noSurvivor, Request{Mode: ReplaceFailed, Failed: plantest.Old, Firmware: bios},
			"md1 (uuid " + plantest.RootUUID + ") has FAILED: raid1, 2 of 2 slots lost", &UnsafeError{}},
		{"new disk mounted", mountedNew, Request{Mode: ReplaceWorking, Failed: plantest.Old, New: plantest.New, Firmware: bios},
			"vdc (WD-NEW): it holds vdc1, mounted at /mnt", &InputError{}},
		{"new disk too small", smallNew, Request{Mode: ReplaceWorking, Failed: plantest.Old, New: "vdc", Firmware: bios},
			"vdc (WD-NEW): is too small", &InputError{}},
		{"new disk holds data", usedNew, Request{Mode: ReplaceWorking, Failed: plantest.Old, New: plantest.New, Firmware: bios},
			"vdc (WD-NEW): holds data (partitions vdc1); check it is the right disk, then give --wipe", &InputError{}},
		{"new disk in an array", plantest.Working, Request{Mode: ReplaceWorking, Failed: plantest.New, New: plantest.Old, Firmware: bios},
			"vdc (WD-NEW): is in no md array", &InputError{}},
		{"failed disk as new", plantest.Seed, Request{Mode: ReplaceFailed, Failed: plantest.Old, New: "vdb", Firmware: bios},
			"vdb (WD-OLD): is the failed disk itself", &InputError{}},
		{"new device not attached", plantest.Seed, Request{Mode: ReplaceFailed, Failed: plantest.Old, New: "/dev/vdq", Firmware: bios},
			"/dev/vdq: no such disk is attached", &InputError{}},
		{"re-add of an absent disk", plantest.Vanished, Request{Mode: ReAdd, Failed: plantest.Old, Firmware: bios},
			"vdb (WD-OLD): is not attached", &InputError{}},
		{"no mode", plantest.Seed, Request{Failed: plantest.Old, Firmware: bios}, "no mode", &InputError{}},
		{"new serial on two disks", twinNew, Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: bios},
			`WD-NEW: names more than one disk: 2 disks report serial "WD-NEW" (vdc, vdd), so raidswap cannot tell them apart by serial; tell them apart by WWN (vdc 0x5000c500000000c1, vdd none), by-path (vdc pci-0000:00:0c.0, vdd pci-0000:00:0d.0) or size (vdc 8589934592 bytes, vdd 8589934592 bytes)`, &InputError{}},
		{"new disk by name, serial on two disks", twinNew, Request{Mode: ReplaceFailed, Failed: plantest.Old, New: "/dev/vdd", Firmware: bios},
			`vdd (WD-NEW): refusing to write to a disk that cannot be identified: 2 disks report serial "WD-NEW" (vdc, vdd)`, &InputError{}},
		{"survivor serial on two disks", twinSurvivor, Request{Mode: ReplaceFailed, Failed: plantest.Old, Firmware: bios},
			`refusing to plan: the survivor cannot be identified: 2 disks report serial "WD-SURV" (vda, vdd)`, &UnsafeError{}},
		{"failed disk without serial", noSerialFailed, Request{Mode: ReplaceFailed, Failed: "vdb", Firmware: bios},
			"vdb: refusing to plan on a disk that cannot be identified: vdb reports no serial, so raidswap cannot confirm which drive it is; tell it apart by WWN (none), by-path (pci-0000:00:0b.0) or size", &InputError{}},
		{"new disk with a garbage serial", garbageNew, Request{Mode: ReplaceFailed, Failed: plantest.Old, New: "vdc", Firmware: bios},
			`refusing to write to a disk that cannot be identified: the serial of vdc, "WD\x01\xff7", holds bytes that are not printable text`, &InputError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.sys(), tt.req, testOpts)
			if err == nil {
				t.Fatalf("Build succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			switch tt.kind.(type) {
			case *InputError:
				var e *InputError
				if !errors.As(err, &e) {
					t.Errorf("error %T, want *InputError", err)
				}
			case *UnsafeError:
				var e *UnsafeError
				if !errors.As(err, &e) {
					t.Errorf("error %T, want *UnsafeError", err)
				}
			}
		})
	}
}

func TestPartitionNames(t *testing.T) {
	for _, tt := range []struct {
		disk string
		n    int
		name string
	}{{"sdb", 3, "sdb3"}, {"nvme0n1", 2, "nvme0n1p2"}, {"vdaa", 12, "vdaa12"}} {
		if got := blockstack.PartitionName(tt.disk, tt.n); got != tt.name {
			t.Errorf("blockstack.PartitionName(%q,%d) = %q", tt.disk, tt.n, got)
		}
		if got := PartitionNumber(tt.disk, tt.name); got != tt.n {
			t.Errorf("PartitionNumber(%q,%q) = %d", tt.disk, tt.name, got)
		}
	}
	if PartitionNumber("sdb", "sdba1") != 0 || PartitionNumber("nvme0n1", "nvme0n12") != 0 || PartitionNumber("sdb", "sdb") != 0 {
		t.Error("PartitionNumber accepted a device that is not a partition of the disk")
	}
	got, err := Expand([]string{"mdadm", "/dev/md0", "--add", "{new:2}", "{new}"}, "nvme1n1")
	if err != nil || strings.Join(got, " ") != "mdadm /dev/md0 --add /dev/nvme1n1p2 /dev/nvme1n1" {
		t.Errorf("Expand = %v, %v", got, err)
	}
	if _, err := Expand([]string{"{new:2}"}, ""); err == nil {
		t.Error("Expand without a new disk succeeded")
	}
	if _, err := Expand([]string{"{new:x}"}, "vdc"); err == nil {
		t.Error("Expand accepted a bad placeholder")
	}
}

// TestReAddDetachesStaleMember: a member whose device has gone, remembered as the returning
// disk's, is detached before the re-add (mdadm refuses the re-add while md still lists it).
func TestReAddDetachesStaleMember(t *testing.T) {
	p, err := Build(plantest.ReturnedStale(), Request{Mode: ReAdd, Failed: plantest.Old, Firmware: FirmwareBIOS}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(commands(p), "\n")
	want := "/sbin/mdadm /dev/md0 --fail detached --remove detached"
	add := strings.Index(got, "/dev/md0 --add")
	if add < 0 {
		add = strings.Index(got, "/dev/md0 --re-add")
	}
	if !strings.Contains(got, want) || add < 0 || strings.Index(got, want) > add {
		t.Errorf("commands:\n%s\nwant %q before md0's add", got, want)
	}
}

// Where /boot lives is part of what a plan is bound to: /boot mounted after the plan was
// made (or unmounted, or moved to another array) makes the plan stale.
func TestBootPlacementMakesPlanStale(t *testing.T) {
	sys := plantest.Seed()
	sys.Host.Boot.Boot.Array, sys.Host.Boot.Boot.From = "md0", "fstab"
	p, err := Build(sys, Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS, Swap: seedSwap()}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckFresh(sys); err != nil {
		t.Fatalf("unchanged system: %v", err)
	}
	for name, change := range map[string]func(s *discover.System){
		"mounted": func(s *discover.System) { s.Host.Boot.Boot.From, s.Host.Boot.Boot.Mountpoint = "mounted", "/boot" },
		"moved":   func(s *discover.System) { s.Host.Boot.Boot.Array, s.Host.Boot.Boot.OnRoot = "md1", true },
		"gone":    func(s *discover.System) { s.Host.Boot.Boot = sys.Host.Boot.Boot; s.Host.Boot.Boot.Array = "" },
	} {
		now := plantest.Seed()
		now.Host.Boot.Boot = sys.Host.Boot.Boot
		change(now)
		var se *StaleError
		if err := p.CheckFresh(now); !errors.As(err, &se) || !strings.Contains(err.Error(), "boot array=") {
			t.Errorf("%s: err = %v, want a stale plan naming the boot line", name, err)
		}
	}
}

// A survivor member stacked on its partition (a drill's dm table over vda3) is planned from
// that partition; without it named, the plan refuses: it cannot clone a layout it cannot see.
func TestSurvivorMemberOnDM(t *testing.T) {
	req := Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS, Swap: seedSwap()}
	want, err := Build(plantest.Seed(), req, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	stack := func(partition string) *discover.System {
		sys := plantest.Seed()
		for ai := range sys.Arrays {
			for mi := range sys.Arrays[ai].Members {
				m := &sys.Arrays[ai].Members[mi]
				if m.Device != nil && *m.Device == "vda3" {
					dm := "dm-0"
					m.Device, m.Partition = &dm, partition
				}
			}
		}
		return sys
	}
	got, err := Build(stack("vda3"), req, testOpts)
	if err != nil {
		t.Fatalf("stacked member: %v", err)
	}
	if g, w := strings.Join(commands(got), "\n"), strings.Join(commands(want), "\n"); g != w {
		t.Errorf("stacked member's plan:\n%s\nwant:\n%s", g, w)
	}
	if _, err := Build(stack(""), req, testOpts); err == nil || !strings.Contains(err.Error(), "is not a partition of it") {
		t.Errorf("unnamed stacked member: err = %v", err)
	}
}
