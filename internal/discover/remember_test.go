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

// Remember also records what it takes to remake a disk's ESP on a replacement (its size, FAT
// type, label, volume id, type), so an ESP on the failed disk only can be remade after that
// disk has vanished (issue 17, item 14); an ESP on md is copied by md and not recorded.
func TestRememberRecordsTheESPShape(t *testing.T) {
	s := &discover.System{Disks: []discover.Disk{{Name: "vda", Serial: "WD-A", Present: true}, {Name: "vdb", Serial: "WD-B", Present: true}}}
	s.Host.Boot.Disks = []bootloader.Disk{
		{Name: "vda", Serial: "WD-A", ESP: &bootloader.Partition{Name: "vda1", Number: 1, PARTUUID: "c9f42866-ee88-4004-a032-2dbf3696c113",
			Type: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", SizeBytes: 64 << 20, FSType: "vfat", FSVersion: "FAT16", FSLabel: "EFI", FSUUID: "1A2B-3C4D"}},
		{Name: "vdb", Serial: "WD-B", ESP: &bootloader.Partition{Name: "vdb1", Number: 1, PARTUUID: "d9f42866-ee88-4004-a032-2dbf3696c113", MDArray: "md0"}}}
	inv, _ := s.Remember(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	e := inv.Disks["WD-A"].ESP
	if e == nil || e.Number != 1 || e.Type != "c12a7328-f81f-11d2-ba4b-00a0c93ec93b" || e.SizeBytes != 64<<20 || e.FATBits != 16 || e.Label != "EFI" || e.VolumeID != "1A2B-3C4D" {
		t.Errorf("WD-A's ESP: %+v", e)
	}
	if e := inv.Disks["WD-B"].ESP; e != nil {
		t.Errorf("an ESP on md is recorded: %+v", e)
	}
}
