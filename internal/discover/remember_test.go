package discover_test

import (
	"testing"
	"time"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
)

// Remember records each present disk's ESP PARTUUID, so that once the disk has vanished the
// efi-boot-order step still knows which boot entries were its (issue 18, item 4).
func TestRememberRecordsTheESP(t *testing.T) {
	s := &discover.System{Disks: []discover.Disk{{Name: "vda", Serial: "WD-A", Present: true}, {Name: "vdb", Serial: "WD-B", Present: true}}}
	s.Host.Boot.Disks = []bootloader.Disk{{Name: "vda", Serial: "WD-A", ESP: &bootloader.Partition{Name: "vda1", Number: 1, PARTUUID: "C9F42866-EE88-4004-A032-2DBF3696C113"}}, {Name: "vdb", Serial: "WD-B"}}
	inv, changed := s.Remember(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if !changed || inv.Disks["WD-A"].ESPPARTUUID != "c9f42866-ee88-4004-a032-2dbf3696c113" || inv.Disks["WD-B"].ESPPARTUUID != "" {
		t.Errorf("changed %v, entries %+v", changed, inv.Disks)
	}
}
