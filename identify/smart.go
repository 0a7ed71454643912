package identify

import (
	"fmt"
	"strings"
)

// This file is SMART's verdict: what a disk's own health record says, judged the same way
// whether the record was read from the device (smart_device.go) or from recorded pages
// (DecodeATA, DecodeNVMe). Judging is pure; reading is behind the SMARTReader seam.

// SMARTState is the verdict of a disk's SMART record.
type SMARTState string

// SMART verdicts, from good to bad, then the two that judge nothing.
const (
	// SMARTOK: the record was read and nothing in it needs attention.
	SMARTOK SMARTState = "ok"
	// SMARTWarning: sectors were reallocated, are pending or could not be read, or the link
	// had CRC errors or command timeouts. The disk works; its data needs a second look.
	SMARTWarning SMARTState = "warning"
	// SMARTFailing: a pre-failure attribute is at or below its threshold, or an NVMe
	// critical warning is set: the disk itself predicts its failure.
	SMARTFailing SMARTState = "failing"
	// SMARTUnavailable: the device has no SMART (virtio, loop, zram, a SCSI disk raidswap
	// reads no log pages of). Not an error.
	SMARTUnavailable SMARTState = "unavailable"
	// SMARTUnknown: SMART should be there but could not be judged (the read timed out or
	// failed, or what came back is garbage). Never taken as ok.
	SMARTUnknown SMARTState = "unknown"
)

// Health is one disk's SMART record as raidswap judges it.
type Health struct {
	State SMARTState `json:"state"`
	// Protocol is what answered: "ata" or "nvme" ("" when nothing did).
	Protocol string `json:"protocol,omitempty"`
	// Reasons say why State is what it is, one line each, worst first. An ok record has
	// none; every other state has at least one.
	Reasons []string `json:"reasons,omitempty"`
	// Denied: unknown only because this user may not open the device (not root). It says
	// nothing of the disk, so it raises no warning.
	Denied bool `json:"denied,omitempty"`

	// The sector and link counters of an ATA disk: the raw values of attributes 5, 197,
	// 198, 187, 188 and 199. Nil: the disk does not report it (NVMe: see NVMe.MediaErrors).
	Reallocated   *uint64 `json:"reallocated_sectors,omitempty"`
	Pending       *uint64 `json:"pending_sectors,omitempty"`
	Uncorrectable *uint64 `json:"offline_uncorrectable,omitempty"`
	Reported      *uint64 `json:"reported_uncorrectable,omitempty"`
	Timeouts      *uint64 `json:"command_timeouts,omitempty"`
	CRCErrors     *uint64 `json:"crc_errors,omitempty"`

	// Attributes are every ATA attribute the disk reported.
	Attributes []Attribute `json:"attributes,omitempty"`
	// NVMe is the NVMe SMART / health log.
	NVMe *NVMeHealth `json:"nvme,omitempty"`
}

// Attribute is one ATA SMART attribute.
type Attribute struct {
	ID   uint8  `json:"id"`
	Name string `json:"name"`
	// Value and Worst are the normalized values (1..253; 0 or above 253: the disk keeps
	// none), Threshold the disk's own limit (0: none).
	Value     uint8 `json:"value"`
	Worst     uint8 `json:"worst"`
	Threshold uint8 `json:"threshold"`
	// Raw is the raw counter, decoded as smartctl's default for the attribute.
	Raw uint64 `json:"raw"`
	// Prefailure is the attribute's pre-failure flag (bit 0): crossing its threshold
	// predicts a failure, where an old-age attribute's only says the disk is worn.
	Prefailure bool `json:"prefailure"`
	// AtThreshold: Value is at or below a non-zero Threshold.
	AtThreshold bool `json:"at_threshold,omitempty"`
}

// NVMeHealth is what raidswap takes from the NVMe SMART / health information log page.
type NVMeHealth struct {
	// CriticalWarning is the bit field of byte 0: 0x01 spare below threshold, 0x02
	// temperature, 0x04 reliability degraded, 0x08 read-only, 0x10 volatile backup failed,
	// 0x20 persistent memory region unreliable.
	CriticalWarning uint8 `json:"critical_warning"`
	// AvailableSpare and SpareThreshold are percentages (0..100).
	AvailableSpare uint8 `json:"available_spare"`
	SpareThreshold uint8 `json:"available_spare_threshold"`
	// PercentageUsed is the vendor's estimate of life used (may exceed 100; 255 means ≥ 255).
	PercentageUsed uint8 `json:"percentage_used"`
	// MediaErrors are unrecovered data integrity errors over the device's life.
	MediaErrors uint64 `json:"media_errors"`
	// TemperatureKelvin is the composite temperature (0: not reported).
	TemperatureKelvin uint16 `json:"temperature_kelvin"`
}

// Judged reports whether the record says anything of the disk's health: ok, warning or
// failing. Unavailable and unknown judge nothing.
func (h *Health) Judged() bool {
	return h != nil && (h.State == SMARTOK || h.State == SMARTWarning || h.State == SMARTFailing)
}

// BadSectors is the number of sectors the disk reports reallocated, pending or
// uncorrectable (NVMe: media errors), and whether it reports any such counter at all. A
// rebuild reads every sector of the survivor, and a new disk should start with none.
func (h *Health) BadSectors() (uint64, bool) {
	if h == nil {
		return 0, false
	}
	var n uint64
	seen := false
	for _, c := range h.sectorCounters() {
		n, seen = n+c.n, true
	}
	return n, seen
}

// SectorSummary names the non-zero bad-sector counters: "8 reallocated, 2 pending
// sectors", or for NVMe "12 media errors"; "" when all are zero.
func (h *Health) SectorSummary() string {
	if h == nil {
		return ""
	}
	var parts []string
	for _, c := range h.sectorCounters() {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	if h.NVMe == nil {
		return strings.Join(parts, ", ") + " sectors"
	}
	return strings.Join(parts, ", ")
}

type counter struct {
	n    uint64
	what string
}

// sectorCounters are the bad-sector counters the disk reports.
func (h *Health) sectorCounters() []counter {
	var out []counter
	for _, c := range []struct {
		p    *uint64
		what string
	}{{h.Reallocated, "reallocated"}, {h.Pending, "pending"}, {h.Uncorrectable, "offline uncorrectable"}, {h.Reported, "reported uncorrectable"}} {
		if c.p != nil {
			out = append(out, counter{*c.p, c.what})
		}
	}
	if h.NVMe != nil {
		out = append(out, counter{h.NVMe.MediaErrors, "media errors"})
	}
	return out
}

// Summary is one line for a person: "ok", "warning: 8 reallocated sectors", "SMART
// unavailable: ...".
func (h *Health) Summary() string {
	if h == nil {
		return "not read"
	}
	switch h.State {
	case SMARTOK:
		return "ok"
	case SMARTUnavailable:
		if len(h.Reasons) > 0 {
			return "SMART unavailable (" + h.Reasons[0] + ")"
		}
		return "SMART unavailable"
	}
	return string(h.State) + ": " + strings.Join(h.Reasons, "; ")
}

// unknown and unavailable build the verdicts that judge nothing.
func unknown(protocol, format string, args ...any) Health {
	return Health{State: SMARTUnknown, Protocol: protocol, Reasons: []string{fmt.Sprintf(format, args...)}}
}

func unavailable(format string, args ...any) Health {
	return Health{State: SMARTUnavailable, Reasons: []string{fmt.Sprintf(format, args...)}}
}

// verdict collects reasons by severity and gives the worse state.
type verdict struct{ failing, warning []string }

func (v *verdict) fail(format string, args ...any) {
	v.failing = append(v.failing, fmt.Sprintf(format, args...))
}
func (v *verdict) warn(format string, args ...any) {
	v.warning = append(v.warning, fmt.Sprintf(format, args...))
}

func (v *verdict) apply(h *Health) {
	h.Reasons = append(v.failing, v.warning...)
	switch {
	case len(v.failing) > 0:
		h.State = SMARTFailing
	case len(v.warning) > 0:
		h.State = SMARTWarning
	default:
		h.State = SMARTOK
	}
}
