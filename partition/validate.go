package partition

import (
	"errors"
	"fmt"
	"sort"
)

// Validate checks a layout before it is written: geometry, identifiers, bounds, overlaps,
// alignment, and the MBR's 32-bit limits and EBR chain. Write calls it; go-diskfs does none
// of these checks, so nothing reaches the disk without them.
func Validate(lay Layout) error {
	g := lay.Geometry
	if err := g.validate(); err != nil {
		return err
	}
	l := int64(g.LogicalSectorSize)
	unit := int64(physicalUnit(g))
	lo, hi := usableBytes(lay.Scheme, g)
	if len(lay.Partitions) == 0 {
		return errors.New("layout has no partitions")
	}
	numbers := map[int]bool{}
	for _, p := range lay.Partitions {
		if numbers[p.Number] {
			return fmt.Errorf("partition number %d appears twice", p.Number)
		}
		numbers[p.Number] = true
		if p.Start%l != 0 || p.Size%l != 0 || p.Size <= 0 {
			return fmt.Errorf("partition %d (byte %d, %d bytes) is not whole %d-byte sectors", p.Number, p.Start, p.Size, l)
		}
		if p.Start < lo || p.End() > hi {
			return fmt.Errorf("partition %d (bytes %d–%d) lies outside the usable area %d–%d", p.Number, p.Start, p.End(), lo, hi)
		}
		if p.IsData() && p.Start%unit != 0 {
			return fmt.Errorf("partition %d starts at byte %d, not on a %d-byte physical sector", p.Number, p.Start, unit)
		}
	}
	if err := checkOverlaps(lay.Partitions); err != nil {
		return err
	}
	switch lay.Scheme {
	case GPT:
		return validateGPT(lay)
	case MBR:
		return validateMBR(lay)
	}
	return fmt.Errorf("unknown scheme %q", lay.Scheme)
}

func validateGPT(lay Layout) error {
	first, last := gptUsable(lay.Geometry)
	if lay.FirstUsableLBA != first || lay.LastUsableLBA != last || lay.EntryCount != gptEntryCount {
		return fmt.Errorf("GPT usable range %d–%d with %d entries does not match the disk (%d–%d, %d entries)", lay.FirstUsableLBA, lay.LastUsableLBA, lay.EntryCount, first, last, gptEntryCount)
	}
	if _, err := guidBytes(lay.DiskGUID); err != nil || lay.DiskGUID == zeroGUID {
		return fmt.Errorf("disk GUID %q is not usable", lay.DiskGUID)
	}
	seen := map[string]int{lay.DiskGUID: 0}
	for _, p := range lay.Partitions {
		if p.Kind != KindGPT {
			return fmt.Errorf("partition %d is of kind %q in a GPT", p.Number, p.Kind)
		}
		if p.Number < 1 || p.Number > gptEntryCount {
			return fmt.Errorf("partition number %d does not fit %d entries", p.Number, gptEntryCount)
		}
		if _, err := guidBytes(p.TypeGUID); err != nil || p.TypeGUID == zeroGUID {
			return fmt.Errorf("partition %d has type GUID %q", p.Number, p.TypeGUID)
		}
		if _, err := guidBytes(p.GUID); err != nil || p.GUID == zeroGUID {
			return fmt.Errorf("partition %d has GUID %q", p.Number, p.GUID)
		}
		if n, ok := seen[p.GUID]; ok {
			return fmt.Errorf("partition %d reuses the GUID of %s", p.Number, guidOwner(n))
		}
		seen[p.GUID] = p.Number
		if !gptNameFits(p.Name) {
			return fmt.Errorf("name of partition %d is longer than 36 UTF-16 units", p.Number)
		}
	}
	return nil
}

const zeroGUID = "00000000-0000-0000-0000-000000000000"

func guidOwner(n int) string {
	if n == 0 {
		return "the disk"
	}
	return fmt.Sprintf("partition %d", n)
}

func validateMBR(lay Layout) error {
	l := int64(lay.Geometry.LogicalSectorSize)
	var ext *Partition
	var logicals []Partition
	for i, p := range lay.Partitions {
		if p.Start/l > mbrMaxLBA || p.Size/l > mbrMaxLBA {
			return fmt.Errorf("partition %d does not fit the 32-bit LBAs of a DOS table", p.Number)
		}
		switch p.Kind {
		case KindPrimary, KindExtended:
			if p.Number < 1 || p.Number > 4 {
				return fmt.Errorf("%s partition has number %d", p.Kind, p.Number)
			}
			if p.Type == 0 {
				return fmt.Errorf("partition %d has type 0", p.Number)
			}
			if p.Kind == KindExtended {
				if ext != nil {
					return errors.New("two extended partitions")
				}
				if !isExtendedType(p.Type) {
					return fmt.Errorf("extended partition %d has type %#02x", p.Number, p.Type)
				}
				ext = &lay.Partitions[i]
			} else if isExtendedType(p.Type) {
				return fmt.Errorf("primary partition %d has an extended type %#02x", p.Number, p.Type)
			}
		case KindLogical:
			if p.Type == 0 || isExtendedType(p.Type) {
				return fmt.Errorf("logical partition %d has type %#02x", p.Number, p.Type)
			}
			logicals = append(logicals, p)
		default:
			return fmt.Errorf("partition %d is of kind %q in a DOS table", p.Number, p.Kind)
		}
	}
	if len(logicals) == 0 {
		return nil
	}
	if ext == nil {
		return errors.New("logical partitions without an extended partition")
	}
	sort.Slice(logicals, func(i, j int) bool { return logicals[i].Number < logicals[j].Number })
	prevEnd := ext.Start
	for i, p := range logicals {
		if p.Number != mbrFirstLogicalNo+i {
			return fmt.Errorf("logical partitions are not numbered 5, 6, … in order (found %d)", p.Number)
		}
		if i == 0 && p.EBR != ext.Start {
			return fmt.Errorf("the first EBR (byte %d) is not at the start of extended partition %d (byte %d)", p.EBR, ext.Number, ext.Start)
		}
		if p.EBR%l != 0 || p.EBR < prevEnd || p.EBR+l > p.Start {
			return fmt.Errorf("EBR of partition %d at byte %d does not sit between byte %d and the partition's start %d", p.Number, p.EBR, prevEnd, p.Start)
		}
		if p.End() > ext.End() {
			return fmt.Errorf("logical partition %d ends past extended partition %d", p.Number, ext.Number)
		}
		prevEnd = p.End()
	}
	return nil
}
