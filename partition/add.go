package partition

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// NewPartition is a partition a clone adds beside the source's: the ESP remade from a failed
// disk's when the survivor has none (the only ESP was on the failed disk, issue 17). GPT
// only; it gets a new GUID like every cloned partition.
type NewPartition struct {
	Number   int    `json:"number"`
	Size     int64  `json:"size_bytes"`
	TypeGUID string `json:"type_guid"`
	Name     string `json:"name,omitempty"`
}

var guidRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// freeExtent is a free byte range of the target.
type freeExtent struct{ start, end int64 }

// freeExtents are the gaps between the planned partitions, and after the last, in [lo, hi).
func freeExtents(out []Partition, lo, hi int64) []freeExtent {
	ps := append([]Partition(nil), out...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].Start < ps[j].Start })
	var free []freeExtent
	cur := lo
	for _, p := range ps {
		if p.Start > cur {
			free = append(free, freeExtent{cur, p.Start})
		}
		cur = max(cur, p.End())
	}
	if hi > cur {
		free = append(free, freeExtent{cur, hi})
	}
	return free
}

// addPartition places x in the first free extent of the planned layout that holds it on a
// grain boundary. When none does and the last partition holds an md member, that partition
// is cut down (never below what the member needs) to make room at the end of the disk.
// Anything else is refused, naming the free extents.
func (pl *planner) addPartition(out []Partition, x NewPartition) ([]Partition, error) {
	if pl.src.Scheme != GPT {
		return nil, refuse(RefuseUnsupported, "a partition can be added only to a GPT, and the source table is %s", pl.src.Scheme)
	}
	if x.Number < 1 || x.Number > gptEntryCount {
		return nil, refuse(RefuseUnrepresentable, "partition number %d does not fit a %d-entry GPT", x.Number, gptEntryCount)
	}
	if x.Size <= 0 {
		return nil, refuse(RefuseUnsupported, "the partition to add has no size")
	}
	if !guidRE.MatchString(x.TypeGUID) {
		return nil, refuse(RefuseUnsupported, "type %q of the partition to add is not a GUID", x.TypeGUID)
	}
	if !gptNameFits(x.Name) {
		return nil, refuse(RefuseUnrepresentable, "the name of the partition to add does not fit 36 UTF-16 units")
	}
	for _, p := range out {
		if p.Number == x.Number {
			return nil, refuse(RefuseUnsupported, "partition %d is already in the source table", x.Number)
		}
	}
	l := int64(pl.target.LogicalSectorSize)
	size := alignUp(x.Size, l)
	lo, hi := usableBytes(pl.src.Scheme, pl.target)
	np := Partition{Number: x.Number, Kind: KindGPT, Size: size, TypeGUID: strings.ToUpper(x.TypeGUID), Name: x.Name}
	free := freeExtents(out, lo, hi)
	for _, e := range free {
		if s := alignUp(e.start, pl.grain); s+size <= e.end {
			np.Start = s
			return append(out, np), nil
		}
	}
	last := -1
	for i, p := range out {
		if last < 0 || p.Start > out[last].Start {
			last = i
		}
	}
	unit := int64(physicalUnit(pl.target))
	if last >= 0 {
		p := &out[last]
		if need, ok := pl.needOf[p.Number]; ok {
			start := alignDown(hi-size, pl.grain)
			room := alignDown(start-p.Start, unit)
			if start > p.Start && room >= need.Need && room < p.Size {
				pl.moves = append(pl.moves, Move{Partition: p.Number, Kind: MoveShrunk, OldStart: p.Start, NewStart: p.Start, OldSize: p.Size, NewSize: room,
					Reason: fmt.Sprintf("cut to make room for the new partition %d (%s) at the end of the target; it holds md member %s, which needs %d bytes (data offset %d + component size %d)",
						x.Number, sizeName(size), memberDesc(need), need.Need, need.Superblock.DataOffset, need.Superblock.ComponentSize)})
				p.Size = room
				np.Start = start
				return append(out, np), nil
			}
		}
	}
	var desc []string
	var largest int64
	for _, e := range free {
		n := max(0, e.end-alignUp(e.start, pl.grain))
		largest = max(largest, n)
		desc = append(desc, fmt.Sprintf("%d bytes at byte %d", e.end-e.start, e.start))
	}
	if len(desc) == 0 {
		desc = []string{"none"}
	}
	return nil, &RefusedError{Kind: RefuseTooSmall, Shortfall: size - largest,
		Reason: fmt.Sprintf("it has no room for the new partition %d (%d bytes, %s): after the survivor's partitions, its free extents are %s, and no md member's partition can give up enough; a disk at least %d bytes larger would hold it",
			x.Number, size, sizeName(size), strings.Join(desc, ", "), size-largest)}
}

// ESPTypeGUID is the GPT partition type of an EFI System Partition.
const ESPTypeGUID = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"

// ESPName is the name an added ESP gets in the GPT.
const ESPName = "EFI System Partition"

// AddESPArg is the --add-esp value for an ESP of size bytes as partition n.
func AddESPArg(n int, size int64) string { return strconv.Itoa(n) + ":" + strconv.FormatInt(size, 10) }

// ParseAddESP reads --add-esp N:BYTES (nil for ""): an ESP as partition N of BYTES bytes.
func ParseAddESP(s string) (*NewPartition, error) {
	if s == "" {
		return nil, nil
	}
	ns, bs, ok := strings.Cut(s, ":")
	n, err1 := strconv.Atoi(ns)
	b, err2 := strconv.ParseInt(bs, 10, 64)
	if !ok || err1 != nil || err2 != nil || n < 1 || n > gptEntryCount || b < mib {
		return nil, fmt.Errorf("--add-esp %q: want N:BYTES, a partition number 1-%d and a size of at least 1 MiB in bytes", s, gptEntryCount)
	}
	return ESP(n, b), nil
}

// ESP is an EFI System Partition of size bytes as partition n, for a clone to add.
func ESP(n int, size int64) *NewPartition {
	return &NewPartition{Number: n, Size: size, TypeGUID: ESPTypeGUID, Name: ESPName}
}
