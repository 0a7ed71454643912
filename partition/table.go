package partition

import (
	"fmt"
	"sort"
	"strings"
)

// Scheme is the kind of partition table.
type Scheme string

const (
	// GPT is a GUID partition table behind a protective MBR.
	GPT Scheme = "gpt"
	// MBR is a DOS partition table, with an optional extended partition holding logical ones.
	// The value is sfdisk's label name.
	MBR Scheme = "dos"
)

// Geometry is what the partition code needs to know about a disk.
type Geometry struct {
	// Size is the disk's size in bytes.
	Size int64 `json:"size_bytes"`
	// LogicalSectorSize is the unit of every LBA in a partition table on this disk.
	LogicalSectorSize int `json:"logical_sector_size"`
	// PhysicalSectorSize is the disk's write unit; partition starts are aligned to it.
	PhysicalSectorSize int `json:"physical_sector_size"`
}

// Sectors is the number of whole logical sectors on the disk.
func (g Geometry) Sectors() int64 { return g.Size / int64(g.LogicalSectorSize) }

// validate refuses geometries the table code cannot handle.
func (g Geometry) validate() error {
	l, p := g.LogicalSectorSize, g.PhysicalSectorSize
	switch l {
	case 512, 1024, 2048, 4096:
	default:
		return fmt.Errorf("logical sector size %d is not supported (512, 1024, 2048 or 4096)", l)
	}
	if p < l || p%l != 0 || p&(p-1) != 0 || p > 1<<20 {
		return fmt.Errorf("physical sector size %d does not fit logical sector size %d", p, l)
	}
	if g.Size < 64*int64(l) {
		return fmt.Errorf("disk of %d bytes is too small for a partition table", g.Size)
	}
	return nil
}

func (g Geometry) String() string {
	return fmt.Sprintf("%d bytes, %d/%d-byte sectors", g.Size, g.LogicalSectorSize, g.PhysicalSectorSize)
}

// Kind says what an MBR entry is. GPT partitions have KindGPT.
type Kind string

const (
	KindGPT      Kind = "gpt"
	KindPrimary  Kind = "primary"
	KindExtended Kind = "extended"
	KindLogical  Kind = "logical"
)

// Partition is one partition, with offsets in bytes so layouts on disks of different sector
// sizes compare directly.
type Partition struct {
	// Number is the kernel's partition number: the GPT entry index (1-based), 1–4 for MBR
	// primary and extended entries, 5 and up for logical partitions in EBR-chain order.
	Number int   `json:"number"`
	Kind   Kind  `json:"kind"`
	Start  int64 `json:"start_bytes"`
	Size   int64 `json:"size_bytes"`

	// GPT only.
	TypeGUID   string `json:"type_guid,omitempty"`
	GUID       string `json:"guid,omitempty"`
	Name       string `json:"name,omitempty"`
	Attributes uint64 `json:"attributes,omitempty"`

	// MBR only.
	Type     byte `json:"type,omitempty"`
	Bootable bool `json:"bootable,omitempty"`
	// EBR is the byte offset of the extended boot record that describes a logical partition.
	EBR int64 `json:"ebr_bytes,omitempty"`
}

// End is the first byte after the partition.
func (p Partition) End() int64 { return p.Start + p.Size }

// IsData reports whether the partition holds data (everything except an MBR extended
// container).
func (p Partition) IsData() bool { return p.Kind != KindExtended }

// Table is a partition table as read from a disk or as planned for one.
type Table struct {
	Scheme   Scheme   `json:"scheme"`
	Geometry Geometry `json:"geometry"`

	// GPT only.
	DiskGUID string `json:"disk_guid,omitempty"`
	// FirstUsableLBA and LastUsableLBA bound the partitions, in logical sectors.
	FirstUsableLBA int64 `json:"first_usable_lba,omitempty"`
	LastUsableLBA  int64 `json:"last_usable_lba,omitempty"`
	// EntryCount is the number of slots in the partition entry array.
	EntryCount int `json:"entry_count,omitempty"`
	// Placement is where the table's own headers and entry arrays lie, as read from the
	// disk (nil for a table that was not read from one).
	Placement *GPTPlacement `json:"-"`

	// MBR only.
	DiskSignature uint32 `json:"disk_signature,omitempty"`

	// Partitions are sorted by Number.
	Partitions []Partition `json:"partitions"`
	// Warnings are problems found while reading that did not stop the read (for example a
	// damaged primary GPT that was read from its backup).
	Warnings []string `json:"warnings,omitempty"`
}

// GPTPlacement locates a GPT's structures on its disk, in logical sectors. The backup's
// fields come from the backup header when it reads, else from where the primary says it is.
type GPTPlacement struct {
	HeaderLBA, EntriesLBA             int64
	BackupHeaderLBA, BackupEntriesLBA int64
	// EntryBytes is the size of one entry array (count × entry size), in bytes.
	EntryBytes int
}

// FirstLBA is the lowest first sector of any partition (an extended container included), 0
// when there is none: on a DOS disk the gap after the MBR ends there.
func (t Table) FirstLBA() int64 {
	var first int64
	for _, p := range t.Partitions {
		if lba := p.Start / int64(t.Geometry.LogicalSectorSize); first == 0 || lba < first {
			first = lba
		}
	}
	return first
}

// PARTUUID is the kernel's PARTUUID of partition p of this table, in lower case: the entry's
// GUID on a GPT, the disk signature and the number (in hex) on a DOS disk.
func (t Table) PARTUUID(p Partition) string {
	if t.Scheme == MBR {
		return fmt.Sprintf("%08x-%02x", t.DiskSignature, p.Number)
	}
	return strings.ToLower(p.GUID)
}

// Partition returns the partition with the given number.
func (t *Table) Partition(n int) (Partition, bool) {
	for _, p := range t.Partitions {
		if p.Number == n {
			return p, true
		}
	}
	return Partition{}, false
}

// Extended returns the MBR extended container, if there is one.
func (t *Table) Extended() (Partition, bool) {
	for _, p := range t.Partitions {
		if p.Kind == KindExtended {
			return p, true
		}
	}
	return Partition{}, false
}

// Logicals returns the logical partitions in chain order.
func (t *Table) Logicals() []Partition {
	var out []Partition
	for _, p := range t.Partitions {
		if p.Kind == KindLogical {
			out = append(out, p)
		}
	}
	return out
}

// DataEnd is the first byte after the last partition (0 without partitions).
func (t *Table) DataEnd() int64 {
	var end int64
	for _, p := range t.Partitions {
		if p.End() > end {
			end = p.End()
		}
	}
	return end
}

func (t *Table) sortPartitions() {
	sort.Slice(t.Partitions, func(i, j int) bool { return t.Partitions[i].Number < t.Partitions[j].Number })
}

// usableRange is the byte range partitions may occupy on the table's disk.
func (t *Table) usableRange() (lo, hi int64) {
	l := int64(t.Geometry.LogicalSectorSize)
	if t.Scheme == GPT {
		return t.FirstUsableLBA * l, (t.LastUsableLBA + 1) * l
	}
	return l, t.Geometry.Sectors() * l
}
