package exec

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/stream"
)

// LEDDriver turns a bay's locate LED on or off: dev is the disk's kernel name now (ledctl
// names it), disk how the operator knows it, for errors.
type LEDDriver interface {
	Locate(ctx context.Context, b *identify.Bay, on bool, dev, disk string) error
}

// SysLEDs drives LEDs the way identify does: the kernel's enclosure and NPEM files under
// Root, ledctl through Runner.
type SysLEDs struct {
	Root   *host.Root
	Runner host.Runner
}

// Locate turns the bay's locate LED on or off.
func (s SysLEDs) Locate(ctx context.Context, b *identify.Bay, on bool, dev, disk string) error {
	return identify.SetLED(ctx, s.Root, s.Runner, b, identify.LampLocate, on, dev, disk)
}

// Journal note keys of LED changes. Every change is a note with noteLED "on", "off" or
// "error" and the LED's typed operands (noteLEDTarget, JSON), so abort and resume can turn
// off what a run lit from the journal alone.
const (
	noteLED       = "led"
	noteLEDTarget = "led_target"
	noteLEDWhy    = "led_why"
	noteLEDError  = "led_error"
)

// locate runs a locate step: it says where the disk is and lights the bay's LED, after
// checking on the fresh discovery that the bay still holds the disk the plan means
// (plan.LEDHolds). A bay that no longer does is refused, never lit.
func (r *run) locate(ctx context.Context, s plan.Step) error {
	r.say(s.Reason)
	l := s.Target.LED
	if l == nil {
		return nil
	}
	if l.Whose == plan.LEDFailed && !l.Remembered && r.w.sys.DiskBySerial(l.Serial) == nil {
		// Pulled before the step ran: there is nothing left to point at.
		r.say(fmt.Sprintf("no disk with serial %s is attached any more (pulled already): the locate LED is not lit", l.Serial))
		return nil
	}
	if err := plan.LEDHolds(r.w.sys, l); err != nil {
		return &RefusedError{Step: s.ID, Device: s.Target.Device, Serial: l.Serial,
			Reason: fmt.Sprintf("not lighting the locate LED of %s: %v", l.Place(), err)}
	}
	r.setLED(ctx, s.ID, l, true, "locate")
	return nil
}

// ledOff turns off a locate LED (verify, led-off, resume). Turning an LED off is harmless,
// so only its operands are checked; an LED that cannot be driven is said, not fatal.
func (r *run) ledOff(ctx context.Context, step string, l *plan.LED, why string) {
	if l != nil {
		r.setLED(ctx, step, l, false, why)
	}
}

// setLED drives one LED and journals the change. A failure is told to the operator with the
// way to find the disk without the LED, and journalled; the replacement goes on, since every
// step that writes checks serials itself.
func (r *run) setLED(ctx context.Context, step string, l *plan.LED, on bool, why string) {
	state := map[bool]string{true: "on", false: "off"}[on]
	target, _ := json.Marshal(l)
	data := map[string]string{noteLED: state, noteLEDTarget: string(target), noteLEDWhy: why}
	err := r.driveLED(ctx, l, on)
	if err != nil {
		data[noteLED], data[noteLEDError] = "error", err.Error()
	}
	rec := stream.Record{Kind: stream.Note, Name: "led", Step: step, Data: data, Msg: "LED " + state,
		Say: fmt.Sprintf("locate LED of %s: %s", l.Place(), state)}
	if err != nil {
		rec.Level, rec.Err, rec.Msg = stream.Warning, err, "LED not driven"
		rec.Say = fmt.Sprintf("could not turn %s the locate LED of %s: %v. Find the disk by its serial on the label and its bus path, as the locate step says.", state, l.Place(), err)
	}
	if jerr := r.emit(rec); jerr != nil {
		r.say("journal: " + jerr.Error())
	}
}

func (r *run) driveLED(ctx context.Context, l *plan.LED, on bool) error {
	var sys *discover.System
	if r.w != nil {
		sys = r.w.sys
	}
	return DriveLED(ctx, r.o.LEDs, sys, l, on)
}

// DriveLED turns the plan's LED l on or off through leds, naming the disk as sys (a fresh
// discovery; nil when none) shows it, and refusing a ledctl LED whose disk has another kernel
// name now or has gone. Whether the bay still holds the plan's disk is plan.LEDHolds's, which
// the caller asks before lighting.
func DriveLED(ctx context.Context, leds LEDDriver, sys *discover.System, l *plan.LED, on bool) error {
	if leds == nil {
		return fmt.Errorf("no LED driver configured")
	}
	label, dev := "serial "+l.Serial, l.Device
	if sys != nil {
		if d := sys.DiskBySerial(l.Serial); d != nil {
			label = d.Label()
			if l.Method == identify.LEDLedctl && d.Name != l.Device {
				return fmt.Errorf("ledctl would name /dev/%s, which is now %s", l.Device, d.Label())
			}
		} else if l.Method == identify.LEDLedctl {
			return fmt.Errorf("ledctl cannot address /dev/%s: the disk with serial %s is not attached (ledmon or the controller clears its pattern on removal)", l.Device, l.Serial)
		}
	}
	return leds.Locate(ctx, l.Bay(), on, dev, label)
}

// litLEDs are the LEDs the journal shows lit and not turned off since, in the order lit.
func litLEDs(j *journal.Journal) []*plan.LED {
	state := map[string]string{}
	var order []string
	for _, rec := range j.Records {
		t, ok := rec.Data[noteLEDTarget]
		if !ok {
			continue
		}
		if _, seen := state[t]; !seen {
			order = append(order, t)
		}
		state[t] = rec.Data[noteLED]
	}
	var out []*plan.LED
	for _, t := range order {
		if state[t] != "on" {
			continue
		}
		var l plan.LED
		if err := json.Unmarshal([]byte(t), &l); err == nil {
			out = append(out, &l)
		}
	}
	return out
}

// resumeLEDs turns off, on a resumed run, the LEDs the interrupted run left lit (the machine
// may have rebooted and the bay may hold another disk by now), and lights the locate LED
// again, re-checked, when the locate step is done but the disk is still to be pulled.
func (r *run) resumeLEDs(ctx context.Context) {
	if r.w.scope != nil {
		return // a drill's disks sit in no bay
	}
	for _, l := range litLEDs(r.j) {
		r.ledOff(ctx, "", l, "resume")
	}
	var loc, pull *plan.Step
	for i := range r.p.Steps {
		switch r.p.Steps[i].Action {
		case plan.ActionLocate:
			loc = &r.p.Steps[i]
		case plan.ActionAwaitRemoval:
			pull = &r.p.Steps[i]
		}
	}
	if loc == nil || loc.Target.LED == nil || r.j.LastIndex(loc.ID, journal.EventDone) < 0 {
		return
	}
	if pull == nil || r.j.LastIndex(pull.ID, journal.EventDone, journal.EventSkipped) >= 0 {
		return
	}
	if err := plan.LEDHolds(r.w.sys, loc.Target.LED); err != nil {
		r.say(fmt.Sprintf("not lighting the locate LED of %s again: %v", loc.Target.LED.Place(), err))
		return
	}
	r.setLED(ctx, loc.ID, loc.Target.LED, true, "resume: the disk is still to be pulled")
}

// abortLEDs turns off the LEDs an aborted run left lit, and journals each change.
func abortLEDs(j *journal.Journal, out stream.Sink, leds LEDDriver) []string {
	var said []string
	for _, l := range litLEDs(j) {
		target, _ := json.Marshal(l)
		data := map[string]string{noteLED: "off", noteLEDTarget: string(target), noteLEDWhy: "abort"}
		var err error
		if leds == nil {
			err = fmt.Errorf("no LED driver configured")
		} else {
			err = leds.Locate(context.Background(), l.Bay(), false, l.Device, "serial "+l.Serial)
		}
		if err != nil {
			data[noteLED], data[noteLEDError] = "error", err.Error()
			said = append(said, fmt.Sprintf("could not turn off the locate LED of %s: %v", l.Place(), err))
		} else {
			said = append(said, "turned off the locate LED of "+l.Place())
		}
		if jerr := out.Put(stream.Record{Kind: stream.Note, Name: "led", Data: data}); jerr != nil {
			said = append(said, "journal: "+jerr.Error())
		}
	}
	return said
}
