package identify

import (
	"bytes"
	"encoding/binary"
	"math"

	smart "github.com/anatol/smart.go"
)

// This file decodes and judges the NVMe SMART / health information log page (log 02h,
// 512 bytes, smart.go's smart.NvmeSMARTLog).

// NVMeLogSize is the size of the SMART / health information log page.
const NVMeLogSize = 512

// nvmeCriticalBits names the critical warning bits.
var nvmeCriticalBits = []struct {
	bit  uint8
	what string
}{
	{0x01, "available spare is below its threshold"},
	{0x02, "a temperature is outside its threshold"},
	{0x04, "reliability is degraded by media or internal errors"},
	{0x08, "the media is read-only"},
	{0x10, "the volatile memory backup device has failed"},
	{0x20, "the persistent memory region is read-only or unreliable"},
}

// DecodeNVMe judges a disk from its SMART / health log page as the controller returned it.
func DecodeNVMe(page []byte) Health {
	if len(page) < NVMeLogSize {
		return unknown("nvme", "the NVMe health log page is truncated (%d of %d bytes)", len(page), NVMeLogSize)
	}
	var l smart.NvmeSMARTLog
	if err := binary.Read(bytes.NewReader(page[:NVMeLogSize]), binary.LittleEndian, &l); err != nil {
		return unknown("nvme", "decoding the NVMe health log page: %v", err)
	}
	return judgeNVMe(&l)
}

// judgeNVMe is the one NVMe judgement, for both sources.
func judgeNVMe(l *smart.NvmeSMARTLog) Health {
	h := Health{Protocol: "nvme"}
	switch {
	case *l == (smart.NvmeSMARTLog{}):
		return unknown("nvme", "the NVMe health log is all zeros (the controller returned nothing: no temperature, no power-on hours)")
	case l.AvailSpare > 100 || l.SpareThresh > 100:
		return unknown("nvme", "the NVMe health log is garbage: available spare %d%%, threshold %d%% (percentages run 0 to 100)", l.AvailSpare, l.SpareThresh)
	case l.CritWarning&0xc0 != 0:
		return unknown("nvme", "the NVMe health log is garbage: reserved critical warning bits set (0x%02x)", l.CritWarning)
	}
	n := &NVMeHealth{CriticalWarning: l.CritWarning, AvailableSpare: l.AvailSpare, SpareThreshold: l.SpareThresh,
		PercentageUsed: l.PercentUsed, MediaErrors: sat128(l.MediaErrors), TemperatureKelvin: l.Temperature}
	h.NVMe = n
	var v verdict
	for _, b := range nvmeCriticalBits {
		if l.CritWarning&b.bit != 0 {
			v.fail("NVMe critical warning 0x%02x: %s", b.bit, b.what)
		}
	}
	// The controller sets bit 0 itself; an available spare under a non-zero threshold
	// without it is still a spare below threshold.
	if l.CritWarning&0x01 == 0 && l.SpareThresh > 0 && l.AvailSpare < l.SpareThresh {
		v.fail("available spare %d%% is below its threshold %d%%", l.AvailSpare, l.SpareThresh)
	}
	if n.MediaErrors > 0 {
		v.warn("%d media errors (unrecovered data integrity errors)", n.MediaErrors)
	}
	if n.PercentageUsed >= 100 {
		v.warn("percentage used is %d%%: the rated endurance is used up", n.PercentageUsed)
	}
	v.apply(&h)
	return h
}

// sat128 is a 128-bit counter, saturated at the largest uint64.
func sat128(u smart.Uint128) uint64 {
	if u.Val[1] != 0 {
		return math.MaxUint64
	}
	return u.Val[0]
}
