package cli

import (
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/wizard"
)

// TestWizardPowerOffExit: a wizard that stopped for a swap with the power off exits with
// its own code, neither success nor a refusal or failure.
func TestWizardPowerOffExit(t *testing.T) {
	err := wizardError(&wizard.PowerOffError{Failed: "vdb (WD-OLD)", Journal: "/var/lib/raidswap/journal/x.jsonl"})
	if got := exitCode(err); got != ExitPowerOff {
		t.Errorf("exit %d, want %d", got, ExitPowerOff)
	}
	for _, c := range []int{ExitOK, ExitRefused, ExitFailed, ExitInterrupted} {
		if c == ExitPowerOff {
			t.Errorf("ExitPowerOff %d is shared with another code", c)
		}
	}
}

// TestResumeConfirmDisk: a resume confirms with a disk that is present: the new disk the
// journal chose; before it chose one, the one disk that can be the new one when the failed
// disk has gone (after a swap with the power off); otherwise the disk coming out, as on
// its label.
func TestResumeConfirmDisk(t *testing.T) {
	disk := func(name, serial string) discover.Disk {
		return discover.Disk{Name: name, Serial: serial, Present: true}
	}
	p := &plan.Plan{}
	p.Disks.Failed = plan.DiskRef{Device: "vdb", Serial: "WD-OLD", Present: true}
	p.Disks.Survivor = plan.DiskRef{Device: "vda", Serial: "WD-SURV", Present: true}
	p.Disks.New.KnownSerials = []string{"WD-SURV", "WD-OLD"}
	def := &confirmDisk{Serial: "WD-OLD", Device: "vdb", Why: "the disk coming out", Last4: true}
	for _, tc := range []struct {
		name   string
		disks  []discover.Disk
		chosen string
		want   string
	}{
		{"failed disk still in", []discover.Disk{disk("vda", "WD-SURV"), disk("vdb", "WD-OLD"), disk("vdc", "WD-NEW")}, "", "WD-OLD"},
		{"cold swap: failed gone, the new one in its place", []discover.Disk{disk("vda", "WD-SURV"), disk("vdb", "WD-NEW")}, "", "WD-NEW"},
		{"renamed: the new disk first", []discover.Disk{disk("vda", "WD-NEW"), disk("vdb", "WD-SURV")}, "", "WD-NEW"},
		{"failed gone, two candidates", []discover.Disk{disk("vda", "WD-SURV"), disk("vdb", "WD-NEW"), disk("vdc", "WD-TWO")}, "", "WD-OLD"},
		{"failed gone, nothing in yet", []discover.Disk{disk("vda", "WD-SURV")}, "", "WD-OLD"},
		{"chosen by the journal", []discover.Disk{disk("vda", "WD-SURV"), disk("vdb", "WD-NEW"), disk("vdc", "WD-TWO")}, "WD-TWO", "WD-TWO"},
		{"chosen, not attached", []discover.Disk{disk("vda", "WD-SURV"), disk("vdb", "WD-NEW")}, "WD-TWO", "WD-OLD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := resumeConfirmDisk(p, &discover.System{Disks: tc.disks}, tc.chosen, def)
			if got.Serial != tc.want {
				t.Errorf("confirms with %s (%s), want %s", got.Serial, got.Why, tc.want)
			}
			if got.Serial == "WD-SURV" {
				t.Error("a resume confirmed with the survivor")
			}
		})
	}
}
