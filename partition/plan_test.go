package partition

import (
	"errors"
	"strings"
	"testing"
)

const (
	kib = int64(1024)
	gib = int64(1 << 30)
	mb  = int64(mib)
)

func geo(size int64, l, p int) Geometry {
	return Geometry{Size: size, LogicalSectorSize: l, PhysicalSectorSize: p}
}

// gptSrc builds a GPT source table on a disk of geometry g from (start, size) pairs in bytes.
func gptSrc(g Geometry, parts ...[2]int64) Table {
	t := Table{Scheme: GPT, Geometry: g, DiskGUID: "11111111-2222-4333-8444-555555555555", EntryCount: 128}
	t.FirstUsableLBA, t.LastUsableLBA = gptUsable(g)
	for i, p := range parts {
		t.Partitions = append(t.Partitions, Partition{
			Number: i + 1, Kind: KindGPT, Start: p[0], Size: p[1],
			TypeGUID: "A19D880F-05FC-4D3B-A006-743F0F84911E", GUID: "AAAAAAAA-0000-4000-8000-00000000000" + string(rune('0'+i)),
			Name: "part" + string(rune('0'+i)), Attributes: uint64(i),
		})
	}
	return t
}

// mbrSrc builds a DOS source table with primaries from (start, size) pairs in bytes.
func mbrSrc(g Geometry, parts ...[2]int64) Table {
	t := Table{Scheme: MBR, Geometry: g, DiskSignature: 0x12345678}
	for i, p := range parts {
		t.Partitions = append(t.Partitions, Partition{Number: i + 1, Kind: KindPrimary, Type: 0xfd, Start: p[0], Size: p[1], Bootable: i == 0})
	}
	return t
}

func need12(part int, dataOffset, component int64) MemberNeed {
	sb := Superblock{Metadata: "1.2", Offset: 4096, ArrayUUID: "a:b:c:d", Name: "host:" + string(rune('0'+part)), DataOffset: dataOffset, ComponentSize: component, Role: "active 0"}
	return MemberNeed{Partition: part, Superblock: sb, Need: sb.Need()}
}

type wantPart struct{ start, size int64 }

func TestPlanClone(t *testing.T) {
	// An old DOS layout: cylinder boundaries of 255 heads × 63 sectors.
	const cyl = 16065 * 512
	tests := []struct {
		name      string
		src       Table
		target    Geometry
		needs     []MemberNeed
		opts      PlanOptions
		want      []wantPart
		wantMoves []MoveKind
		wantFree  int64
		refusal   Refusal
		shortfall int64
	}{
		{
			name:   "1 MiB-aligned GPT onto the same size keeps every offset",
			src:    gptSrc(geo(10*gib, 512, 512), [2]int64{mb, mb}, [2]int64{2 * mb, 64 * mb}, [2]int64{66 * mb, 5 * gib}),
			target: geo(10*gib, 512, 4096),
			want:   []wantPart{{mb, mb}, {2 * mb, 64 * mb}, {66 * mb, 5 * gib}},
			// 10 GiB - the backup GPT (33 sectors) - end of partition 3
			wantFree: 10*gib - 33*512 - (66*mb + 5*gib),
		},
		{
			name:   "larger target: same layout, the rest reported free",
			src:    gptSrc(geo(10*gib, 512, 512), [2]int64{mb, 10*gib - 2*mb}),
			target: geo(20*gib, 512, 512),
			want:   []wantPart{{mb, 10*gib - 2*mb}},
			// 20 GiB minus the first MiB, the partition and the 33-sector backup GPT.
			wantFree: 20*gib - mb - (10*gib - 2*mb) - 33*512,
		},
		{
			name:      "sector 63 on a 512e disk moves to sector 64; the next cylinder start moves too",
			src:       mbrSrc(geo(10*gib, 512, 512), [2]int64{63 * 512, cyl*10 - 63*512}, [2]int64{cyl * 10, cyl * 20}),
			target:    geo(10*gib, 512, 4096),
			want:      []wantPart{{64 * 512, cyl*10 - 63*512}, {alignUp(cyl*10+512, 4096), cyl * 20}},
			wantMoves: []MoveKind{MoveRealigned, MoveShifted},
			wantFree:  10*gib - alignUp(cyl*10+512, 4096) - cyl*20,
		},
		{
			name:     "sector 63 stays on a disk with 512-byte physical sectors",
			src:      mbrSrc(geo(10*gib, 512, 512), [2]int64{63 * 512, cyl*10 - 63*512}),
			target:   geo(10*gib, 512, 512),
			want:     []wantPart{{63 * 512, cyl*10 - 63*512}},
			wantFree: 10*gib - cyl*10,
		},
		{
			name:      "a start in a gap that is misaligned moves only as far as the next 4 KiB",
			src:       mbrSrc(geo(10*gib, 512, 512), [2]int64{mb, mb}, [2]int64{10*mb + 512, mb}),
			target:    geo(10*gib, 512, 4096),
			want:      []wantPart{{mb, mb}, {10*mb + 4096, mb}},
			wantMoves: []MoveKind{MoveRealigned},
			wantFree:  10*gib - 11*mb - 4096,
		},
		{
			name:      "512 to 4Kn: an odd sector count is rounded up, the next partition shifts to the next 4 KiB",
			src:       gptSrc(geo(10*gib, 512, 512), [2]int64{mb, mb + 512}, [2]int64{2*mb + 512, mb}),
			target:    geo(10*gib, 4096, 4096),
			want:      []wantPart{{mb, mb + 4096}, {2*mb + 4096, mb}},
			wantMoves: []MoveKind{MoveGrown, MoveShifted},
			wantFree:  10*gib - 5*4096 - 3*mb - 4096,
		},
		{
			name:      "GPT partition at LBA 34 lies in a 4Kn disk's table area",
			src:       gptSrc(geo(gib, 512, 512), [2]int64{34 * 512, mb}),
			target:    geo(gib, 4096, 4096),
			want:      []wantPart{{6 * 4096, mb}},
			wantMoves: []MoveKind{MoveShifted},
			wantFree:  gib - 5*4096 - 6*4096 - mb,
		},
		{
			name:      "too small target, no md member: refused with the shortfall",
			src:       gptSrc(geo(10*gib, 512, 512), [2]int64{mb, 9 * gib}),
			target:    geo(9*gib, 512, 512),
			refusal:   RefuseTooSmall,
			shortfall: mb + 9*gib - (9*gib - 33*512),
		},
		{
			name:      "smaller target: the last md member shrinks to what it needs",
			src:       gptSrc(geo(10*gib, 512, 512), [2]int64{mb, mb}, [2]int64{2 * mb, 10*gib - 3*mb}),
			target:    geo(10*gib-100*mb, 512, 4096),
			needs:     []MemberNeed{need12(2, 2*mb, 8*gib)},
			want:      []wantPart{{mb, mb}, {2 * mb, alignDown(10*gib-100*mb-33*512-2*mb, 4096)}},
			wantMoves: []MoveKind{MoveShrunk},
			wantFree:  10*gib - 100*mb - 33*512 - 2*mb - alignDown(10*gib-100*mb-33*512-2*mb, 4096),
		},
		{
			name:      "smaller target than the md member needs: refused with the member's shortfall",
			src:       gptSrc(geo(10*gib, 512, 512), [2]int64{mb, mb}, [2]int64{2 * mb, 10*gib - 3*mb}),
			target:    geo(9*gib, 512, 512),
			needs:     []MemberNeed{need12(2, 2*mb, 9*gib)},
			refusal:   RefuseTooSmall,
			shortfall: 2*mb + 2*mb + 9*gib - (9*gib - 33*512),
		},
		{
			name:    "512-byte md member onto 4Kn: refused without the flag",
			src:     gptSrc(geo(10*gib, 512, 512), [2]int64{mb, 5 * gib}),
			target:  geo(10*gib, 4096, 4096),
			needs:   []MemberNeed{need12(1, mb, 4*gib)},
			refusal: RefuseSectorSizeChange,
		},
		{
			name:     "512-byte md member onto 4Kn with --allow-sector-size-change",
			src:      gptSrc(geo(10*gib, 512, 512), [2]int64{mb, 5 * gib}),
			target:   geo(10*gib, 4096, 4096),
			needs:    []MemberNeed{need12(1, mb, 4*gib)},
			opts:     PlanOptions{AllowSectorSizeChange: true},
			want:     []wantPart{{mb, 5 * gib}},
			wantFree: 10*gib - 5*4096 - mb - 5*gib,
		},
		{
			name:    "md data offset not whole 4 KiB sectors cannot live on 4Kn",
			src:     gptSrc(geo(10*gib, 512, 512), [2]int64{mb, 5 * gib}),
			target:  geo(10*gib, 4096, 4096),
			needs:   []MemberNeed{need12(1, mb+2048, 4*gib)},
			opts:    PlanOptions{AllowSectorSizeChange: true},
			refusal: RefuseUnrepresentable,
		},
		{
			name:    "md component not whole 4 KiB sectors cannot live on 4Kn",
			src:     gptSrc(geo(10*gib, 512, 512), [2]int64{mb, 5 * gib}),
			target:  geo(10*gib, 4096, 4096),
			needs:   []MemberNeed{need12(1, mb, 4*gib+512)},
			opts:    PlanOptions{AllowSectorSizeChange: true},
			refusal: RefuseUnrepresentable,
		},
		{
			name:     "the same odd component is fine on a 512e disk",
			src:      gptSrc(geo(10*gib, 512, 512), [2]int64{mb, 5 * gib}),
			target:   geo(10*gib, 512, 4096),
			needs:    []MemberNeed{need12(1, mb, 4*gib+512)},
			want:     []wantPart{{mb, 5 * gib}},
			wantFree: 10*gib - 33*512 - mb - 5*gib,
		},
		{
			name:     "4Kn md member onto 512: no refusal (the array keeps its 4096-byte blocks)",
			src:      gptSrc(geo(10*gib, 4096, 4096), [2]int64{mb, 5 * gib}),
			target:   geo(10*gib, 512, 4096),
			needs:    []MemberNeed{need12(1, mb, 4*gib)},
			want:     []wantPart{{mb, 5 * gib}},
			wantFree: 10*gib - 33*512 - mb - 5*gib,
		},
		{
			name:    "DOS layout past 2^32 sectors of the target",
			src:     mbrSrc(geo(16*1024*gib, 4096, 4096), [2]int64{mb, 3 * 1024 * gib}),
			target:  geo(16*1024*gib, 512, 4096),
			refusal: RefuseUnrepresentable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lay, moves, err := PlanClone(tt.src, tt.target, tt.needs, PlanOptions{AllowSectorSizeChange: tt.opts.AllowSectorSizeChange, Rand: seeded(1)})
			if tt.refusal != "" {
				var re *RefusedError
				if !errors.As(err, &re) || re.Kind != tt.refusal {
					t.Fatalf("err = %v, want a %s refusal", err, tt.refusal)
				}
				if re.Shortfall != tt.shortfall {
					t.Errorf("shortfall %d, want %d (%v)", re.Shortfall, tt.shortfall, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(lay.Partitions) != len(tt.want) {
				t.Fatalf("%d partitions, want %d", len(lay.Partitions), len(tt.want))
			}
			for i, w := range tt.want {
				p := lay.Partitions[i]
				if p.Start != w.start || p.Size != w.size {
					t.Errorf("partition %d at %d size %d, want %d size %d", p.Number, p.Start, p.Size, w.start, w.size)
				}
			}
			var kinds []MoveKind
			for _, m := range moves {
				kinds = append(kinds, m.Kind)
				if m.Reason == "" {
					t.Errorf("move %+v has no reason", m)
				}
			}
			if strings.Join(toStrings(kinds), ",") != strings.Join(toStrings(tt.wantMoves), ",") {
				t.Errorf("moves %v, want %v", kinds, tt.wantMoves)
			}
			if lay.FreeBytes != tt.wantFree {
				t.Errorf("free %d, want %d", lay.FreeBytes, tt.wantFree)
			}
			if err := Validate(lay); err != nil {
				t.Errorf("planned layout does not validate: %v", err)
			}
		})
	}
}

func toStrings(k []MoveKind) []string {
	out := make([]string, len(k))
	for i, x := range k {
		out[i] = string(x)
	}
	return out
}

// TestPlanCloneIdentity: every GPT identifier is new and unique; types, names and attribute
// bits are kept; a DOS disk signature is new and non-zero.
func TestPlanCloneIdentity(t *testing.T) {
	src := gptSrc(geo(10*gib, 512, 512), [2]int64{mb, mb}, [2]int64{2 * mb, mb}, [2]int64{3 * mb, mb})
	lay, _, err := PlanClone(src, src.Geometry, nil, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{src.DiskGUID: true}
	for _, p := range src.Partitions {
		seen[p.GUID] = true
	}
	if seen[lay.DiskGUID] {
		t.Errorf("disk GUID %s reused", lay.DiskGUID)
	}
	seen[lay.DiskGUID] = true
	for i, p := range lay.Partitions {
		s := src.Partitions[i]
		if seen[p.GUID] {
			t.Errorf("partition %d GUID %s is not new", p.Number, p.GUID)
		}
		seen[p.GUID] = true
		if p.TypeGUID != s.TypeGUID || p.Name != s.Name || p.Attributes != s.Attributes {
			t.Errorf("partition %d lost type/name/attributes: %+v from %+v", p.Number, p, s)
		}
	}
	m := mbrSrc(geo(10*gib, 512, 512), [2]int64{mb, mb})
	ml, _, err := PlanClone(m, m.Geometry, nil, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ml.DiskSignature == 0 || ml.DiskSignature == m.DiskSignature {
		t.Errorf("disk signature %#x, source %#x", ml.DiskSignature, m.DiskSignature)
	}
	if !ml.Partitions[0].Bootable {
		t.Error("boot flag lost")
	}
}

// TestPlanCloneLogical covers the EBR chain: an old layout with EBRs on cylinder
// boundaries and logical partitions 63 sectors after them, onto a 512e disk.
func TestPlanCloneLogical(t *testing.T) {
	const cyl = 16065 * 512
	g := geo(10*gib, 512, 512)
	src := Table{Scheme: MBR, Geometry: g, DiskSignature: 1, Partitions: []Partition{
		{Number: 1, Kind: KindPrimary, Type: 0x83, Start: 63 * 512, Size: cyl - 63*512, Bootable: true},
		{Number: 2, Kind: KindExtended, Type: 0x05, Start: cyl, Size: 9 * cyl},
		{Number: 5, Kind: KindLogical, Type: 0xfd, Start: cyl + 63*512, Size: 3*cyl - 63*512, EBR: cyl},
		{Number: 6, Kind: KindLogical, Type: 0x82, Start: 4*cyl + 63*512, Size: 2*cyl - 63*512, EBR: 4 * cyl},
	}}
	lay, moves, err := PlanClone(src, geo(10*gib, 512, 4096), nil, PlanOptions{Rand: seeded(2)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range lay.Partitions {
		s, _ := src.Partition(p.Number)
		if p.IsData() && p.Start%4096 != 0 {
			t.Errorf("partition %d starts at %d, not 4 KiB aligned", p.Number, p.Start)
		}
		if p.Size < s.Size && p.Kind != KindExtended {
			t.Errorf("partition %d shrank from %d to %d", p.Number, s.Size, p.Size)
		}
	}
	ext, _ := lay.Extended()
	l5, _ := lay.Partition(5)
	l6, _ := lay.Partition(6)
	if l5.EBR != ext.Start || l6.EBR < l5.End() || l6.EBR >= l6.Start || l6.End() > ext.End() {
		t.Errorf("EBR chain is broken: ext %+v l5 %+v l6 %+v", ext, l5, l6)
	}
	// The extended container sat on a cylinder boundary (not 4 KiB aligned) and moves.
	if ext.Start != alignUp(cyl, 4096) {
		t.Errorf("extended starts at %d, want %d", ext.Start, alignUp(cyl, 4096))
	}
	if len(moves) == 0 {
		t.Error("no moves reported")
	}
	if err := Validate(lay); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRejects(t *testing.T) {
	src := gptSrc(geo(10*gib, 512, 512), [2]int64{mb, mb}, [2]int64{2 * mb, mb})
	good, _, err := PlanClone(src, src.Geometry, nil, PlanOptions{Rand: seeded(3)})
	if err != nil {
		t.Fatal(err)
	}
	mutate := map[string]func(l *Layout){
		"overlap":          func(l *Layout) { l.Partitions[1].Start = l.Partitions[0].Start + 4096 },
		"misaligned":       func(l *Layout) { l.Partitions[1].Start += 512; l.Geometry.PhysicalSectorSize = 4096 },
		"duplicate GUID":   func(l *Layout) { l.Partitions[1].GUID = l.Partitions[0].GUID },
		"past the end":     func(l *Layout) { l.Partitions[1].Size = 10 * gib },
		"in the GPT area":  func(l *Layout) { l.Partitions[0].Start = 512 },
		"partition 129":    func(l *Layout) { l.Partitions[1].Number = 129 },
		"bad type GUID":    func(l *Layout) { l.Partitions[0].TypeGUID = "x" },
		"zero disk GUID":   func(l *Layout) { l.DiskGUID = zeroGUID },
		"wrong usable LBA": func(l *Layout) { l.LastUsableLBA++ },
	}
	for name, f := range mutate {
		t.Run(name, func(t *testing.T) {
			l := good
			l.Partitions = append([]Partition(nil), good.Partitions...)
			f(&l)
			if err := Validate(l); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestGrainFor(t *testing.T) {
	tests := []struct {
		name   string
		src    Table
		target Geometry
		want   int64
	}{
		{"MiB-aligned source, 512e target", gptSrc(geo(gib, 512, 512), [2]int64{mb, mb}, [2]int64{5 * mb, mb}), geo(gib, 512, 4096), mb},
		{"one start off the MiB grid", gptSrc(geo(gib, 512, 512), [2]int64{mb, mb}, [2]int64{5*mb + 4096, mb}), geo(gib, 512, 4096), 4096},
		{"sector 63 onto 512n", mbrSrc(geo(gib, 512, 512), [2]int64{63 * 512, mb}), geo(gib, 512, 512), 512},
		{"sector 63 onto 4Kn", mbrSrc(geo(gib, 512, 512), [2]int64{63 * 512, mb}), geo(gib, 4096, 4096), 4096},
	}
	for _, tt := range tests {
		if got := grainFor(tt.src, tt.target); got != tt.want {
			t.Errorf("%s: grain %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestPlanCloneAddPartition adds an ESP beside the survivor's partitions (the only ESP was on
// the failed disk): in a gap the survivor leaves free, at the end of a larger disk, in room
// made by cutting the last md member down to what it needs, or refused with the free space.
func TestPlanCloneAddPartition(t *testing.T) {
	const espType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
	esp := &NewPartition{Number: 1, Size: 64 * mb, TypeGUID: espType, Name: "EFI System Partition"}
	disk := geo(256*mb, 512, 512)
	// The survivor's md member is partition 2 at 65 MiB (partition 1's place left free).
	gap := gptSrc(disk, [2]int64{mb, 64 * mb}, [2]int64{65 * mb, 128 * mb})
	gap.Partitions = gap.Partitions[1:]
	// The survivor's md member starts at 1 MiB and fills the disk.
	full := gptSrc(disk, [2]int64{mb, 254 * mb})
	full.Partitions[0].Number = 2
	tests := []struct {
		name   string
		src    Table
		target Geometry
		needs  []MemberNeed
		want   wantPart // the added partition
		shrunk int64    // the md member's size after the cut, 0 for none
		refuse string
	}{
		{name: "in the gap before the member", src: gap, target: disk, want: wantPart{mb, 64 * mb}},
		{name: "after the member on a larger disk", src: full, target: geo(512*mb, 512, 512), want: wantPart{255 * mb, 64 * mb}},
		{name: "room made by cutting the member to its need", src: full, target: disk, needs: []MemberNeed{need12(2, 2*mb, 100*mb)},
			want: wantPart{alignDown(disk.Size-33*512-64*mb, mb), 64 * mb}, shrunk: alignDown(disk.Size-33*512-64*mb, mb) - mb},
		{name: "no room", src: full, target: disk, needs: []MemberNeed{need12(2, 2*mb, 200*mb)}, refuse: "no room for the new partition 1"},
		{name: "number taken", src: gap, target: disk, refuse: "already in the source table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src
			if tt.name == "number taken" {
				src = gptSrc(disk, [2]int64{mb, 64 * mb})
			}
			lay, moves, err := PlanClone(src, tt.target, tt.needs, PlanOptions{Add: esp})
			if tt.refuse != "" {
				var re *RefusedError
				if !errors.As(err, &re) || !strings.Contains(err.Error(), tt.refuse) {
					t.Fatalf("err = %v, want a refusal saying %q", err, tt.refuse)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, ok := lay.Partition(1)
			if !ok || p.Start != tt.want.start || p.Size != tt.want.size || p.TypeGUID != espType || p.Name != esp.Name {
				t.Fatalf("added partition = %+v (found %v), want start %d size %d", p, ok, tt.want.start, tt.want.size)
			}
			m, _ := lay.Partition(2)
			if tt.shrunk != 0 {
				if m.Size != tt.shrunk || len(moves) == 0 || moves[len(moves)-1].Kind != MoveShrunk {
					t.Fatalf("member = %+v, moves %+v; want it cut to %d", m, moves, tt.shrunk)
				}
			} else if m.Size != src.Partitions[len(src.Partitions)-1].Size {
				t.Fatalf("member resized: %+v", m)
			}
			if m.End() > p.Start && p.End() > m.Start {
				t.Fatalf("added partition %+v overlaps the member %+v", p, m)
			}
		})
	}
}
