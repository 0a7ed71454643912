package plan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// Three disks as in issue 17: vda (WD-SURV), vdb (WD-B), vdc (WD-OLD, the disk coming out);
// md1 is a raid5 over partition 3 of each, md0 a raid1 over partition 2 of each. The new disk
// vdd (WD-NEW) is attached when withNew.
func threeDisks(withNew bool, md0, md1 []discover.Member, level1 string) *discover.System {
	disks := []discover.Disk{plantest.Disk("vda", plantest.Survivor), plantest.Disk("vdb", "WD-B"), plantest.Disk("vdc", plantest.Old)}
	if withNew {
		disks = append(disks, plantest.BlankDisk("vdd", plantest.New))
	}
	return plantest.Finish(&discover.System{
		Arrays: []discover.Array{
			{Name: "md0", UUID: plantest.BootUUID, Level: "raid1", Metadata: "1.2", RaidDisks: 3, Members: md0, SizeKiB: plantest.BootKiB, Bitmap: "none", MDDegraded: -1},
			{Name: "md1", UUID: plantest.RootUUID, Level: level1, Metadata: "1.2", RaidDisks: 3, Members: md1, SizeKiB: plantest.RootKiB, Bitmap: "none", MDDegraded: -1},
		},
		Disks: disks,
	})
}

var (
	inSync = discover.MemberInSync
	faulty = discover.MemberFaulty
)

// issue17 is the case that took a RAID5 offline: md1 already misses WD-B's member, and
// WD-OLD's member of md0 has failed while its md1 member is still in sync.
func issue17(withNew bool) *discover.System {
	return threeDisks(withNew,
		[]discover.Member{plantest.Member("vda2", "vda", "", 0, inSync), plantest.Member("vdb2", "vdb", "", 1, inSync), plantest.Member("vdc2", "vdc", "", -1, faulty)},
		[]discover.Member{plantest.Member("vda3", "vda", "", 0, inSync), plantest.Missing(1, "WD-B"), plantest.Member("vdc3", "vdc", "", 2, inSync)},
		"raid5")
}

func argvLines(p *Plan) string {
	var out []string
	for _, s := range p.Steps {
		if len(s.Argv) > 0 {
			out = append(out, strings.Join(s.Argv, " "))
		}
	}
	return strings.Join(out, "\n")
}

func TestBuildRedundancy(t *testing.T) {
	for _, c := range []struct {
		name string
		sys  *discover.System
		req  Request
		// err is a part of the refusal; empty means a plan is made.
		err string
		// has and hasNot are parts of the plan's commands (and, for has, its notes and reasons).
		has, hasNot []string
	}{
		{name: "raid5 degraded elsewhere, no new disk: refused naming md1",
			sys: issue17(false), req: Request{Mode: ReplaceFailed, Failed: plantest.Old, Firmware: FirmwareBIOS},
			err: "md1 (raid5, 1 of 3 slots lost, can lose no more) still needs vdc (WD-OLD)'s in_sync member vdc3: failing or removing it would stop md1"},
		{name: "the refusal says what restores md1 first",
			sys: issue17(false), req: Request{Mode: ReplaceFailed, Failed: plantest.Old, Firmware: FirmwareBIOS},
			err: "restore md1's redundancy first (replace the disk of slot 1 (WD-B))"},
		{name: "raid5 degraded elsewhere, new disk beside it: md1 recovers onto it before vdc3 goes",
			sys: issue17(true), req: Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS},
			has: []string{"/sbin/mdadm /dev/md1 --add {new:3}\n/sbin/mdadm /dev/md1 --fail /dev/vdc3 --remove /dev/vdc3", "/sbin/mdadm /dev/md0 --fail /dev/vdc2 --remove /dev/vdc2", "md1 stays degraded after this plan: slot 1 (WD-B)",
				"md1 rebuilds its empty slot onto the new disk from vda3 on vda (WD-SURV), vdc3 on vdc (WD-OLD), vdc (WD-OLD)'s vdc3 included",
				"09-await-rebuild: wait", "10-detach-md1: md1 has rebuilt its empty slot onto the new disk, so it can now lose vdc3"},
			hasNot: []string{"--replace"}},
		{name: "raid5 with two of three lost: FAILED, no plan",
			sys: threeDisks(false,
				[]discover.Member{plantest.Member("vda2", "vda", "", 0, inSync), plantest.Member("vdb2", "vdb", "", 1, inSync), plantest.Member("vdc2", "vdc", "", -1, faulty)},
				[]discover.Member{plantest.Member("vda3", "vda", "", 0, inSync), plantest.Missing(1, "WD-B"), plantest.Member("vdc3", "vdc", "", -1, faulty)}, "raid5"),
			req: Request{Mode: ReplaceFailed, Failed: plantest.Old, Firmware: FirmwareBIOS},
			err: "md1 (uuid " + plantest.RootUUID + ") has FAILED: raid5, 2 of 3 slots lost: FAILED (a raid5 survives the loss of 1 member). md cannot serve its data and no rebuild brings it back: nothing is planned for it. Restore it from backup"},
		{name: "raid5 whole: the in-sync member may be failed",
			sys: threeDisks(false,
				[]discover.Member{plantest.Member("vda2", "vda", "", 0, inSync), plantest.Member("vdb2", "vdb", "", 1, inSync), plantest.Member("vdc2", "vdc", "", -1, faulty)},
				[]discover.Member{plantest.Member("vda3", "vda", "", 0, inSync), plantest.Member("vdb3", "vdb", "", 1, inSync), plantest.Member("vdc3", "vdc", "", 2, inSync)}, "raid5"),
			req: Request{Mode: ReplaceFailed, Failed: plantest.Old, Firmware: FirmwareBIOS},
			has: []string{"/sbin/mdadm /dev/md1 --fail /dev/vdc3 --remove /dev/vdc3", "/sbin/mdadm /dev/md1 --add {new:3}", "md1 rebuilds from parity: md reads every in-sync member (vda3 on vda (WD-SURV), vdb3 on vdb (WD-B))"}},
		{name: "raid0: no redundancy to rebuild from",
			sys: threeDisks(false,
				[]discover.Member{plantest.Member("vda2", "vda", "", 0, inSync), plantest.Member("vdb2", "vdb", "", 1, inSync), plantest.Member("vdc2", "vdc", "", -1, faulty)},
				[]discover.Member{plantest.Member("vda3", "vda", "", 0, inSync), plantest.Member("vdb3", "vdb", "", 1, inSync), plantest.Member("vdc3", "vdc", "", 2, inSync)}, "raid0"),
			req: Request{Mode: ReplaceFailed, Failed: plantest.Old, Firmware: FirmwareBIOS},
			err: "md1 (uuid " + plantest.RootUUID + ") is raid0: it keeps no redundancy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := Build(c.sys, c.req, testOpts)
			if c.err != "" {
				var ue *UnsafeError
				if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want an UnsafeError containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			all := argvLines(p) + "\n" + strings.Join(p.Notes, "\n") + "\n" + strings.Join(p.RebuildsFrom, "\n")
			for _, s := range p.Steps {
				all += "\n" + s.ID + ": " + s.Reason
			}
			for _, h := range c.has {
				if !strings.Contains(all, h) {
					t.Errorf("plan lacks %q:\n%s", h, all)
				}
			}
			for _, h := range c.hasNot {
				if strings.Contains(all, h) {
					t.Errorf("plan has %q:\n%s", h, all)
				}
			}
		})
	}
}

// A spare took the failed member's place (md0 is whole, 2 slots, with vdc2 left faulty): the
// plan removes the leftover, adds the new partition as md0's new spare, and its verify
// accepts a spare there.
func TestBuildLeftoverSpare(t *testing.T) {
	sys := plantest.Finish(&discover.System{
		Arrays: []discover.Array{
			{Name: "md0", UUID: plantest.BootUUID, Level: "raid1", Metadata: "1.2", RaidDisks: 2, SizeKiB: plantest.BootKiB, Bitmap: "none", MDDegraded: 0,
				Members: []discover.Member{plantest.Member("vda2", "vda", "", 0, inSync), plantest.Member("vdb2", "vdb", "", 1, inSync), plantest.Member("vdc2", "vdc", "", -1, faulty)}},
		},
		Disks: []discover.Disk{plantest.Disk("vda", plantest.Survivor), plantest.Disk("vdb", "WD-B"), plantest.Disk("vdc", plantest.Old)},
	})
	p, err := Build(sys, Request{Mode: ReplaceFailed, Failed: plantest.Old, Firmware: FirmwareBIOS}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	add, ok := p.Step("09-add-md0")
	if !ok {
		t.Fatalf("no add step:\n%s", argvLines(p))
	}
	if add.Action != ActionAddSpare || !strings.Contains(add.Reason, "becomes its new spare") {
		t.Errorf("add step %s: %s", add.Action, add.Reason)
	}
	verify, _ := p.Step(p.Steps[len(p.Steps)-1].ID)
	for _, c := range verify.Postconditions {
		if c.Kind == CondInSyncOn {
			t.Errorf("verify wants the new spare in sync: %s", c.Text)
		}
	}
}

// TestExposureKeepsFormat: Plan.Exposure is optional in plan format 2: a plan sealed before
// it existed (the seed's, kept in testdata/compat) still reads and verifies, with no exposure
// (the change board then says it does not record it).
func TestExposureKeepsFormat(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "compat", "seed-format2-before-exposure.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := Read(f, testOpts.Key)
	if err != nil {
		t.Fatalf("a format-2 plan without exposure: %v", err)
	}
	if p.Exposure != nil || len(p.Steps) == 0 {
		t.Errorf("exposure %v, %d steps", p.Exposure, len(p.Steps))
	}
}
