package plan_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
	"github.com/raidswap/raidswap/internal/view"
)

var ledOpts = plan.Options{Version: "test", Key: []byte("raidswap plan test key, 32 bytes"), Now: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)}

var seedReq = plan.Request{Mode: plan.ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: plan.FirmwareBIOS,
	Swap: []plan.SwapPartition{{Partition: 4, UUID: plantest.SwapUUID, Active: true}}}

var vanishedReq = plan.Request{Mode: plan.ReplaceFailed, Failed: plantest.Old, Firmware: plan.FirmwareBIOS,
	Swap: []plan.SwapPartition{{Partition: 4, UUID: plantest.SwapUUID}}}

type ledScenario struct {
	name string
	sys  func() *discover.System
	req  plan.Request
	// locate is what the locate step's LED must be (nil: none), off the step that turns it
	// off.
	locate *plan.LED
	off    string
}

var ledScenarios = []ledScenario{
	{
		name: "led-enclosure",
		sys: func() *discover.System {
			return plantest.WithBays(plantest.Seed(), map[string]*identify.Bay{
				plantest.Old: plantest.EnclosureBay("Slot 02", 2), plantest.Survivor: plantest.EnclosureBay("Slot 01", 1)})
		},
		req: seedReq,
		locate: &plan.LED{Method: identify.LEDEnclosure, Enclosure: "0:0:0:0", EnclosureID: "0x5001438012345678", Slot: "Slot 02",
			Serial: plantest.Old, Whose: plan.LEDFailed},
		off: "verify",
	},
	{
		name: "led-npem",
		sys: func() *discover.System {
			return plantest.WithBays(plantest.Seed(), map[string]*identify.Bay{plantest.Old: plantest.NPEMBay("0000:00:1d.0")})
		},
		req:    seedReq,
		locate: &plan.LED{Method: identify.LEDNPEM, PCI: "0000:00:1d.0", Serial: plantest.Old, Whose: plan.LEDFailed},
		off:    "verify",
	},
	{
		name: "led-ledctl",
		sys: func() *discover.System {
			return plantest.WithBays(plantest.Seed(), map[string]*identify.Bay{plantest.Old: plantest.LedctlBay(), plantest.Survivor: plantest.LedctlBay()})
		},
		req:    seedReq,
		locate: &plan.LED{Method: identify.LEDLedctl, Device: "vdb", Serial: plantest.Old, Whose: plan.LEDFailed},
		off:    "verify",
	},
	{
		name: "led-none",
		sys: func() *discover.System {
			s := plantest.Seed()
			s.Disk("vdb").BayProblem = `2 enclosure slots claim it (0:0:0:0 slot "Slot 05", 0:0:0:0 slot "Slot 06"): raidswap will not guess which bay holds it`
			return plantest.WithBays(s, map[string]*identify.Bay{plantest.Survivor: plantest.EnclosureBay("Slot 01", 1)})
		},
		req: seedReq,
	},
	{
		name: "led-vanished",
		sys: func() *discover.System {
			return plantest.WithBays(plantest.Vanished(), map[string]*identify.Bay{
				plantest.Old: plantest.EnclosureBay("Slot 02", 2), plantest.Survivor: plantest.EnclosureBay("Slot 01", 1)})
		},
		req: vanishedReq,
		locate: &plan.LED{Method: identify.LEDEnclosure, Enclosure: "0:0:0:0", EnclosureID: "0x5001438012345678", Slot: "Slot 02",
			Serial: plantest.Old, Whose: plan.LEDFailed, Remembered: true},
		off: "verify",
	},
	{
		name: "led-vanished-survivor",
		sys: func() *discover.System {
			return plantest.WithBays(plantest.Vanished(), map[string]*identify.Bay{plantest.Survivor: plantest.EnclosureBay("Slot 01", 1)})
		},
		req: vanishedReq,
		locate: &plan.LED{Method: identify.LEDEnclosure, Enclosure: "0:0:0:0", EnclosureID: "0x5001438012345678", Slot: "Slot 01",
			Serial: plantest.Survivor, Whose: plan.LEDSurvivor},
		off: "verify",
	},
	{
		name: "led-replace-working",
		sys: func() *discover.System {
			return plantest.WithBays(plantest.Working(), map[string]*identify.Bay{plantest.Old: plantest.EnclosureBay("Slot 02", 2)})
		},
		req: plan.Request{Mode: plan.ReplaceWorking, Failed: plantest.Old, New: plantest.New, Firmware: plan.FirmwareBIOS,
			Swap: []plan.SwapPartition{{Partition: 4, UUID: plantest.SwapUUID, Active: true}}},
		locate: &plan.LED{Method: identify.LEDEnclosure, Enclosure: "0:0:0:0", EnclosureID: "0x5001438012345678", Slot: "Slot 02",
			Serial: plantest.Old, Whose: plan.LEDFailed},
		off: "led-off",
	},
}

// TestLEDPlans checks which LED each plan's locate step lights and which step turns it off,
// and compares the rendered plans with golden files (-update rewrites them).
func TestLEDPlans(t *testing.T) {
	for _, sc := range ledScenarios {
		t.Run(sc.name, func(t *testing.T) {
			p, err := plan.Build(sc.sys(), sc.req, ledOpts)
			if err != nil {
				t.Fatal(err)
			}
			var locate *plan.LED
			offAt, locateAt := -1, -1
			for i, s := range p.Steps {
				switch {
				case s.Action == plan.ActionLocate:
					locate, locateAt = s.Target.LED, i
				case s.Target.LED != nil && (s.Action == plan.ActionVerify || s.Action == plan.ActionLEDOff):
					if offAt >= 0 {
						t.Errorf("two steps turn the LED off")
					}
					offAt = i
					if *s.Target.LED != *sc.locate {
						t.Errorf("%s turns off %+v, the locate step lit %+v", s.ID, s.Target.LED, sc.locate)
					}
					if !strings.HasSuffix(s.ID, sc.off) {
						t.Errorf("the LED goes off at %s, want %s", s.ID, sc.off)
					}
				}
			}
			switch {
			case sc.locate == nil && locate != nil:
				t.Errorf("locate lights %+v, want no LED", locate)
			case sc.locate != nil && (locate == nil || *locate != *sc.locate):
				t.Errorf("locate lights %+v, want %+v", locate, sc.locate)
			case sc.locate != nil && offAt < locateAt:
				t.Errorf("no step after the locate step turns its LED off")
			case sc.locate == nil && offAt >= 0:
				t.Errorf("step %d turns off an LED nobody lit", offAt)
			}
			if err := p.CheckSteps(host.Profile{}); err != nil {
				t.Errorf("the plan's own steps: %v", err)
			}
			for _, f := range []struct{ format, ext string }{{view.FormatText, "txt"}, {view.FormatJSON, "json"}} {
				var b bytes.Buffer
				if err := view.Plan(&b, p, f.format); err != nil {
					t.Fatal(err)
				}
				golden.Check(t, filepath.Join("testdata", sc.name+"."+f.ext), b.Bytes())
			}
		})
	}
}

// A plan's LED operands are untrusted: a slot name that climbs out of the enclosure
// directory, a PCI name that is not one, or a ledctl disk that is a path is refused by
// CheckSteps, as for any other operand.
func TestLEDOperandsChecked(t *testing.T) {
	sys := plantest.WithBays(plantest.Seed(), map[string]*identify.Bay{plantest.Old: plantest.EnclosureBay("Slot 02", 2)})
	for name, forge := range map[string]func(l *plan.LED){
		"slot climbs":     func(l *plan.LED) { l.Slot = "../../../../block/sda" },
		"enclosure empty": func(l *plan.LED) { l.Enclosure = "" },
		"npem not a pci":  func(l *plan.LED) { l.Method, l.PCI = identify.LEDNPEM, "../x" },
		"ledctl path":     func(l *plan.LED) { l.Method, l.Device = identify.LEDLedctl, "../../etc/passwd" },
		"unknown method":  func(l *plan.LED) { l.Method = "gpio" },
		"whose":           func(l *plan.LED) { l.Whose = "new" },
	} {
		p, err := plan.Build(sys, seedReq, ledOpts)
		if err != nil {
			t.Fatal(err)
		}
		for i := range p.Steps {
			if p.Steps[i].Action == plan.ActionLocate {
				l := *p.Steps[i].Target.LED
				forge(&l)
				p.Steps[i].Target.LED = &l
			}
		}
		var inv *plan.InvalidError
		if err := p.CheckSteps(host.Profile{}); !errors.As(err, &inv) {
			t.Errorf("%s: CheckSteps: %v", name, err)
		}
	}
}

// LEDHolds lights a bay only while it holds the disk the plan says, or, for a vanished
// disk's remembered bay, while it holds no disk.
func TestLEDHolds(t *testing.T) {
	slot2 := plantest.EnclosureBay("Slot 02", 2)
	l := &plan.LED{Method: identify.LEDEnclosure, Enclosure: "0:0:0:0", EnclosureID: "0x5001438012345678", Slot: "Slot 02", Serial: plantest.Old, Whose: plan.LEDFailed}
	sys := plantest.WithBays(plantest.Seed(), map[string]*identify.Bay{plantest.Old: slot2})
	if err := plan.LEDHolds(sys, l); err != nil {
		t.Errorf("the failed disk in its bay: %v", err)
	}
	moved := plantest.WithBays(plantest.Seed(), map[string]*identify.Bay{plantest.Old: plantest.EnclosureBay("Slot 04", 4)})
	if err := plan.LEDHolds(moved, l); err == nil || !strings.Contains(err.Error(), "no longer in") {
		t.Errorf("a disk moved to another slot: %v", err)
	}
	otherEnc := *slot2
	otherEnc.EnclosureID = "0x5001438099999999"
	if err := plan.LEDHolds(plantest.WithBays(plantest.Seed(), map[string]*identify.Bay{plantest.Old: &otherEnc}), l); err == nil {
		t.Error("the same slot name in another enclosure was lit")
	}
	gone := *l
	gone.Remembered = true
	van := plantest.WithBays(plantest.Vanished(), map[string]*identify.Bay{plantest.Old: slot2})
	if err := plan.LEDHolds(van, &gone); err != nil {
		t.Errorf("the vanished disk's empty bay: %v", err)
	}
	// The new disk went into the remembered bay already: it holds another disk now.
	taken := plantest.Vanished()
	nd := plantest.BlankDisk("vdc", plantest.New)
	nd.Bay = slot2
	taken.Disks = append(taken.Disks, nd)
	if err := plan.LEDHolds(taken, &gone); err == nil || !strings.Contains(err.Error(), "now holds vdc (WD-NEW)") {
		t.Errorf("a remembered bay that holds another disk: %v", err)
	}
	ctl := &plan.LED{Method: identify.LEDLedctl, Device: "vdb", Serial: plantest.Old, Whose: plan.LEDFailed}
	renamed := plantest.Seed()
	renamed.Disk("vdb").Name = "vdc"
	if err := plan.LEDHolds(renamed, ctl); err == nil || !strings.Contains(err.Error(), "now vdc") {
		t.Errorf("ledctl after a rename: %v", err)
	}
}
