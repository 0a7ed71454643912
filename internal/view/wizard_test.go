package view

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
)

// TestWizardShowFits80: the wizard's opening screen on an 80-column console leaves out the
// model and bay columns rather than break a disk's row (the failed disk's "<== this disk"
// stays on its line), and no line is wider than the console (issue 20, item 4).
func TestWizardShowFits80(t *testing.T) {
	bay := &identify.Bay{LED: identify.LEDEnclosure, Enclosure: "0:0:2:0", Slot: "Slot 13"}
	sys := &discover.System{Summary: "md0 is degraded [2/1] [U_]; disk sdb (WD-WCC4N1KPB002) has failed", Disks: []discover.Disk{
		{Name: "sda", Serial: "WD-WCC4N1KPA001", Model: "WDC WD40EFRX-68N32N0", Present: true, SizeBytes: 4 << 40, Bay: bay, Verdict: discover.DiskHealthy},
		{Name: "sdb", Serial: "WD-WCC4N1KPB002", Model: "WDC WD40EFRX-68N32N0", Present: true, SizeBytes: 4 << 40, Bay: bay, Verdict: discover.DiskFailed},
	}}
	var wide, narrow strings.Builder
	WizardShow(&wide, sys, 0)
	WizardShow(&narrow, sys, 80)
	if !strings.Contains(wide.String(), "WD40EFRX") {
		t.Fatalf("width 0 left the model out:\n%s", wide.String())
	}
	for _, l := range strings.Split(narrow.String(), "\n") {
		if utf8.RuneCountInString(l) > 80 {
			t.Errorf("a line is wider than 80: %q", l)
		}
		if strings.HasPrefix(l, "  >") && !strings.HasSuffix(l, "FAILED  <== this disk") {
			t.Errorf("the failed disk's row is broken: %q", l)
		}
	}
}
