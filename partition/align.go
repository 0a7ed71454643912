package partition

const mib = 1 << 20

// alignUp rounds off up to the next multiple of grain.
func alignUp(off, grain int64) int64 {
	if r := off % grain; r != 0 {
		return off + grain - r
	}
	return off
}

// alignDown rounds off down to a multiple of grain.
func alignDown(off, grain int64) int64 { return off - off%grain }

// isAligned reports whether a partition start suits a disk: a whole number of its physical
// sectors (which are whole numbers of logical sectors).
func isAligned(start int64, g Geometry) bool {
	return start%int64(physicalUnit(g)) == 0
}

// physicalUnit is the disk's write unit: its physical sector, never less than a logical one.
func physicalUnit(g Geometry) int {
	if g.PhysicalSectorSize > g.LogicalSectorSize {
		return g.PhysicalSectorSize
	}
	return g.LogicalSectorSize
}

// grainFor is the boundary a moved partition goes to: the target's physical sector, or 1 MiB
// when every data partition of the source starts on a MiB boundary (the layout fdisk, sgdisk
// and parted have produced since 2010), so a moved partition keeps that convention.
func grainFor(src Table, target Geometry) int64 {
	unit := int64(physicalUnit(target))
	n := 0
	for _, p := range src.Partitions {
		if !p.IsData() {
			continue
		}
		n++
		if p.Start%mib != 0 {
			return unit
		}
	}
	if n == 0 || unit > mib {
		return unit
	}
	return mib
}
