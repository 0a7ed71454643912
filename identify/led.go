package identify

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
)

// Lamp is one of a bay's LEDs.
type Lamp string

// Lamps raidswap drives.
const (
	LampLocate Lamp = "locate"
	LampFault  Lamp = "fault"
)

// file is the kernel file that drives lamp l of the bay ("" for ledctl or an unknown bay).
// The enclosure class takes "1"/"0" in the component's locate and fault attributes; NPEM
// names its fault pattern "fail" and takes a brightness.
func (b *Bay) file(l Lamp) string {
	switch b.LED {
	case LEDEnclosure:
		return EnclosureDir + "/" + b.Enclosure + "/" + b.Slot + "/" + string(l)
	case LEDNPEM:
		pattern := string(l)
		if l == LampFault {
			pattern = "fail"
		}
		return LEDsDir + "/" + b.PCI + ":enclosure:" + pattern + "/brightness"
	}
	return ""
}

// File is the kernel file that drives lamp l (empty when ledctl drives the bay).
func (b *Bay) File(l Lamp) string { return b.file(l) }

// kernelNameRE is a block device's kernel name.
var kernelNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// CheckOperands refuses a bay whose names could point a write anywhere but at one LED: an
// enclosure or slot name with a path separator or "..", a PCI name that is not one, an
// unknown method. Plans carry bays and are untrusted input.
func (b *Bay) CheckOperands() error {
	name := func(what, s string) error {
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00\n") || len(s) > 128 {
			return fmt.Errorf("%s %q is not a sysfs name", what, s)
		}
		return nil
	}
	switch b.LED {
	case LEDEnclosure:
		if err := name("enclosure", b.Enclosure); err != nil {
			return err
		}
		return name("slot", b.Slot)
	case LEDNPEM:
		if !IsPCIName(b.PCI) {
			return fmt.Errorf("PCI device %q is not a PCI device name", b.PCI)
		}
		return nil
	case LEDLedctl:
		return nil
	}
	return fmt.Errorf("LED method %q is unknown to this raidswap", b.LED)
}

// LedctlArgv is ledctl's command for lamp l of whole disk dev: locate= and locate_off=,
// failure= and normal= (ledctl has no "fault off"; normal clears the disk's patterns).
func LedctlArgv(l Lamp, on bool, dev string) ([]string, error) {
	if !kernelNameRE.MatchString(dev) {
		return nil, fmt.Errorf("disk %q is not a kernel name", dev)
	}
	var pattern string
	switch {
	case l == LampLocate && on:
		pattern = "locate"
	case l == LampLocate:
		pattern = "locate_off"
	case l == LampFault && on:
		pattern = "failure"
	case l == LampFault:
		pattern = "normal"
	default:
		return nil, fmt.Errorf("unreachable: lamp %q", l)
	}
	return []string{host.Ledctl, pattern + "=/dev/" + dev}, nil
}

// LEDError is an LED raidswap could not drive.
type LEDError struct {
	Disk string // the disk whose bay it is, as the operator knows it ("sdb (WD-X9)")
	File string // the file written, or the command run
	Err  error
}

func (e *LEDError) Error() string {
	return fmt.Sprintf("cannot drive the LED of %s's bay through %s: %v", e.Disk, e.File, e.Err)
}

func (e *LEDError) Unwrap() error { return e.Err }

// SetLED turns lamp l of bay b on or off: a write of "1" or "0" to the kernel file through
// the Root, or ledctl through the Runner for whole disk dev (its kernel name now). disk
// names the disk in errors. An LED that cannot be driven is an *LEDError.
func SetLED(ctx context.Context, root *host.Root, run host.Runner, b *Bay, l Lamp, on bool, dev, disk string) error {
	if b == nil {
		return &LEDError{Disk: disk, File: "(no bay)", Err: fmt.Errorf("no LED is known for it")}
	}
	if err := b.CheckOperands(); err != nil {
		return &LEDError{Disk: disk, File: string(b.LED), Err: err}
	}
	if l != LampLocate && l != LampFault {
		return &LEDError{Disk: disk, File: string(b.LED), Err: fmt.Errorf("unknown lamp %q", l)}
	}
	if b.LED == LEDLedctl {
		argv, err := LedctlArgv(l, on, dev)
		if err != nil {
			return &LEDError{Disk: disk, File: host.Ledctl, Err: err}
		}
		if _, err := run.Run(ctx, argv...); err != nil {
			return &LEDError{Disk: disk, File: strings.Join(argv, " "), Err: err}
		}
		return nil
	}
	f := b.file(l)
	v := "0"
	if on {
		v = "1"
	}
	if err := root.WriteFile(f, []byte(v)); err != nil {
		return &LEDError{Disk: disk, File: f, Err: err}
	}
	return nil
}

// SetFault turns the fault LED of whole disk name on or off, reading its bay afresh (the mdadm
// event hook calls it on Fail and on RebuildFinished). A disk with no known LED is an
// *LEDError that says so; a disk whose bay is ambiguous is a *BayError and nothing is
// written.
func SetFault(ctx context.Context, root *host.Root, run host.Runner, name string, on bool) error {
	if !kernelNameRE.MatchString(name) {
		return &LEDError{Disk: name, File: "(none)", Err: fmt.Errorf("%q is not a disk's kernel name", name)}
	}
	slots, _ := Enclosures(root)
	b, err := BayOf(root, name, slots)
	if err != nil {
		return err
	}
	label := name
	if s := Serial(root, name); s != "" {
		label = name + " (" + s + ")"
	}
	return SetLED(ctx, root, run, b, LampFault, on, name, label)
}
