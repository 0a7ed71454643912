package plan_test

import (
	"reflect"
	"testing"

	"github.com/raidswap/raidswap/internal/plan"
)

// TestRenamed: after a reboot the survivor vda (WD-SURV) is vdb and the failed disk's old
// name vdb is free or another disk's: only what names the survivor with its serial follows
// it; the failed disk's targets and conditions keep vdb (so their serial checks refuse the
// survivor under that name); placeholders, arrays and the stored commands stay; the plan it
// came from is unchanged.
func TestRenamed(t *testing.T) {
	surv := plan.Condition{Kind: plan.CondDiskSerial, Device: "vda", Serial: "WD-SURV"}
	old := plan.Condition{Kind: plan.CondDiskSerial, Device: "vdb", Serial: "WD-OLD"}
	p := &plan.Plan{Checksum: "hmac-sha256:0123456789abcdef"}
	p.Disks.Survivor = plan.DiskRef{Device: "vda", Serial: "WD-SURV"}
	p.Disks.Failed = plan.DiskRef{Device: "vdb", Serial: "WD-OLD"}
	p.Steps = []plan.Step{
		{ID: "detach", Action: plan.ActionDetach, Target: plan.Target{Device: "vdb2", Serial: "WD-OLD", Array: "md0"},
			Preconditions: []plan.Condition{old}, Argv: []string{"/sbin/mdadm", "/dev/md0", "--fail", "/dev/vdb2"}},
		{ID: "add", Action: plan.ActionAddMember, Target: plan.Target{Device: "{new:2}", Array: "md0"},
			Preconditions: []plan.Condition{surv, {Kind: plan.CondInSyncOn, Device: "vda", Serial: "WD-SURV", Partition: 2}}},
		{ID: "bootloader-vda", Action: plan.ActionBootloader, Target: plan.Target{Device: "vda", Serial: "WD-SURV"},
			Preconditions: []plan.Condition{surv}, Argv: []string{"/usr/sbin/grub-install", "/dev/vda"}},
		{ID: "locate", Action: plan.ActionLocate, Target: plan.Target{LED: &plan.LED{Device: "vda", Serial: "WD-SURV"}}},
		{ID: "swapoff", Action: plan.ActionSwapOff, Target: plan.Target{Device: "vda10", Serial: "WD-SURV"}},
	}
	before := *p
	before.Steps = append([]plan.Step(nil), p.Steps...)
	q := p.Renamed("WD-SURV", "vda", "vdb")
	if q.ID() != p.ID() {
		t.Errorf("the plan's ID changed: %s, was %s", q.ID(), p.ID())
	}
	if q.Disks.Survivor.Device != "vdb" || q.Disks.Failed.Device != "vdb" {
		t.Errorf("disks %+v", q.Disks)
	}
	for _, tc := range []struct{ step, got, want string }{
		{"detach target", q.Steps[0].Target.Device, "vdb2"},
		{"detach condition", q.Steps[0].Preconditions[0].Device, "vdb"},
		{"add target", q.Steps[1].Target.Device, "{new:2}"},
		{"add survivor condition", q.Steps[1].Preconditions[0].Device, "vdb"},
		{"add in-sync condition", q.Steps[1].Preconditions[1].Device, "vdb"},
		{"bootloader target", q.Steps[2].Target.Device, "vdb"},
		{"bootloader argv", q.Steps[2].Argv[1], "/dev/vda"},
		{"ledctl device", q.Steps[3].Target.LED.Device, "vdb"},
		{"partition 10", q.Steps[4].Target.Device, "vdb10"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.step, tc.got, tc.want)
		}
	}
	if !reflect.DeepEqual(*p, before) || p.Steps[3].Target.LED.Device != "vda" || p.Steps[1].Preconditions[0].Device != "vda" ||
		p.Steps[2].Target.Device != "vda" || p.Disks.Survivor.Device != "vda" {
		t.Error("Renamed changed the plan it came from")
	}
	nv := &plan.Plan{Steps: []plan.Step{{Target: plan.Target{Device: "nvme0n1p3", Serial: "S"}}}}
	if got := nv.Renamed("S", "nvme0n1", "nvme1n1").Steps[0].Target.Device; got != "nvme1n1p3" {
		t.Errorf("NVMe partition renamed %q, want nvme1n1p3", got)
	}
	if p.Renamed("WD-SURV", "vda", "vda") != p {
		t.Error("a name that did not change gives another plan")
	}
}
