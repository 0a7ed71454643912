package partition

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/raidswap/raidswap/internal/human"
)

var gptTypeNames = map[string]string{
	"21686148-6449-6E6F-744E-656564454649": "BIOS boot",
	"C12A7328-F81F-11D2-BA4B-00A0C93EC93B": "EFI System",
	"A19D880F-05FC-4D3B-A006-743F0F84911E": "Linux RAID",
	"0FC63DAF-8483-4772-8E79-3D69D8477DE4": "Linux filesystem",
	"0657FD6D-A4AB-43C4-84E5-0933C84B4F4F": "Linux swap",
	"E6D6D379-F507-44C2-A23C-238F2A3DF928": "Linux LVM",
	"BC13C2FF-59E6-4262-A352-B275FD6F7172": "Linux extended boot",
	"4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709": "Linux root (x86-64)",
	"933AC7E1-2EB4-4F13-B844-0E14E2AEF915": "Linux home",
	"EBD0A0A2-B9E5-4433-87C0-68B6B72699C7": "Microsoft basic data",
	"E3C9E316-0B5C-4DB8-817D-F92DF00215AE": "Microsoft reserved",
}

var mbrTypeNames = map[byte]string{
	0x05: "Extended", 0x0f: "W95 Ext'd (LBA)", 0x85: "Linux extended",
	0x83: "Linux", 0x82: "Linux swap", 0xfd: "Linux raid autodetect", 0x8e: "Linux LVM",
	0xef: "EFI (FAT-12/16/32)", 0x07: "HPFS/NTFS/exFAT", 0x0b: "W95 FAT32", 0x0c: "W95 FAT32 (LBA)",
	0x0e: "W95 FAT16 (LBA)", 0x06: "FAT16", 0xda: "Non-FS data",
}

// TypeName names a partition's type for people.
func TypeName(p Partition) string {
	if p.Kind == KindGPT {
		if n, ok := gptTypeNames[strings.ToUpper(p.TypeGUID)]; ok {
			return n
		}
		return p.TypeGUID
	}
	if n, ok := mbrTypeNames[p.Type]; ok {
		return fmt.Sprintf("%s (%02x)", n, p.Type)
	}
	return fmt.Sprintf("%02x", p.Type)
}

// RenderComparison prints the source table and the planned layout side by side, in each
// disk's own LBAs, followed by every move, the md members' needs and the free space.
func RenderComparison(w io.Writer, src Table, lay Layout, moves []Move) {
	sl, tl := int64(src.Geometry.LogicalSectorSize), int64(lay.Geometry.LogicalSectorSize)
	fmt.Fprintf(w, "Source: %s table, %s (%s), %d/%d-byte logical/physical sectors\n", src.Scheme, human.Bytes(src.Geometry.Size), plural(src.Geometry.Size, "byte"), src.Geometry.LogicalSectorSize, src.Geometry.PhysicalSectorSize)
	fmt.Fprintf(w, "Target: %s table, %s (%s), %d/%d-byte logical/physical sectors\n", lay.Scheme, human.Bytes(lay.Geometry.Size), plural(lay.Geometry.Size, "byte"), lay.Geometry.LogicalSectorSize, lay.Geometry.PhysicalSectorSize)
	switch lay.Scheme {
	case GPT:
		fmt.Fprintf(w, "Disk GUID: %s -> %s (new)\n\n", src.DiskGUID, lay.DiskGUID)
	case MBR:
		fmt.Fprintf(w, "Disk signature: 0x%08x -> 0x%08x (new)\n\n", src.DiskSignature, lay.DiskSignature)
	}
	changes := map[int][]string{}
	for _, m := range moves {
		changes[m.Partition] = append(changes[m.Partition], string(m.Kind))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "NR\tTYPE\tSOURCE START\tSOURCE SIZE\tTARGET START\tTARGET SIZE\tCHANGE\n")
	for _, p := range lay.Partitions {
		s, _ := src.Partition(p.Number)
		ch := "same bytes"
		if c := changes[p.Number]; len(c) > 0 {
			ch = strings.Join(c, ", ")
		} else if p.Kind == KindExtended && (s.Start != p.Start || s.Size != p.Size) {
			ch = "container follows its logical partitions"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d (%s)\t%d\t%d (%s)\t%s\n", p.Number, TypeName(p),
			s.Start/sl, s.Size/sl, human.Bytes(s.Size), p.Start/tl, p.Size/tl, human.Bytes(p.Size), ch)
	}
	tw.Flush()
	if len(moves) > 0 {
		fmt.Fprintf(w, "\nChanges:\n")
		for _, m := range moves {
			fmt.Fprintf(w, "  partition %d %s: byte %d, %d bytes -> byte %d, %d bytes: %s\n", m.Partition, m.Kind, m.OldStart, m.OldSize, m.NewStart, m.NewSize, m.Reason)
		}
	}
	if len(lay.Needs) > 0 {
		fmt.Fprintf(w, "\nmd members on the source:\n")
		for _, n := range lay.Needs {
			s := n.Superblock
			name := s.Name
			if name == "" {
				name = s.ArrayUUID
			}
			fmt.Fprintf(w, "  partition %d: array %s (metadata %s, %s), data offset %d + component size %d: needs %d bytes (%s)\n",
				n.Partition, name, s.Metadata, s.Role, s.DataOffset, s.ComponentSize, n.Need, human.Bytes(n.Need))
		}
	}
	fmt.Fprintf(w, "\nFree after the last partition on the target: %s (%s)\n", plural(lay.FreeBytes, "byte"), human.Bytes(lay.FreeBytes))
	for _, wn := range src.Warnings {
		fmt.Fprintf(w, "warning: source: %s\n", wn)
	}
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
