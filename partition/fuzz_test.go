package partition

import (
	"errors"
	"io"
	"testing"
)

// zeroPadded is a disk whose first bytes are the fuzz input and the rest zeros.
type zeroPadded struct {
	b    []byte
	size int64
}

func (z zeroPadded) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= z.size {
		return 0, io.EOF
	}
	n := len(p)
	if rest := z.size - off; int64(n) > rest {
		n = int(rest)
	}
	clear(p[:n])
	if off < int64(len(z.b)) {
		copy(p[:n], z.b[off:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// seedImage renders a planned layout into bytes, for the fuzz corpus: the first 40 KiB,
// which hold the MBR, the primary GPT or the EBRs (the fuzz disk is padded with zeros, so
// the backup GPT is missing, which the reader notes and tolerates). Small inputs keep the
// fuzzer fast.
func seedImage(t testing.TB, src Table) []byte {
	lay, _, err := PlanClone(src, src.Geometry, nil, PlanOptions{Rand: seeded(7)})
	if err != nil {
		t.Fatal(err)
	}
	exts, err := encode(lay)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, src.Geometry.Size)
	for _, e := range exts {
		copy(b[e.Off:], e.data)
	}
	return b[:min(len(b), 40<<10)]
}

// FuzzReadFrom feeds arbitrary disks to the table reader. It must not panic; a table it
// accepts must be sane (partitions on the disk, whole sectors, no overlaps, logical
// partitions inside the extended one); and planning a clone of it must either work, with a
// rendering that reads back, or be refused — never reach an "unreachable" state.
func FuzzReadFrom(f *testing.F) {
	g := geo(256*512, 512, 512)
	f.Add(seedImage(f, gptSrc(g, [2]int64{34 * 512, 8 * 512}, [2]int64{64 * 512, 100 * 512})), false)
	f.Add(seedImage(f, mbrSrc(g, [2]int64{512, 10 * 512}, [2]int64{20 * 512, 30 * 512})), false)
	f.Add(seedImage(f, Table{Scheme: MBR, Geometry: g, DiskSignature: 9, Partitions: []Partition{
		{Number: 1, Kind: KindExtended, Type: 0x0f, Start: 8 * 512, Size: 200 * 512},
		{Number: 5, Kind: KindLogical, Type: 0x83, Start: 16 * 512, Size: 40 * 512, EBR: 8 * 512},
		{Number: 6, Kind: KindLogical, Type: 0xfd, Start: 64 * 512, Size: 40 * 512, EBR: 60 * 512},
	}}), false)
	g4 := geo(256*4096, 4096, 4096)
	f.Add(seedImage(f, gptSrc(g4, [2]int64{8 * 4096, 8 * 4096})), true)
	f.Fuzz(func(t *testing.T, data []byte, fourK bool) {
		if len(data) > 1<<20 {
			return
		}
		l := 512
		if fourK {
			l = 4096
		}
		size := max(int64(len(data)), 256*int64(l))
		size -= size % int64(l)
		g := geo(size, l, l)
		tab, err := ReadFrom(zeroPadded{data, size}, g)
		if err != nil {
			return
		}
		var ext *Partition
		for i, p := range tab.Partitions {
			if p.Start%int64(l) != 0 || p.Size <= 0 || p.Size%int64(l) != 0 || p.Start < int64(l) || p.End() > size {
				t.Fatalf("accepted partition %+v on a %d-byte disk", p, size)
			}
			if p.Kind == KindExtended {
				ext = &tab.Partitions[i]
			}
		}
		if err := checkOverlaps(tab.Partitions); err != nil {
			t.Fatalf("accepted overlapping partitions: %v", err)
		}
		for _, p := range tab.Logicals() {
			if ext == nil || p.Start < ext.Start || p.End() > ext.End() || p.EBR < ext.Start || p.EBR >= p.Start {
				t.Fatalf("logical partition %+v outside extended %+v", p, ext)
			}
		}
		lay, _, err := PlanClone(tab, g, nil, PlanOptions{Rand: seeded(1)})
		if err != nil {
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("planning a clone of an accepted table failed without a refusal: %v", err)
			}
			return
		}
		if _, err := encode(lay); err != nil {
			t.Fatalf("rendering the clone of an accepted table: %v", err)
		}
	})
}
