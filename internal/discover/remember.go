package discover

import (
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/inventory"
)

// Remember records every present disk with a serial, and the array slots it holds, in the
// system's inventory. It reports whether anything changed (the caller saves it).
func (s *System) Remember(now time.Time) (*inventory.Inventory, bool) {
	inv := s.Inventory
	if inv == nil {
		inv = &inventory.Inventory{Format: 1, Disks: map[string]inventory.Entry{}}
	}
	changed := false
	for _, d := range s.Disks {
		if !d.Present || d.Serial == "" {
			continue
		}
		if d.Drill != "" && (s.Scope == nil || !s.Scope.Allows(&d)) {
			// A drill's disk goes into its own lab's inventory only (Scope.InventoryPath),
			// never the host's: a cleaned-up drill is never reported missing.
			continue
		}
		e := inventory.Entry{Serial: d.Serial, Model: d.Model, WWN: d.WWN, ByPath: d.ByPath, ByID: d.ByID,
			SizeBytes: d.SizeBytes, Name: d.Name, LastSeen: now.UTC(), Bay: d.Bay,
			Vendor: d.Vendor, Firmware: d.Firmware, Transport: d.Transport, HCTL: d.HCTL, Controller: d.Controller}
		for _, bd := range s.Host.Boot.Disks {
			if bd.Name == d.Name && bd.ESP != nil {
				e.ESPPARTUUID = strings.ToLower(bd.ESP.PARTUUID)
				if bd.ESP.MDArray == "" {
					e.ESP = &inventory.ESP{Number: bd.ESP.Number, Type: strings.ToLower(bd.ESP.Type), SizeBytes: bd.ESP.SizeBytes,
						FATBits: bd.ESP.FATBits(), Label: bd.ESP.FSLabel, VolumeID: bd.ESP.FSUUID}
				}
			}
		}
		for _, a := range s.Arrays {
			for _, m := range a.Members {
				// An array without a uuid (IMSM/DDF: md keeps none) cannot be told apart in
				// the inventory, which finds slots by uuid: it is not remembered.
				if a.UUID != "" && m.Disk != nil && *m.Disk == d.Name && m.Slot != nil && m.Device != nil &&
					(m.State == MemberInSync || m.State == MemberRebuilding) {
					e.Members = append(e.Members, inventory.Slot{ArrayUUID: a.UUID, Array: a.Name, Slot: *m.Slot, Device: *m.Device})
				}
			}
		}
		if inv.Record(e) {
			changed = true
		}
	}
	return inv, changed
}
