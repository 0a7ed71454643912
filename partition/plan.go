package partition

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strings"
)

// PlanOptions change how PlanClone decides.
type PlanOptions struct {
	// AllowSectorSizeChange lets a target with larger logical sectors than the source join the
	// source's md arrays (which raises the arrays' logical block size).
	AllowSectorSizeChange bool `json:"allow_sector_size_change"`
	// Rand supplies the randomness for new GUIDs and the disk signature; crypto/rand when nil.
	// Tests seed it to get stable golden output.
	Rand io.Reader `json:"-"`
	// Add is a partition to add beside the source's (GPT only), placed by addPartition.
	Add *NewPartition `json:"add,omitempty"`
}

// MoveKind says how a partition differs from its source.
type MoveKind string

const (
	// MoveRealigned: the source start is not on a physical-sector boundary of the target (or
	// not a whole target logical sector), so the partition moved up to the next boundary.
	MoveRealigned MoveKind = "realigned"
	// MoveShifted: an earlier partition moved or grew into this one's start, or the start lies
	// in the target's table area, so it moved up.
	MoveShifted MoveKind = "shifted"
	// MoveGrown: the size was rounded up to whole target logical sectors.
	MoveGrown MoveKind = "grown"
	// MoveShrunk: the last partition, an md member, was cut to fit a smaller target; it still
	// holds the member's data offset plus component size.
	MoveShrunk MoveKind = "shrunk"
	// MoveEBR: the EBR describing a logical partition moved.
	MoveEBR MoveKind = "ebr-moved"
)

// Move reports one way the planned table differs from the source's offsets.
type Move struct {
	Partition int      `json:"partition"`
	Kind      MoveKind `json:"kind"`
	OldStart  int64    `json:"old_start_bytes"`
	NewStart  int64    `json:"new_start_bytes"`
	OldSize   int64    `json:"old_size_bytes"`
	NewSize   int64    `json:"new_size_bytes"`
	Reason    string   `json:"reason"`
}

// Layout is the table PlanClone decided to write on the target, with what it learned on the
// way. Every field is plain data: a saved plan carries a Layout and Write takes it as is.
type Layout struct {
	// Table is what will be written, in the target's geometry, with new identifiers.
	Table
	// SourceGeometry is the geometry of the disk the layout was cloned from.
	SourceGeometry Geometry `json:"source_geometry"`
	// Grain is the boundary moved partitions were aligned to.
	Grain int64 `json:"grain_bytes"`
	// FreeBytes is the usable space left after the last partition (a larger target).
	FreeBytes int64 `json:"free_bytes"`
	// Needs are the md members the layout was sized for.
	Needs []MemberNeed `json:"needs,omitempty"`
}

// PlanClone lays the source table out on a target disk of geometry target: same offsets
// where they are aligned for the target, misaligned starts moved to the next boundary,
// sizes never smaller than the source (except the last partition when it is an md member
// and the target is smaller, down to what the member needs), new disk and partition
// identifiers. It refuses with a *RefusedError when the layout cannot be made.
func PlanClone(src Table, target Geometry, needs []MemberNeed, opts PlanOptions) (Layout, []Move, error) {
	if err := target.validate(); err != nil {
		return Layout{}, nil, refuse(RefuseUnsupported, "%v", err)
	}
	if err := src.Geometry.validate(); err != nil {
		return Layout{}, nil, refuse(RefuseUnsupported, "source: %v", err)
	}
	if src.Scheme != GPT && src.Scheme != MBR {
		return Layout{}, nil, refuse(RefuseUnsupported, "source table scheme %q is not gpt or dos", src.Scheme)
	}
	if len(src.Partitions) == 0 {
		return Layout{}, nil, refuse(RefuseUnsupported, "the source table has no partitions to clone")
	}
	if err := checkOverlaps(src.Partitions); err != nil {
		return Layout{}, nil, refuse(RefuseUnsupported, "source table: %v", err)
	}
	needOf := map[int]MemberNeed{}
	for _, n := range needs {
		p, ok := src.Partition(n.Partition)
		if !ok || !p.IsData() {
			return Layout{}, nil, refuse(RefuseUnsupported, "md member need names partition %d, which the source table does not have", n.Partition)
		}
		if n.Need > p.Size {
			return Layout{}, nil, refuse(RefuseUnsupported, "the md superblock in source partition %d asks for %d bytes but the partition has only %d", n.Partition, n.Need, p.Size)
		}
		needOf[n.Partition] = n
	}
	if err := checkSectorSizeChange(src.Geometry, target, needs, opts); err != nil {
		return Layout{}, nil, err
	}

	pl := planner{src: src, target: target, needOf: needOf, grain: grainFor(src, target)}
	out, err := pl.place()
	if err != nil {
		return Layout{}, nil, err
	}
	if err := pl.fit(out); err != nil {
		return Layout{}, nil, err
	}
	if opts.Add != nil {
		if out, err = pl.addPartition(out, *opts.Add); err != nil {
			return Layout{}, nil, err
		}
	}
	if src.Scheme == MBR {
		if err := checkMBRRange(out, int64(target.LogicalSectorSize)); err != nil {
			return Layout{}, nil, err
		}
	}
	for _, n := range needs {
		for _, p := range out {
			if p.Number == n.Partition && p.Size < n.Need {
				return Layout{}, nil, refuse(RefuseTooSmall, "partition %d would have %d bytes but md member %s needs %d", p.Number, p.Size, memberDesc(n), n.Need)
			}
		}
	}

	lay := Layout{
		Table:          Table{Scheme: src.Scheme, Geometry: target, Partitions: out},
		SourceGeometry: src.Geometry,
		Grain:          pl.grain,
		Needs:          needs,
	}
	_, hi := usableBytes(src.Scheme, target)
	lay.FreeBytes = hi - lay.DataEnd()
	if src.Scheme == GPT {
		lay.FirstUsableLBA, lay.LastUsableLBA = gptUsable(target)
		lay.EntryCount = gptEntryCount
	}
	if err := assignIdentifiers(&lay.Table, src, opts.Rand); err != nil {
		return Layout{}, nil, err
	}
	lay.sortPartitions()
	if err := Validate(lay); err != nil {
		return Layout{}, nil, fmt.Errorf("unreachable: planned layout is invalid: %w", err)
	}
	return lay, pl.moves, nil
}

func memberDesc(n MemberNeed) string {
	s := n.Superblock
	name := s.Name
	if name == "" {
		name = s.ArrayUUID
	}
	return fmt.Sprintf("of array %s (metadata %s, %s)", name, s.Metadata, s.Role)
}

// checkSectorSizeChange refuses a target whose logical sectors are larger than the source's
// when the source holds md members, and md data offsets the target cannot address.
func checkSectorSizeChange(src, target Geometry, needs []MemberNeed, opts PlanOptions) error {
	if target.LogicalSectorSize == src.LogicalSectorSize || len(needs) == 0 {
		return nil
	}
	if target.LogicalSectorSize > src.LogicalSectorSize && !opts.AllowSectorSizeChange {
		var parts []string
		for _, n := range needs {
			parts = append(parts, fmt.Sprintf("partition %d %s", n.Partition, memberDesc(n)))
		}
		return refuse(RefuseSectorSizeChange,
			"it has %d-byte logical sectors but the md members on the source (%s) have %d-byte ones; adding it raises those arrays' logical block size to %d, which can leave a file system made for %d-byte sectors (XFS in particular, mdadm#187) unmountable; pass --allow-sector-size-change if the file systems on these arrays use %d-byte blocks or larger",
			target.LogicalSectorSize, strings.Join(parts, ", "), src.LogicalSectorSize, target.LogicalSectorSize, src.LogicalSectorSize, target.LogicalSectorSize)
	}
	// mdadm gives a new member the array's data offset and component size. On a disk with
	// larger sectors the kernel (6.1) accepts a member whose data offset or component end is
	// not on one of them, and then fails writes there with I/O errors (measured in the VM
	// suite: recovery ends in an I/O error and the member goes faulty).
	l := int64(target.LogicalSectorSize)
	for _, n := range needs {
		s := n.Superblock
		if s.DataOffset%l != 0 || s.ComponentSize%l != 0 {
			return refuse(RefuseUnrepresentable, "the md member in source partition %d has its data at byte offset %d with a component size of %d bytes, not whole %d-byte sectors; a member on this disk would get the same offset and size, and md's writes at their unaligned end fail", n.Partition, s.DataOffset, s.ComponentSize, l)
		}
	}
	return nil
}

// gptUsable is the usable LBA range of a GPT with raidswap's 128-entry arrays.
func gptUsable(g Geometry) (first, last int64) {
	l := int64(g.LogicalSectorSize)
	arr := (gptEntryCount*gptEntrySize + l - 1) / l
	return 2 + arr, g.Sectors() - 2 - arr
}

// usableBytes is the byte range partitions may occupy on a disk of geometry g.
func usableBytes(s Scheme, g Geometry) (lo, hi int64) {
	l := int64(g.LogicalSectorSize)
	if s == GPT {
		first, last := gptUsable(g)
		return first * l, (last + 1) * l
	}
	return l, g.Sectors() * l
}

type planner struct {
	src    Table
	target Geometry
	needOf map[int]MemberNeed
	grain  int64
	moves  []Move
}

// start decides where partition p goes given that nothing may start before floor.
func (pl *planner) start(p Partition, floor int64) int64 {
	unit := int64(physicalUnit(pl.target))
	start := p.Start
	switch {
	case start < floor:
		start = alignUp(floor, pl.grain)
		pl.moves = append(pl.moves, Move{Partition: p.Number, Kind: MoveShifted, OldStart: p.Start, NewStart: start, OldSize: p.Size, NewSize: p.Size,
			Reason: fmt.Sprintf("its start (byte %d) lies before byte %d, where the %s ends on the target; moved to the next %s boundary", p.Start, floor, pl.floorWhat(floor), sizeName(pl.grain))})
	case start%unit != 0:
		start = alignUp(start, pl.grain)
		pl.moves = append(pl.moves, Move{Partition: p.Number, Kind: MoveRealigned, OldStart: p.Start, NewStart: start, OldSize: p.Size, NewSize: p.Size,
			Reason: fmt.Sprintf("byte %d is not a multiple of the target's %d-byte physical sector; moved to the next %s boundary", p.Start, unit, sizeName(pl.grain))})
	}
	return start
}

func (pl *planner) floorWhat(floor int64) string {
	lo, _ := usableBytes(pl.src.Scheme, pl.target)
	if floor <= lo {
		return "table area"
	}
	return "previous partition (or its EBR)"
}

// size rounds a size up to whole target sectors.
func (pl *planner) size(p Partition, start int64) int64 {
	l := int64(pl.target.LogicalSectorSize)
	size := alignUp(p.Size, l)
	if size != p.Size {
		pl.moves = append(pl.moves, Move{Partition: p.Number, Kind: MoveGrown, OldStart: p.Start, NewStart: start, OldSize: p.Size, NewSize: size,
			Reason: fmt.Sprintf("%d bytes is not a whole number of the target's %d-byte sectors; rounded up", p.Size, l)})
	}
	return size
}

// place lays out every partition in start order, never before the end of the previous one.
func (pl *planner) place() ([]Partition, error) {
	lo, _ := usableBytes(pl.src.Scheme, pl.target)
	l := int64(pl.target.LogicalSectorSize)
	var top []Partition
	for _, p := range pl.src.Partitions {
		if p.Kind != KindLogical {
			top = append(top, p)
		}
	}
	sort.Slice(top, func(i, j int) bool { return top[i].Start < top[j].Start })
	if pl.src.Scheme == GPT {
		for _, p := range pl.src.Partitions {
			if p.Number > gptEntryCount {
				return nil, refuse(RefuseUnrepresentable, "source partition %d does not fit a %d-entry GPT", p.Number, gptEntryCount)
			}
			if !gptNameFits(p.Name) {
				return nil, refuse(RefuseUnrepresentable, "the name of source partition %d does not fit 36 UTF-16 units", p.Number)
			}
		}
	}
	var out []Partition
	floor := lo
	for _, p := range top {
		q := p
		q.Start = pl.start(p, floor)
		if p.Kind != KindExtended {
			q.Size = pl.size(p, q.Start)
		} else {
			logicals, end, err := pl.placeLogicals(p, q.Start)
			if err != nil {
				return nil, err
			}
			srcEnd := alignUp(p.End(), l)
			if _, hi := usableBytes(pl.src.Scheme, pl.target); srcEnd > hi {
				srcEnd = hi
			}
			q.Size = max(srcEnd, end, q.Start+l) - q.Start
			out = append(out, logicals...)
		}
		out = append(out, q)
		floor = q.End()
	}
	return out, nil
}

// placeLogicals lays out the logical partitions of ext, whose container now starts at
// extStart. The first EBR sits at the container's start; each later EBR keeps its source
// offset unless the previous logical partition now reaches past it.
func (pl *planner) placeLogicals(ext Partition, extStart int64) ([]Partition, int64, error) {
	l := int64(pl.target.LogicalSectorSize)
	var out []Partition
	cursor := extStart
	prevStart := int64(-1)
	for i, lp := range pl.src.Logicals() {
		if lp.Start <= prevStart {
			return nil, 0, refuse(RefuseUnsupported, "the EBR chain of the source lists logical partition %d before a partition that precedes it on disk", lp.Number)
		}
		prevStart = lp.Start
		ebr := extStart
		if i > 0 {
			ebr = alignUp(max(lp.EBR, cursor), l)
		}
		if ebr != lp.EBR {
			pl.moves = append(pl.moves, Move{Partition: lp.Number, Kind: MoveEBR, OldStart: lp.EBR, NewStart: ebr, OldSize: l, NewSize: l,
				Reason: "the EBR describing this logical partition moved with the partitions before it"})
		}
		q := lp
		q.EBR = ebr
		q.Start = pl.start(lp, ebr+l)
		q.Size = pl.size(lp, q.Start)
		out = append(out, q)
		cursor = q.End()
	}
	return out, cursor, nil
}

// fit checks the layout against the end of the target. The last data partition may shrink
// when it holds an md member and still gets what the member needs; anything else that does
// not fit is refused with the shortfall.
func (pl *planner) fit(out []Partition) error {
	_, hi := usableBytes(pl.src.Scheme, pl.target)
	unit := int64(physicalUnit(pl.target))
	last := -1
	for i, p := range out {
		if p.IsData() && (last < 0 || p.Start > out[last].Start) {
			last = i
		}
	}
	if last < 0 {
		return nil
	}
	p := &out[last]
	need, isMember := pl.needOf[p.Number]
	if p.End() > hi && isMember {
		room := alignDown(hi-p.Start, unit)
		if room >= need.Need {
			pl.moves = append(pl.moves, Move{Partition: p.Number, Kind: MoveShrunk, OldStart: p.Start, NewStart: p.Start, OldSize: p.Size, NewSize: room,
				Reason: fmt.Sprintf("the target ends %d bytes before this partition would; it holds md member %s, which needs %d bytes (data offset %d + component size %d), so it was cut to %d", p.End()-hi, memberDesc(need), need.Need, need.Superblock.DataOffset, need.Superblock.ComponentSize, room)})
			p.Size = room
		}
	}
	// Clamp the extended container to the shrunk logical partition inside it.
	for i := range out {
		if out[i].Kind == KindExtended && out[i].End() > hi {
			end := hi
			for _, q := range out {
				if q.Kind == KindLogical && q.End() > end {
					end = q.End()
				}
			}
			out[i].Size = end - out[i].Start
		}
	}
	var worst *Partition
	var shortfall int64
	for i := range out {
		q := &out[i]
		minEnd := q.End()
		if n, ok := pl.needOf[q.Number]; ok && i == last {
			minEnd = q.Start + n.Need
		}
		if s := minEnd - hi; s > shortfall {
			shortfall, worst = s, q
		}
	}
	if worst == nil {
		return nil
	}
	what := fmt.Sprintf("partition %d would end at byte %d", worst.Number, worst.End())
	if n, ok := pl.needOf[worst.Number]; ok {
		what = fmt.Sprintf("partition %d starts at byte %d and holds md member %s, which needs %d bytes (data offset %d + component size %d)", worst.Number, worst.Start, memberDesc(n), n.Need, n.Superblock.DataOffset, n.Superblock.ComponentSize)
	}
	return &RefusedError{Kind: RefuseTooSmall, Shortfall: shortfall,
		Reason: fmt.Sprintf("it is too small: %s, but the usable area of the target ends at byte %d; %d bytes short", what, hi, shortfall)}
}

// checkMBRRange refuses a DOS layout whose LBAs or sector counts do not fit the 32 bits of
// an MBR entry (a 512-byte-sector layout near 2 TiB moved to a disk with smaller sectors, or
// any partition past 2 TiB).
func checkMBRRange(out []Partition, l int64) error {
	for _, p := range out {
		if p.Start/l > mbrMaxLBA || p.Size/l > mbrMaxLBA {
			return refuse(RefuseUnrepresentable, "partition %d would start at sector %d and span %d sectors of %d bytes; a DOS table holds at most %d of either (convert the source to GPT first)",
				p.Number, p.Start/l, p.Size/l, l, int64(mbrMaxLBA))
		}
	}
	return nil
}

// assignIdentifiers gives the table a new disk GUID or signature and every GPT partition a
// new GUID, none equal to the source's.
func assignIdentifiers(t *Table, src Table, r io.Reader) error {
	if r == nil {
		r = rand.Reader
	}
	used := map[string]bool{strings.ToUpper(src.DiskGUID): true}
	for _, p := range src.Partitions {
		used[strings.ToUpper(p.GUID)] = true
	}
	newGUID := func() (string, error) {
		for {
			g, err := randomGUID(r)
			if err != nil {
				return "", fmt.Errorf("generating a GUID: %w", err)
			}
			if !used[g] {
				used[g] = true
				return g, nil
			}
		}
	}
	switch t.Scheme {
	case GPT:
		g, err := newGUID()
		if err != nil {
			return err
		}
		t.DiskGUID = g
		for i := range t.Partitions {
			if t.Partitions[i].GUID, err = newGUID(); err != nil {
				return err
			}
		}
	case MBR:
		var b [4]byte
		for {
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return fmt.Errorf("generating a disk signature: %w", err)
			}
			sig := binary.LittleEndian.Uint32(b[:])
			if sig != 0 && sig != src.DiskSignature {
				t.DiskSignature = sig
				return nil
			}
		}
	}
	return nil
}

// randomGUID returns a version-4 GUID in upper-case text form.
func randomGUID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := strings.ToUpper(fmt.Sprintf("%x", b[:]))
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32], nil
}

// sizeName renders a byte count the way the reports do: "1 MiB", "4096-byte".
func sizeName(n int64) string {
	switch {
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= 1024 && n%1024 == 0:
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d-byte", n)
}
