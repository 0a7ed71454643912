package partition

import "testing"

// TestClearedEnds: a write report covers a layout when its zeroed regions hold the first and
// last MiB (the whole, when smaller) of every data partition; an extended partition needs
// none; one missing end is not covered.
func TestClearedEnds(t *testing.T) {
	const mib = 1 << 20
	lay := Layout{Table: Table{Partitions: []Partition{
		{Number: 1, Start: 1 * mib, Size: mib / 2},
		{Number: 2, Start: 2 * mib, Size: 100 * mib},
		{Number: 3, Start: 102 * mib, Size: 50 * mib, Kind: KindExtended},
		{Number: 5, Start: 103 * mib, Size: 40 * mib},
	}}}
	ends := []region{
		{Off: 1 * mib, Len: mib / 2},
		{Off: 2 * mib, Len: mib}, {Off: 101 * mib, Len: mib},
		{Off: 103 * mib, Len: mib}, {Off: 142 * mib, Len: mib},
	}
	tests := []struct {
		name  string
		wiped []region
		want  bool
	}{
		{"each end zeroed", ends, true},
		{"merged regions", []region{{Off: 0, Len: 3 * mib}, {Off: 101 * mib, Len: 3 * mib}, {Off: 142 * mib, Len: mib}}, true},
		{"partition 5's end missing", ends[:4], false},
		{"partition 2's start one byte short", append([]region{{Off: 1 * mib, Len: mib / 2}, {Off: 2*mib + 1, Len: mib}}, ends[2:]...), false},
		{"nothing zeroed", nil, false},
	}
	for _, tt := range tests {
		if got := (WriteReport{Wiped: tt.wiped}).ClearedEnds(lay); got != tt.want {
			t.Errorf("%s: ClearedEnds = %v, want %v", tt.name, got, tt.want)
		}
	}
}
