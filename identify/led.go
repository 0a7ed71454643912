package identify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"syscall"
	"time"

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

// SetFault turns the fault LED of disk name on or off, reading its bay afresh (the mdadm
// event hook calls it on Fail and on RebuildFinished). name is a kernel name or /dev path of
// a whole disk or of one of its partitions (an md member such as /dev/sdb3). A disk with no known LED is an
// *LEDError that says so; a disk whose bay is ambiguous is a *BayError and nothing is
// written.
func SetFault(ctx context.Context, root *host.Root, run host.Runner, name string, on bool) error {
	name = WholeDisk(root, strings.TrimPrefix(name, "/dev/"))
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

// BlinkMax bounds a read-activity blink: it stops after this long even when nobody stops it.
const BlinkMax = 2 * time.Minute

// Blink rhythm: reads for blinkOn, then nothing for blinkOff, so the disk's activity LED
// blinks in a pattern a person can pick out from other disks' activity.
const (
	blinkOn    = time.Second
	blinkOff   = time.Second
	blinkChunk = 1 << 20
)

// Blink reads whole disk name (O_DIRECT, sequentially, wrapping at its end) in bursts of one
// second separated by one second of rest, until ctx ends or d has passed (at most
// BlinkMax). It only reads. tick, when set, is told of each burst's start and end. It returns
// how many bytes it read; a disk whose first read fails does not answer reads and is an
// error. The caller decides which disk may blink (never the survivor).
func Blink(ctx context.Context, root *host.Root, name string, d time.Duration, tick func(reading bool)) (int64, error) {
	if !kernelNameRE.MatchString(name) {
		return 0, fmt.Errorf("%q is not a disk's kernel name", name)
	}
	if d <= 0 || d > BlinkMax {
		d = BlinkMax
	}
	sectors := readInt(root, "/sys/block/"+name+"/size")
	size := int64(sectors) * 512
	f, err := root.OpenDirect("/dev/" + name)
	if err != nil {
		return 0, fmt.Errorf("opening /dev/%s: %w", name, err)
	}
	defer f.Close()
	chunk := int64(blinkChunk)
	if size > 0 && size < chunk {
		chunk = size &^ 4095
	}
	if chunk <= 0 {
		return 0, fmt.Errorf("/dev/%s is too small to read from (%d bytes)", name, size)
	}
	// O_DIRECT wants a buffer aligned to the logical block size: an anonymous mapping is
	// page-aligned.
	buf, err := syscall.Mmap(-1, 0, int(chunk), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return 0, fmt.Errorf("read buffer: %w", err)
	}
	defer syscall.Munmap(buf)
	deadline := time.Now().Add(d)
	var total, off int64
	for {
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return total, nil
		}
		if tick != nil {
			tick(true)
		}
		burst := time.Now().Add(blinkOn)
		for time.Now().Before(burst) && time.Now().Before(deadline) && ctx.Err() == nil {
			if size > 0 && off+chunk > size {
				off = 0
			}
			n, err := f.ReadAt(buf, off)
			total += int64(n)
			switch {
			case err == nil || n > 0:
				off += int64(n)
			case errors.Is(err, io.EOF) && off > 0:
				off = 0
			case total == 0:
				return 0, fmt.Errorf("/dev/%s does not answer reads: %w", name, err)
			default:
				return total, fmt.Errorf("/dev/%s stopped answering reads after %d bytes: %w", name, total, err)
			}
		}
		if tick != nil {
			tick(false)
		}
		select {
		case <-ctx.Done():
			return total, nil
		case <-time.After(min(blinkOff, time.Until(deadline))):
		}
	}
}

// WholeDisk is the whole disk holding partition name (sdb3 -> sdb, nvme0n1p2 -> nvme0n1), or
// name itself when it is not a partition the kernel lists.
func WholeDisk(root *host.Root, name string) string {
	if !kernelNameRE.MatchString(name) || root.Exists("/sys/block/"+name) || !root.Exists("/sys/class/block/"+name+"/partition") {
		return name
	}
	p, err := root.ResolveLink("/sys/class/block/" + name)
	if err != nil {
		return name
	}
	return path.Base(path.Dir(p))
}
