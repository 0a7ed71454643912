package plan

import (
	"errors"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
)

// TestCheckNewDisk: the one "may this be the new disk" rule, each refusal with its rule, and
// an *InputError for plan's callers.
func TestCheckNewDisk(t *testing.T) {
	disks := Disks{Failed: DiskRef{Device: "vdb", Serial: "WD-OLD"}, Survivor: DiskRef{Device: "vda", Serial: "WD-SURV"},
		New: NewDisk{MinSizeBytes: 1000}}
	blank := func(name, serial string) discover.Disk {
		return discover.Disk{Name: name, Serial: serial, SizeBytes: 2000, Present: true, Partitions: []string{},
			Holders: []string{}, Mounted: []string{}, Swap: []string{}, Members: []discover.DiskMember{}}
	}
	tests := []struct {
		name  string
		d     discover.Disk
		disks Disks
		rule  NewDiskRule
		want  string
	}{
		{"blank", blank("vdc", "WD-NEW"), disks, "", ""},
		{"no serial", blank("vdc", ""), disks, NewDiskNoSerial, "vdc: has no serial"},
		{"survivor", blank("vda", "WD-SURV"), disks, NewDiskSurvivor, "vda (WD-SURV): is the survivor"},
		{"failed", blank("vdd", "WD-OLD"), disks, NewDiskFailed, "vdd (WD-OLD): is the failed disk itself"},
		{"re-add takes the failed disk back", func() discover.Disk { d := blank("vdb", "WD-OLD"); d.Partitions = []string{"vdb1"}; return d }(),
			Disks{Failed: disks.Failed, Survivor: disks.Survivor, New: NewDisk{Serial: "WD-OLD"}}, "", ""},
		{"in use", func() discover.Disk { d := blank("vdc", "WD-NEW"); d.Swap = []string{"vdc3"}; return d }(), disks,
			NewDiskInUse, "vdc (WD-NEW): it holds vdc3, which is active swap"},
		{"too small", func() discover.Disk { d := blank("vdc", "WD-NEW"); d.SizeBytes = 999; return d }(), disks,
			NewDiskTooSmall, "vdc (WD-NEW): is too small: 999 bytes, the survivor vda (WD-SURV) has 1000"},
		{"holds data", func() discover.Disk { d := blank("vdc", "WD-NEW"); d.Partitions = []string{"vdc1"}; return d }(), disks,
			NewDiskHoldsData, "vdc (WD-NEW): holds data (partitions vdc1); check it is the right disk, then give --wipe"},
	}
	for _, tt := range tests {
		err := CheckNewDisk(&tt.d, tt.disks)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: refused: %v", tt.name, err)
			}
			continue
		}
		var ne *NewDiskError
		var ie *InputError
		if !errors.As(err, &ne) || ne.Rule != tt.rule || !strings.Contains(err.Error(), tt.want) || !errors.As(err, &ie) {
			t.Errorf("%s: %v (%T), want rule %s and %q", tt.name, err, err, tt.rule, tt.want)
		}
	}
	err := CheckNewDisk(&discover.Disk{Name: "vdc", Serial: "WD-NEW", SizeBytes: 1}, disks)
	var ne *NewDiskError
	if !errors.As(err, &ne) || ne.Sentence() != "it is too small: 1 bytes, the survivor vda (WD-SURV) has 1000" {
		t.Errorf("sentence of %v", err)
	}
}
