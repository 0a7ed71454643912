package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
)

// ActionLEDOff turns off the locate LED a locate step lit, when no verify step follows it
// (--replace locates the old disk after verifying). Verify, abort and resume turn it off
// otherwise.
const ActionLEDOff Action = "led-off"

// Whose bay a locate LED marks.
const (
	// LEDFailed is the failed disk's own bay (attached, or remembered for a vanished disk).
	LEDFailed = "failed"
	// LEDSurvivor is the survivor's bay, lit for a vanished disk whose bay nobody
	// remembered: the disk to pull is the OTHER one.
	LEDSurvivor = "survivor"
)

// LED is the bay LED a step drives, as typed operands: apply derives every write from
// these (identify.SetLED) and re-checks them on a fresh discovery right before (LEDHolds).
type LED struct {
	// Method is how the LED is driven: enclosure, npem or ledctl.
	Method identify.LEDMethod `json:"method"`
	// Enclosure, EnclosureID and Slot name an enclosure slot; PCI an NPEM PCIe slot.
	Enclosure   string `json:"enclosure,omitempty"`
	EnclosureID string `json:"enclosure_id,omitempty"`
	Slot        string `json:"slot,omitempty"`
	PCI         string `json:"pci,omitempty"`
	// Device is the whole disk ledctl names, its kernel name at plan time.
	Device string `json:"device,omitempty"`
	// Serial is the disk whose bay this is; Whose says whether it is the failed disk's or
	// the survivor's. Remembered says the bay is the vanished failed disk's as the inventory
	// remembers it.
	Serial     string `json:"serial"`
	Whose      string `json:"whose"`
	Remembered bool   `json:"remembered,omitempty"`
}

// Bay is the LED's bay, for identify.
func (l *LED) Bay() *identify.Bay {
	b := &identify.Bay{LED: l.Method, Enclosure: l.Enclosure, EnclosureID: l.EnclosureID, Slot: l.Slot, PCI: l.PCI}
	b.Locate = b.File(identify.LampLocate)
	return b
}

// Place names the LED's bay for a person.
func (l *LED) Place() string {
	if l.Method == identify.LEDLedctl {
		return "the bay of /dev/" + l.Device + " as ledctl finds it"
	}
	return l.Bay().Label()
}

// What says in words what lighting the LED writes.
func (l *LED) What() string {
	if l.Method == identify.LEDLedctl {
		argv, _ := identify.LedctlArgv(identify.LampLocate, true, l.Device)
		return "run " + Command(argv)
	}
	return "write 1 to " + l.Bay().Locate
}

// checkLED refuses LED operands that could point a write anywhere but at one bay LED.
func checkLED(l *LED) error {
	if l.Whose != LEDFailed && l.Whose != LEDSurvivor {
		return fmt.Errorf("LED of %q's bay: neither the failed disk's nor the survivor's", l.Whose)
	}
	if err := l.Bay().CheckOperands(); err != nil {
		return err
	}
	if l.Method == identify.LEDLedctl {
		if l.Remembered {
			return fmt.Errorf("ledctl cannot address the bay of a disk that is gone")
		}
		if !kernelNameRE.MatchString(l.Device) {
			return fmt.Errorf("ledctl's disk %q is not a kernel name", l.Device)
		}
	}
	return nil
}

// deriveLED is the command of an LED-bearing step: ledctl's argv, or nil when raidswap writes
// the kernel's LED file itself.
func deriveLED(l *LED, on bool) ([]string, error) {
	if l == nil {
		return nil, nil
	}
	if err := checkLED(l); err != nil {
		return nil, err
	}
	if l.Method != identify.LEDLedctl {
		return nil, nil
	}
	return identify.LedctlArgv(identify.LampLocate, on, l.Device)
}

// LEDHolds is the one rule for "may this locate LED be lit now", on a fresh discovery: the
// bay still holds the disk with the plan's serial (the failed disk's, or the survivor's), or,
// for a vanished disk's remembered bay, no attached disk sits in it and the disk is still
// gone. It never lets raidswap light a bay that holds another disk.
func LEDHolds(sys *discover.System, l *LED) error {
	if err := checkLED(l); err != nil {
		return err
	}
	bay := l.Bay()
	if l.Remembered {
		if d := sys.DiskBySerial(l.Serial); d != nil {
			return fmt.Errorf("%s is attached again (as %s): its remembered bay is not lit; build a new plan", l.Serial, d.Name)
		}
		for _, d := range sys.Disks {
			if d.Present && bay.Same(d.Bay) {
				return fmt.Errorf("%s, where the inventory last saw %s, now holds %s: raidswap will not light a bay that holds another disk", bay.Label(), l.Serial, d.Label())
			}
		}
		return nil
	}
	d := sys.DiskBySerial(l.Serial)
	if d == nil {
		return fmt.Errorf("no attached disk carries serial %s, whose bay the LED marks", l.Serial)
	}
	if l.Method == identify.LEDLedctl {
		if d.Name != l.Device {
			return fmt.Errorf("%s is now %s, not %s: build a new plan", l.Serial, d.Name, l.Device)
		}
		return nil
	}
	if !bay.Same(d.Bay) {
		now := "no bay known"
		if d.Bay != nil {
			now = d.Bay.Label()
		}
		return fmt.Errorf("%s is no longer in %s (now: %s): build a new plan", d.Label(), bay.Label(), now)
	}
	return nil
}

func ledOf(d *discover.Disk, whose string) *LED {
	b := d.Bay
	l := &LED{Method: b.LED, Enclosure: b.Enclosure, EnclosureID: b.EnclosureID, Slot: b.Slot, PCI: b.PCI,
		Serial: d.Serial, Whose: whose, Remembered: !d.Present}
	if b.LED == identify.LEDLedctl {
		l.Device = d.Name
	}
	return l
}

// bayText is where a disk sits, for DiskRef.Bay: its bay (enclosure or PCIe slot) and its
// bus path.
func bayText(d *discover.Disk) string {
	if d.Bay == nil || d.Bay.LED == identify.LEDLedctl {
		return d.ByPath
	}
	if d.ByPath == "" {
		return d.Bay.Label()
	}
	return d.Bay.Label() + ", " + d.ByPath
}

// locateLED is the LED the locate step lights: the failed disk's bay, the bay the inventory
// remembers for a vanished one, or, for a vanished disk with no bay remembered, the
// survivor's ("pull the OTHER disk"). Nil when no LED can be driven.
func (b *builder) locateLED() *LED {
	f, s := b.failed, b.survivor
	switch {
	case f.Serial == "":
		// A bay is re-checked by serial; a disk without one gets none.
	case f.Bay != nil && f.BayProblem == "" && (f.Present || f.Bay.LED != identify.LEDLedctl):
		return ledOf(f, LEDFailed)
	case !f.Present && s != nil && s.Present && s.Serial != "" && s.Bay != nil && s.BayProblem == "" && s.Bay.LED != identify.LEDLedctl:
		// ledctl only: lighting a survivor's port is left out, since ledctl's pattern names
		// the device, not the bay an operator looks at.
		return ledOf(s, LEDSurvivor)
	}
	return nil
}

// keepText lists every attached disk other than the failed one, for the guidance that works
// without an LED: its serial and bus path.
func (b *builder) keepText() string {
	var keep []string
	for _, d := range b.sys.Disks {
		if !d.Present || d.Serial == b.failed.Serial && b.failed.Serial != "" || d.Name == b.failed.Name && b.failed.Present {
			continue
		}
		k := d.Serial
		if k == "" {
			k = "(no serial)"
		}
		k += " (" + d.Name
		if d.ByPath != "" {
			k += ", " + d.ByPath
		}
		keep = append(keep, k+")")
	}
	sort.Strings(keep)
	return strings.Join(keep, ", ")
}

// locateReason is the locate step's reason: which LED is lit and what to pull, or, without
// an LED, the guidance that works without one.
func (b *builder) locateReason(l *LED) string {
	f := b.failed
	where := "its bus path is not known"
	if f.ByPath != "" {
		where = "bus path " + f.ByPath
	}
	what := fmt.Sprintf("serial %s, model %s, %s", orUnknown(f.Serial), orUnknown(f.Model), where)
	never := fmt.Sprintf("never pull %s (the survivor)", b.survivor.Label())
	off := " The LED goes off at the verify step, on `raidswap abort` and when a run is resumed."
	if b.req.Mode == ReplaceWorking {
		off = " The LED goes off once the disk is pulled, on `raidswap abort` and when a run is resumed."
	}
	switch {
	case l != nil && l.Whose == LEDSurvivor:
		return fmt.Sprintf("%s has vanished and no bay is remembered for it (%s). Light the locate LED of the SURVIVOR's bay, %s (%s): pull the OTHER disk, never the one whose LED is lit; the disk to pull is the one whose label shows none of: %s.%s",
			f.Label(), what, l.Place(), l.What(), b.keepText(), off)
	case l != nil && l.Remembered:
		return fmt.Sprintf("light the locate LED of %s (%s), where the inventory last saw %s: it has vanished (%s). Match the label on the drive in that bay before pulling it; %s.%s",
			l.Place(), l.What(), f.Label(), what, never, off)
	case l != nil:
		return fmt.Sprintf("light the locate LED of %s (%s), where %s sits: %s. Match the serial on the drive's label before pulling it; %s.%s",
			l.Place(), l.What(), f.Label(), what, never, off)
	}
	why := "no enclosure, NPEM or ledctl LED is known for its bay"
	if f.BayProblem != "" {
		why = "its bay is not known: " + f.BayProblem
	}
	pull := fmt.Sprintf("Pull the disk whose label shows %s", orUnknown(f.Serial))
	if !f.Present || f.Serial == "" {
		pull = "It has vanished: pull the disk whose label shows none of the serials to keep"
	}
	blink := ""
	if f.Present {
		blink = fmt.Sprintf(" While it still answers reads, `raidswap locate %s --blink` blinks its activity LED (reads only, at most 2 minutes).", f.Name)
	}
	return fmt.Sprintf("find %s in the chassis without an LED (%s): %s. %s; keep every disk whose label shows one of: %s. Never pull %s, the survivor.%s",
		f.Name, why, what, pull, b.keepText(), b.survivor.Label(), blink)
}

// ledOffStep turns off the locate LED after the old disk is pulled when no verify step
// follows the locate step (--replace).
func (b *builder) ledOffStep() {
	l := b.locateLED()
	if l == nil {
		return
	}
	b.add(Step{ID: "led-off", Action: ActionLEDOff, Target: Target{LED: l},
		Reason: fmt.Sprintf("turn off the locate LED of %s", l.Place())})
}

// lit is the LED a locate step before this point lights, for the verify step to turn off.
func (b *builder) lit() *LED {
	for _, s := range b.steps {
		if s.Action == ActionLocate && s.Target.LED != nil {
			return s.Target.LED
		}
	}
	return nil
}
