package identify

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
)

// This file names the bay a disk sits in and how its LEDs can be driven, from what the kernel
// exposes:
//
//   - the enclosure class (drivers/misc/enclosure.c, filled by ses for SAS/SATA backplanes):
//     /sys/class/enclosure/ENC links to the enclosure device, whose directory holds one
//     directory per component (named by the SES descriptor, "Slot 03", or by its number)
//     with the attributes slot, locate, fault, status and a "device" link to the SCSI device
//     in the slot; the enclosure itself has "id" (its logical identifier) and a "device"
//     link to the SES device, with that device's vendor and model. The kernel also gives the
//     disk's SCSI device an "enclosure_device:COMPONENT" link back to the slot.
//   - NPEM or the _DSM interface (drivers/pci/npem.c, Linux 6.12 and later): LED class devices
//     named "<PCI device>:enclosure:<pattern>" (locate, fail, ok, rebuild, ...) registered
//     on the PCI device that owns the slot: /sys/class/leds/0000:02:00.0:enclosure:locate.
//   - ledctl (ledmon), when it is installed, the kernel offers no LED file and ledmon has a
//     way of its own: AHCI SGPIO for a SATA disk, Intel VMD for an NVMe disk.
//
// Identification never guesses: a disk that two slots claim, or that the kernel links to a
// slot whose own device link does not lead back to it, gets no bay and a BayError that names
// the disk and what disagreed.

// LEDMethod is how a bay's LEDs are driven.
type LEDMethod string

// LED methods, in raidswap's order of preference.
const (
	LEDEnclosure LEDMethod = "enclosure"
	LEDNPEM      LEDMethod = "npem"
	LEDLedctl    LEDMethod = "ledctl"
)

// Bay is where a disk sits and how its locate and fault LEDs are driven.
type Bay struct {
	// LED is how the LEDs are driven.
	LED LEDMethod `json:"led"`
	// Enclosure is the enclosure's name under /sys/class/enclosure (the SES device's SCSI
	// address, 0:0:1:0); EnclosureID is its logical identifier (stable across reboots),
	// Vendor and Model its SES device's.
	Enclosure   string `json:"enclosure,omitempty"`
	EnclosureID string `json:"enclosure_id,omitempty"`
	Vendor      string `json:"vendor,omitempty"`
	Model       string `json:"model,omitempty"`
	// Slot is the component's name in the enclosure ("Slot 03"); Number is its slot
	// attribute, when the kernel gives one.
	Slot   string `json:"slot,omitempty"`
	Number *int   `json:"slot_number,omitempty"`
	// PCI is the PCI device whose NPEM LEDs serve the bay (0000:02:00.0).
	PCI string `json:"pci,omitempty"`
	// Locate and Fault are the files written to light the LEDs (empty for ledctl).
	Locate string `json:"locate,omitempty"`
	Fault  string `json:"fault,omitempty"`
}

// Label names the bay for a person.
func (b *Bay) Label() string {
	if b == nil {
		return "bay unknown"
	}
	switch b.LED {
	case LEDEnclosure:
		s := fmt.Sprintf("enclosure %s", b.Enclosure)
		var about []string
		if m := strings.TrimSpace(b.Vendor + " " + b.Model); m != "" {
			about = append(about, m)
		}
		if b.EnclosureID != "" {
			about = append(about, "id "+b.EnclosureID)
		}
		if len(about) > 0 {
			s += " (" + strings.Join(about, ", ") + ")"
		}
		s += fmt.Sprintf(" slot %q", b.Slot)
		if b.Number != nil && strconv.Itoa(*b.Number) != b.Slot {
			s += fmt.Sprintf(" (number %d)", *b.Number)
		}
		return s
	case LEDNPEM:
		return "the PCIe slot of " + b.PCI + " (NPEM LEDs)"
	case LEDLedctl:
		return "no enclosure slot known to the kernel (ledctl drives its LEDs)"
	}
	return "bay unknown"
}

// Same reports whether two bays are the same place driven the same way: the same enclosure
// (by logical id when both know it) and slot, or the same PCI device.
func (b *Bay) Same(o *Bay) bool {
	if b == nil || o == nil || b.LED != o.LED {
		return false
	}
	switch b.LED {
	case LEDEnclosure:
		if b.EnclosureID != "" && o.EnclosureID != "" && b.EnclosureID != o.EnclosureID {
			return false
		}
		return b.Enclosure == o.Enclosure && b.Slot == o.Slot
	case LEDNPEM:
		return b.PCI == o.PCI
	}
	return true
}

// BayError says why a disk's bay is not given.
type BayError struct {
	Disk   string
	Reason string
}

func (e *BayError) Error() string {
	return fmt.Sprintf("%s: bay unknown: %s", e.Disk, e.Reason)
}

// EnclosureDir is the kernel's enclosure class directory.
const EnclosureDir = "/sys/class/enclosure"

// LEDsDir is the kernel's LED class directory (NPEM LEDs live there).
const LEDsDir = "/sys/class/leds"

// Slot is one component of an enclosure as the kernel lists it.
type Slot struct {
	Enclosure   string
	EnclosureID string
	Vendor      string
	Model       string
	Name        string
	// Number is the slot attribute, -1 when the kernel gives none.
	Number int
	// Device is the system path the slot's device link resolves to ("" for an empty slot).
	Device string
}

// Enclosures lists every slot of every enclosure under root. Slots that cannot be read are
// left out and said in problems (an empty slot, which has no device link, is not a problem).
func Enclosures(root *host.Root) (slots []Slot, problems []string) {
	encs, err := root.ReadDir(EnclosureDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, []string{fmt.Sprintf("listing %s: %v", EnclosureDir, err)}
	}
	for _, e := range encs {
		dir := EnclosureDir + "/" + e.Name()
		id, _ := root.ReadString(dir + "/id")
		vendor, _ := root.ReadString(dir + "/device/vendor")
		model, _ := root.ReadString(dir + "/device/model")
		comps, err := root.ReadDir(dir)
		if err != nil {
			problems = append(problems, fmt.Sprintf("enclosure %s: listing its slots: %v", e.Name(), err))
			continue
		}
		for _, c := range comps {
			cdir := dir + "/" + c.Name()
			// A component is a directory with the kernel's component attributes; "power"
			// and the links (device, subsystem) are not components.
			if !c.IsDir() || !root.Exists(cdir+"/status") && !root.Exists(cdir+"/locate") {
				continue
			}
			s := Slot{Enclosure: e.Name(), EnclosureID: id, Vendor: vendor, Model: model, Name: c.Name(), Number: -1}
			if n, err := root.ReadString(cdir + "/slot"); err == nil {
				if v, err := strconv.Atoi(n); err == nil && v >= 0 {
					s.Number = v
				}
			}
			dev, err := root.ResolveLink(cdir + "/device")
			switch {
			case err == nil:
				s.Device = dev
			case errors.Is(err, fs.ErrNotExist):
				// An empty slot.
			default:
				problems = append(problems, fmt.Sprintf("enclosure %s slot %q: reading its device link: %v", e.Name(), c.Name(), err))
				continue
			}
			slots = append(slots, s)
		}
	}
	sort.Slice(slots, func(i, j int) bool {
		if slots[i].Enclosure != slots[j].Enclosure {
			return slots[i].Enclosure < slots[j].Enclosure
		}
		return slots[i].Name < slots[j].Name
	})
	return slots, problems
}

// pciNameRE is a PCI device's name (domain:bus:device.function).
var pciNameRE = regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$`)

// IsPCIName reports whether s is a PCI device name such as 0000:02:00.0.
func IsPCIName(s string) bool { return pciNameRE.MatchString(s) }

// BayOf finds the bay of whole disk name among slots (from Enclosures): its enclosure slot,
// else the NPEM LEDs of its PCIe slot (NVMe), else ledctl when installed for a SCSI/SATA or
// NVMe disk. It returns nil and no error when nothing is known, and a *BayError when the
// kernel's data disagree (never a guess).
func BayOf(root *host.Root, name string, slots []Slot) (*Bay, error) {
	dev, err := root.ResolveLink("/sys/block/" + name + "/device")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, &BayError{Disk: name, Reason: fmt.Sprintf("reading /sys/block/%s/device: %v", name, err)}
	}
	if dev != "" {
		var claim []Slot
		for _, s := range slots {
			if s.Device == dev {
				claim = append(claim, s)
			}
		}
		switch len(claim) {
		case 1:
			return slotBay(claim[0]), nil
		case 0:
			// The kernel links a disk in an enclosure back to its slot: a back link without
			// the slot's own link means the enclosure's data disagree.
			var back []string
			if len(slots) > 0 {
				back, _ = root.Glob("/sys/block/" + name + "/device/enclosure_device:*")
			}
			if len(back) > 0 {
				comp := strings.TrimPrefix(path.Base(back[0]), "enclosure_device:")
				return nil, &BayError{Disk: name, Reason: fmt.Sprintf("the kernel links it to enclosure slot %q, but no slot's device link leads to %s (the slot's link is missing or points elsewhere)", comp, dev)}
			}
		default:
			var names []string
			for _, s := range claim {
				names = append(names, fmt.Sprintf("%s slot %q", s.Enclosure, s.Name))
			}
			return nil, &BayError{Disk: name, Reason: fmt.Sprintf("%d enclosure slots claim it (%s): raidswap will not guess which bay holds it", len(claim), strings.Join(names, ", "))}
		}
		if b := npemBay(root, name, dev); b != nil {
			return b, nil
		}
	}
	if dev != "" && ledctlCan(root, name, dev) && root.Exists(host.Ledctl) {
		return &Bay{LED: LEDLedctl}, nil
	}
	return nil, nil
}

// vmdDomainRE is a PCI domain of Intel VMD (10000 and up), under which NVMe LEDs are driven
// by ledmon.
var vmdDomainRE = regexp.MustCompile(`^pci[1-9a-f][0-9a-f]{4}:[0-9a-f]{2}$`)

// ledctlCan reports whether ledctl has a way to drive the disk's LED that the kernel does
// not offer itself, as ledmon decides it from sysfs: a SATA disk behind an AHCI port with
// SGPIO enclosure management (scsi_host em_message_type "sgpio"), or an NVMe disk in a VMD
// domain. Elsewhere (virtio, a SAS HBA without an enclosure) ledctl says "device not
// supported", so no LED is claimed.
func ledctlCan(root *host.Root, name, dev string) bool {
	parts := strings.Split(dev, "/")
	switch {
	case strings.HasPrefix(name, "sd"):
		for _, p := range parts {
			if !strings.HasPrefix(p, "host") {
				continue
			}
			t, err := root.ReadString("/sys/class/scsi_host/" + p + "/em_message_type")
			return err == nil && strings.Contains(t, "sgpio")
		}
	case strings.HasPrefix(name, "nvme"):
		for _, p := range parts {
			if vmdDomainRE.MatchString(p) {
				return true
			}
		}
	}
	return false
}

func slotBay(s Slot) *Bay {
	b := &Bay{LED: LEDEnclosure, Enclosure: s.Enclosure, EnclosureID: s.EnclosureID, Vendor: s.Vendor, Model: s.Model, Slot: s.Name}
	if s.Number >= 0 {
		n := s.Number
		b.Number = &n
	}
	b.Locate, b.Fault = b.file(LampLocate), b.file(LampFault)
	return b
}

// npemBay finds NPEM LEDs for an NVMe disk: on its controller's PCI function, or on the PCIe
// port above it when that port has no other device below it (a port shared by several
// devices is not one bay).
func npemBay(root *host.Root, name, dev string) *Bay {
	if !strings.HasPrefix(name, "nvme") {
		// A SCSI disk's PCI ancestor is its HBA, which serves every disk behind it.
		return nil
	}
	// /sys/block/nvme0n1/device is the controller, .../0000:02:00.0/nvme/nvme0.
	fn := path.Dir(path.Dir(dev))
	if !IsPCIName(path.Base(fn)) {
		return nil
	}
	has := func(pci string) bool { return root.Exists(LEDsDir + "/" + pci + ":enclosure:locate") }
	bay := func(pci string) *Bay {
		b := &Bay{LED: LEDNPEM, PCI: pci}
		b.Locate, b.Fault = b.file(LampLocate), b.file(LampFault)
		return b
	}
	if has(path.Base(fn)) {
		return bay(path.Base(fn))
	}
	port := path.Dir(fn)
	if !IsPCIName(path.Base(port)) || !has(path.Base(port)) {
		return nil
	}
	ents, err := root.ReadDir(port)
	if err != nil {
		return nil
	}
	n := 0
	for _, e := range ents {
		if IsPCIName(e.Name()) {
			n++
		}
	}
	if n != 1 {
		return nil
	}
	return bay(path.Base(port))
}
