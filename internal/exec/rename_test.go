package exec

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// TestResumeAfterRebootRenamed: the swap with the power off. Phase 1 runs on the seed
// (survivor vda, failed vdb) and stops before the wait for the pull; the machine is powered
// off, WD-OLD taken out, WD-NEW put in, and at the boot the kernel names them the other way
// round: the new disk is vda and the survivor vdb, the arrays run degraded on vdb's members.
// The resumed run takes WD-NEW as the new disk (the plan names none), and every step the plan
// bound to the survivor acts on vdb, found by its serial: GRUB goes onto the survivor as
// /dev/vdb and onto the new disk as /dev/vda, never the other way round.
func TestResumeAfterRebootRenamed(t *testing.T) {
	w := seedWorld()
	req := seedReq()
	req.New = ""
	p := build(t, w.Sys(), req)
	stop := ""
	for _, s := range p.Steps {
		if s.Action == plan.ActionAwaitRemoval {
			break
		}
		stop = s.ID
	}
	r := hosttest.NewFakeRunner(t, seedExpect(w)[:3]...)
	dir := t.TempDir()
	o := options(t, w, r, dir)
	o.StopAfter = stop
	if _, err := Apply(context.Background(), p, o); !errors.Is(err, ErrStopped) {
		t.Fatalf("phase 1: %v", err)
	}

	// The boot after the swap.
	surv := plantest.Disk("vdb", plantest.Survivor)
	surv.Swap = []string{"vdb4"}
	booted := plantest.NewWorld(plantest.Finish(&discover.System{
		Arrays: []discover.Array{
			plantest.Root(plantest.Member("vdb3", "vdb", "", 0, discover.MemberInSync), plantest.Missing(1, plantest.Old)),
			plantest.Boot(plantest.Member("vdb2", "vdb", "", 0, discover.MemberInSync), plantest.Missing(1, plantest.Old)),
		},
		Disks: []discover.Disk{plantest.BlankDisk("vda", plantest.New), surv},
	}))
	r2 := hosttest.NewFakeRunner(t,
		hosttest.Expect{Argv: []string{"/sbin/mdadm", "--zero-superblock", "/dev/vda2", "/dev/vda3"}},
		hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md0", "--add", "/dev/vda2"}, Do: func() { booted.Add("md0", "vda2", "vda") }},
		hosttest.Expect{Argv: []string{"/sbin/mdadm", "/dev/md1", "--add", "/dev/vda3"}, Do: func() { booted.Add("md1", "vda3", "vda") }},
		hosttest.Expect{Argv: []string{"/sbin/mkswap", "-U", plantest.SwapUUID, "/dev/vda4"}},
		hosttest.Expect{Argv: []string{"/sbin/swapon", "/dev/vda4"}, Do: func() { booted.SetSwap(plantest.New, "vda4", true) }},
		hosttest.Expect{Argv: []string{"/usr/sbin/grub-install", "--target=i386-pc", "--modules=part_gpt mdraid1x ext2", "/dev/vdb"}},
		hosttest.Expect{Argv: []string{"/usr/sbin/grub-install", "--target=i386-pc", "--modules=part_gpt mdraid1x ext2", "/dev/vda"}},
	)
	o2 := options(t, booted, r2, dir)
	cl := &fakeCloner{w: booted}
	o2.Cloner = cl
	res, err := Apply(context.Background(), p, o2)
	if err != nil {
		t.Fatalf("resume after the reboot: %v", err)
	}
	if len(cl.calls) != 1 || cl.calls[0] != "/dev/vdb -> /dev/vda" {
		t.Errorf("clone %q, want the survivor /dev/vdb onto the new /dev/vda", cl.calls)
	}
	recs, err := journal.Load(res.Journal)
	if err != nil {
		t.Fatal(err)
	}
	renamed := false
	for _, rec := range recs {
		if rec.Data[noteSurvivorRenamed] == "vda -> vdb" {
			renamed = true
		}
	}
	if !renamed || recs[len(recs)-1].Event != journal.EventFinished {
		t.Errorf("journal: renamed note %v, last event %q", renamed, recs[len(recs)-1].Event)
	}
	if p.Disks.Survivor.Device != "vda" || !strings.HasSuffix(p.Steps[len(p.Steps)-1].ID, "verify") {
		t.Errorf("the caller's plan was changed: survivor %s", p.Disks.Survivor.Device)
	}
}
