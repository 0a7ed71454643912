package plantest

import (
	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
)

// EnclosureBay is slot name of the scenarios' SES enclosure 0:0:0:0, as identify.BayOf gives
// it.
func EnclosureBay(slot string, number int) *identify.Bay {
	b := &identify.Bay{LED: identify.LEDEnclosure, Enclosure: "0:0:0:0", EnclosureID: "0x5001438012345678", Vendor: "HPE", Model: "D3700",
		Slot: slot, Number: &number}
	b.Locate, b.Fault = b.File(identify.LampLocate), b.File(identify.LampFault)
	return b
}

// NPEMBay is the NPEM LEDs of PCI device pci.
func NPEMBay(pci string) *identify.Bay {
	b := &identify.Bay{LED: identify.LEDNPEM, PCI: pci}
	b.Locate, b.Fault = b.File(identify.LampLocate), b.File(identify.LampFault)
	return b
}

// LedctlBay is a disk whose LEDs only ledctl drives.
func LedctlBay() *identify.Bay { return &identify.Bay{LED: identify.LEDLedctl} }

// WithBays gives the disks with the given serials their bays (a vanished disk's, as the
// inventory remembers it), and records each in the inventory.
func WithBays(s *discover.System, bays map[string]*identify.Bay) *discover.System {
	for i := range s.Disks {
		if b, ok := bays[s.Disks[i].Serial]; ok {
			s.Disks[i].Bay = b
			if s.Inventory != nil {
				if e, ok := s.Inventory.Disks[s.Disks[i].Serial]; ok {
					e.Bay = b
					s.Inventory.Disks[s.Disks[i].Serial] = e
				}
			}
		}
	}
	return s
}

// SetBay moves the disk with serial to bay b (nil: no bay known).
func (w *World) SetBay(serial string, b *identify.Bay) {
	w.change(func(s *discover.System) {
		for i := range s.Disks {
			if s.Disks[i].Serial == serial {
				s.Disks[i].Bay = b
			}
		}
	})
}
