package partition

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"
)

// compareTables lists every difference between a planned table and one read back.
func compareTables(want, got Table) []string {
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if want.Scheme != got.Scheme {
		add("scheme is %s, planned %s", got.Scheme, want.Scheme)
		return probs
	}
	if want.Geometry.LogicalSectorSize != got.Geometry.LogicalSectorSize {
		add("read with %d-byte sectors, planned %d", got.Geometry.LogicalSectorSize, want.Geometry.LogicalSectorSize)
	}
	for _, w := range got.Warnings {
		add("reading it back warns: %s", w)
	}
	switch want.Scheme {
	case GPT:
		if !strings.EqualFold(want.DiskGUID, got.DiskGUID) {
			add("disk GUID is %s, planned %s", got.DiskGUID, want.DiskGUID)
		}
		if want.FirstUsableLBA != got.FirstUsableLBA || want.LastUsableLBA != got.LastUsableLBA {
			add("usable LBAs are %d–%d, planned %d–%d", got.FirstUsableLBA, got.LastUsableLBA, want.FirstUsableLBA, want.LastUsableLBA)
		}
		if want.EntryCount != got.EntryCount {
			add("entry array has %d entries, planned %d", got.EntryCount, want.EntryCount)
		}
	case MBR:
		if want.DiskSignature != got.DiskSignature {
			add("disk signature is %#08x, planned %#08x", got.DiskSignature, want.DiskSignature)
		}
	}
	if len(want.Partitions) != len(got.Partitions) {
		add("%d partitions, planned %d", len(got.Partitions), len(want.Partitions))
	}
	for _, w := range want.Partitions {
		g, ok := got.Partition(w.Number)
		if !ok {
			add("partition %d is missing", w.Number)
			continue
		}
		if w.Kind != g.Kind || w.Start != g.Start || w.Size != g.Size {
			add("partition %d is %s at byte %d, %d bytes; planned %s at byte %d, %d bytes", w.Number, g.Kind, g.Start, g.Size, w.Kind, w.Start, w.Size)
		}
		if !strings.EqualFold(w.TypeGUID, g.TypeGUID) || !strings.EqualFold(w.GUID, g.GUID) || w.Name != g.Name || w.Attributes != g.Attributes {
			add("partition %d has type %s, GUID %s, name %q, attributes %#x; planned %s, %s, %q, %#x", w.Number, g.TypeGUID, g.GUID, g.Name, g.Attributes, w.TypeGUID, w.GUID, w.Name, w.Attributes)
		}
		if w.Type != g.Type || w.Bootable != g.Bootable || w.EBR != g.EBR {
			add("partition %d has type %#02x, bootable %v, EBR at %d; planned %#02x, %v, %d", w.Number, g.Type, g.Bootable, g.EBR, w.Type, w.Bootable, w.EBR)
		}
	}
	return probs
}

// Verify reads the table back from the disk and compares it with the layout: with this
// package's reader (both GPT headers and entry arrays, the EBR chain), with go-diskfs's reader
// as a second opinion, and byte for byte for the protective MBR's clamped size.
func Verify(d Device, lay Layout) error {
	if dc, ok := d.(interface{ DropCache() error }); ok {
		if err := dc.DropCache(); err != nil {
			return err
		}
	}
	var probs []string
	if g := d.Geometry(); g != lay.Geometry {
		probs = append(probs, fmt.Sprintf("disk geometry is %s, planned %s", g, lay.Geometry))
	}
	got, err := Read(d)
	if err != nil {
		return &VerifyError{Device: d.Path(), Problems: []string{err.Error()}}
	}
	probs = append(probs, compareTables(lay.Table, got)...)
	switch lay.Scheme {
	case GPT:
		probs = append(probs, verifyGPTSecondOpinion(d, lay)...)
	case MBR:
		probs = append(probs, verifyMBRSecondOpinion(d, lay)...)
	}
	if len(probs) > 0 {
		return &VerifyError{Device: d.Path(), Problems: probs}
	}
	return nil
}

func verifyGPTSecondOpinion(d Device, lay Layout) []string {
	var probs []string
	g := lay.Geometry
	f := &deviceFile{d: d}
	t, err := gpt.Read(f, g.LogicalSectorSize, g.PhysicalSectorSize)
	if err != nil {
		return []string{fmt.Sprintf("go-diskfs cannot read the GPT: %v", err)}
	}
	if t.RecoveredFromBackup {
		probs = append(probs, "go-diskfs read the GPT from its backup")
	}
	if err := t.Verify(f, uint64(g.Size)); err != nil {
		probs = append(probs, fmt.Sprintf("go-diskfs: %v", err))
	}
	if !strings.EqualFold(t.GUID, lay.DiskGUID) {
		probs = append(probs, fmt.Sprintf("go-diskfs reads disk GUID %s, planned %s", t.GUID, lay.DiskGUID))
	}
	l := uint64(g.LogicalSectorSize)
	if len(t.Partitions) != len(lay.Partitions) {
		probs = append(probs, fmt.Sprintf("go-diskfs reads %d partitions, planned %d", len(t.Partitions), len(lay.Partitions)))
	}
	for _, p := range t.Partitions {
		w, ok := lay.Partition(p.Index)
		if !ok {
			probs = append(probs, fmt.Sprintf("go-diskfs reads partition %d, which was not planned", p.Index))
			continue
		}
		if p.Start*l != uint64(w.Start) || (p.End+1)*l != uint64(w.End()) || !strings.EqualFold(string(p.Type), w.TypeGUID) ||
			!strings.EqualFold(p.GUID, w.GUID) || p.Name != w.Name || p.Attributes != w.Attributes {
			probs = append(probs, fmt.Sprintf("go-diskfs reads partition %d differently: LBA %d–%d type %s GUID %s", p.Index, p.Start, p.End, p.Type, p.GUID))
		}
	}
	s0 := make([]byte, 512)
	if _, err := d.ReadAt(s0, 0); err != nil {
		return append(probs, fmt.Sprintf("reading sector 0: %v", err))
	}
	want := uint32(min(g.Sectors()-1, mbrMaxLBA))
	if s0[mbrEntriesOffset+4] != mbrTypeProtective || binary.LittleEndian.Uint32(s0[mbrEntriesOffset+8:]) != 1 ||
		binary.LittleEndian.Uint32(s0[mbrEntriesOffset+12:]) != want {
		probs = append(probs, fmt.Sprintf("protective MBR entry is not 0xEE from LBA 1 for %d sectors", want))
	}
	return probs
}

func verifyMBRSecondOpinion(d Device, lay Layout) []string {
	t, err := mbr.Read(&deviceFile{d: d}, lay.Geometry.LogicalSectorSize, lay.Geometry.PhysicalSectorSize)
	if err != nil {
		return []string{fmt.Sprintf("go-diskfs cannot read the MBR: %v", err)}
	}
	var probs []string
	l := int64(lay.Geometry.LogicalSectorSize)
	for _, p := range t.Partitions {
		w, ok := lay.Partition(p.Index)
		if p.Type == mbr.Empty {
			if ok && w.Kind != KindLogical {
				probs = append(probs, fmt.Sprintf("go-diskfs reads MBR entry %d as empty", p.Index))
			}
			continue
		}
		if !ok || int64(p.Start)*l != w.Start || int64(p.Size)*l != w.Size || byte(p.Type) != w.Type || p.Bootable != w.Bootable {
			probs = append(probs, fmt.Sprintf("go-diskfs reads MBR entry %d as type %#02x at LBA %d for %d sectors", p.Index, byte(p.Type), p.Start, p.Size))
		}
	}
	if got := t.UUID(); got != fmt.Sprintf("%08x", lay.DiskSignature) {
		probs = append(probs, fmt.Sprintf("go-diskfs reads disk signature %s, planned %08x", got, lay.DiskSignature))
	}
	return probs
}
