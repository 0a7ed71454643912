package cli

import "testing"

// TestAcceptNewDiskSMARTFlag: plan, replace and `raidswap --plan` carry
// --accept-new-disk-smart into the request (and so into the sealed plan); resume carries it
// into the run. apply has no such flag: a plan made without it refuses such a disk.
func TestAcceptNewDiskSMARTFlag(t *testing.T) {
	f := &Factory{IO: &IOStreams{}}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"plan", []string{"--failed", "WD-OLD", "--accept-new-disk-smart"}},
		{"replace", []string{"--failed", "WD-OLD", "--accept-new-disk-smart"}},
	} {
		cmd := newPlanCmd(f)
		if c.name == "replace" {
			cmd = newReplaceCmd(f)
		}
		if err := cmd.ParseFlags(c.args); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		v, err := cmd.Flags().GetBool("accept-new-disk-smart")
		if err != nil || !v {
			t.Errorf("%s: flag %v, %v", c.name, v, err)
		}
	}
	r := RequestOptions{Failed: "WD-OLD", AcceptNewDiskSMART: true}
	req, err := r.request()
	if err != nil || !req.AcceptNewDiskSMART {
		t.Errorf("request %+v, %v", req, err)
	}
	if newResumeCmd(f).Flags().Lookup("accept-new-disk-smart") == nil {
		t.Error("resume lacks --accept-new-disk-smart")
	}
	if newApplyCmd(f).Flags().Lookup("accept-new-disk-smart") != nil {
		t.Error("apply must not override the sealed plan")
	}
}
