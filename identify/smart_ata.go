package identify

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"

	smart "github.com/anatol/smart.go"
)

// This file decodes and judges ATA SMART: the 512-byte SMART READ DATA page (attributes)
// and SMART READ THRESHOLDS page, in smart.go's layouts (smart.AtaSmartPageRaw,
// smart.AtaSmartThresholdsPageRaw).

// ATAPageSize is the size of the SMART data and thresholds pages.
const ATAPageSize = 512

// The attributes raidswap reads sector and link health from.
const (
	ataReallocated   = 5
	ataReported      = 187
	ataTimeouts      = 188
	ataPending       = 197
	ataUncorrectable = 198
	ataCRC           = 199
)

// ataAttr is one attribute as either source gives it: the recorded page or smart.go's
// decoded one.
type ataAttr struct {
	id             uint8
	flags          uint16
	current, worst uint8
	vendor         [6]byte
	// name and typ are smart.go's, from its drive database, when the device path knows
	// them; else raidswap's defaults (smartctl's).
	name string
	typ  int
}

// DecodeATA judges a disk from its SMART data page and thresholds page as the device
// returned them (512 bytes each). thresholds may be nil when the disk did not give them;
// threshold crossings are then not judged and the record is not ok. Garbage (a short page,
// a wrong checksum, no attribute, an attribute listed twice) gives SMARTUnknown.
func DecodeATA(data, thresholds []byte) Health {
	if len(data) < ATAPageSize {
		return unknown("ata", "the SMART data page is truncated (%d of %d bytes)", len(data), ATAPageSize)
	}
	data = data[:ATAPageSize]
	if !pageChecksumOK(data) {
		return unknown("ata", "the SMART data page fails its checksum (garbage from the disk or the link)")
	}
	var raw smart.AtaSmartPageRaw
	if err := binary.Read(bytes.NewReader(data), binary.LittleEndian, &raw); err != nil {
		return unknown("ata", "decoding the SMART data page: %v", err)
	}
	var attrs []ataAttr
	for _, a := range raw.Attrs {
		if a.Id == 0 {
			continue
		}
		attrs = append(attrs, ataAttr{id: a.Id, flags: a.Flags, current: a.Current, worst: a.Worst, vendor: a.VendorBytes})
	}
	thr, thrErr := decodeThresholds(thresholds)
	return judgeATA(attrs, thr, thrErr)
}

func decodeThresholds(b []byte) (map[uint8]uint8, error) {
	switch {
	case b == nil:
		return nil, fmt.Errorf("the disk gave no SMART thresholds page")
	case len(b) < ATAPageSize:
		return nil, fmt.Errorf("the SMART thresholds page is truncated (%d of %d bytes)", len(b), ATAPageSize)
	case !pageChecksumOK(b[:ATAPageSize]):
		return nil, fmt.Errorf("the SMART thresholds page fails its checksum")
	}
	var raw smart.AtaSmartThresholdsPageRaw
	if err := binary.Read(bytes.NewReader(b[:ATAPageSize]), binary.LittleEndian, &raw); err != nil {
		return nil, fmt.Errorf("decoding the SMART thresholds page: %w", err)
	}
	thr := map[uint8]uint8{}
	for _, e := range raw.ThresholdEntries {
		if e.Id != 0 {
			thr[e.Id] = e.Threshold
		}
	}
	return thr, nil
}

// pageChecksumOK: byte 511 makes the page's bytes sum to 0 modulo 256.
func pageChecksumOK(p []byte) bool {
	var sum byte
	for _, b := range p {
		sum += b
	}
	return sum == 0
}

// judgeATA is the one ATA judgement, for both sources. thrErr says why thresholds are nil.
func judgeATA(attrs []ataAttr, thr map[uint8]uint8, thrErr error) Health {
	h := Health{Protocol: "ata"}
	if len(attrs) == 0 {
		return unknown("ata", "the SMART data page lists no attribute")
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].id < attrs[j].id })
	for i := 1; i < len(attrs); i++ {
		if attrs[i].id == attrs[i-1].id {
			return unknown("ata", "the SMART data page lists attribute %d twice (garbage)", attrs[i].id)
		}
	}
	var v verdict
	for _, a := range attrs {
		at := Attribute{ID: a.id, Name: a.name, Value: a.current, Worst: a.worst, Threshold: thr[a.id],
			Raw: rawValue(a), Prefailure: a.flags&smart.AtaAttributeFlagPrefailure != 0}
		if at.Name == "" {
			at.Name = ataNames[a.id]
		}
		if at.Name == "" {
			at.Name = fmt.Sprintf("Unknown_Attribute_%d", a.id)
		}
		// smartctl's rule: a value of 0 or above 253 is no normalized value, and a
		// threshold of 0 is none.
		if at.Threshold != 0 && at.Value >= 1 && at.Value <= 253 && at.Value <= at.Threshold {
			at.AtThreshold = true
			if at.Prefailure {
				v.fail("pre-failure attribute %d %s is at or below its threshold (%d ≤ %d)", at.ID, at.Name, at.Value, at.Threshold)
			} else {
				v.warn("old-age attribute %d %s is at or below its threshold (%d ≤ %d)", at.ID, at.Name, at.Value, at.Threshold)
			}
		}
		n := at.Raw
		switch a.id {
		case ataReallocated:
			h.Reallocated = &n
			if n > 0 {
				v.warn("%d reallocated sectors (attribute 5)", n)
			}
		case ataPending:
			h.Pending = &n
			if n > 0 {
				v.warn("%d pending sectors (attribute 197): unreadable now, a rebuild reading them fails", n)
			}
		case ataUncorrectable:
			h.Uncorrectable = &n
			if n > 0 {
				v.warn("%d offline uncorrectable sectors (attribute 198)", n)
			}
		case ataReported:
			h.Reported = &n
			if n > 0 {
				v.warn("%d reported uncorrectable errors (attribute 187)", n)
			}
		case ataTimeouts:
			h.Timeouts = &n
			if n > 0 {
				v.warn("%d command timeouts (attribute 188)", n)
			}
		case ataCRC:
			h.CRCErrors = &n
			if n > 0 {
				v.warn("%d interface CRC errors (attribute 199): check the cable and the backplane", n)
			}
		}
		h.Attributes = append(h.Attributes, at)
	}
	v.apply(&h)
	if thrErr != nil {
		// Counters were read, thresholds not: the record cannot be called ok.
		h.Reasons = append(h.Reasons, thrErr.Error()+": attributes were not checked against their thresholds")
		if h.State == SMARTOK {
			h.State = SMARTUnknown
		}
	}
	return h
}

// rawValue decodes the six raw bytes as smartctl does by default for the attribute (or as
// smart.go's drive database types it): a 16-bit count for 5 and 3, 24 bits for 9, the low
// byte for temperatures, else 48 bits.
func rawValue(a ataAttr) uint64 {
	var v uint64
	for i := 5; i >= 0; i-- {
		v = v<<8 | uint64(a.vendor[i])
	}
	typ := a.typ
	if typ == 0 {
		typ = ataDefaultTypes[a.id]
	}
	switch typ {
	case smart.AtaDeviceAttributeTypeRaw16OptRaw16, smart.AtaDeviceAttributeTypeRaw16OptAvg16:
		return v & 0xffff
	case smart.AtaDeviceAttributeTypeRaw24OptRaw8:
		return v & 0xffffff
	case smart.AtaDeviceAttributeTypeTempMinMax:
		return v & 0xff
	}
	return v
}

// ataDefaultTypes are the raw formats of smartctl's default attribute table (the one
// smart.go carries) that are not 48-bit counts.
var ataDefaultTypes = map[uint8]int{
	3: smart.AtaDeviceAttributeTypeRaw16OptAvg16, 5: smart.AtaDeviceAttributeTypeRaw16OptRaw16,
	9: smart.AtaDeviceAttributeTypeRaw24OptRaw8, 196: smart.AtaDeviceAttributeTypeRaw16OptRaw16,
	190: smart.AtaDeviceAttributeTypeTempMinMax, 194: smart.AtaDeviceAttributeTypeTempMinMax,
	240: smart.AtaDeviceAttributeTypeRaw24OptRaw8,
}

// ataNames are smartctl's default attribute names, for pages decoded from bytes.
var ataNames = map[uint8]string{
	1: "Raw_Read_Error_Rate", 2: "Throughput_Performance", 3: "Spin_Up_Time", 4: "Start_Stop_Count",
	5: "Reallocated_Sector_Ct", 7: "Seek_Error_Rate", 8: "Seek_Time_Performance", 9: "Power_On_Hours",
	10: "Spin_Retry_Count", 11: "Calibration_Retry_Count", 12: "Power_Cycle_Count",
	177: "Wear_Leveling_Count", 179: "Used_Rsvd_Blk_Cnt_Tot", 181: "Program_Fail_Cnt_Total",
	182: "Erase_Fail_Count_Total", 183: "Runtime_Bad_Block", 184: "End-to-End_Error",
	187: "Reported_Uncorrect", 188: "Command_Timeout", 189: "High_Fly_Writes",
	190: "Airflow_Temperature_Cel", 191: "G-Sense_Error_Rate", 192: "Power-Off_Retract_Count",
	193: "Load_Cycle_Count", 194: "Temperature_Celsius", 195: "Hardware_ECC_Recovered",
	196: "Reallocated_Event_Count", 197: "Current_Pending_Sector", 198: "Offline_Uncorrectable",
	199: "UDMA_CRC_Error_Count", 200: "Multi_Zone_Error_Rate", 231: "Temperature_Celsius",
	233: "Media_Wearout_Indicator", 240: "Head_Flying_Hours", 241: "Total_LBAs_Written",
	242: "Total_LBAs_Read",
}
