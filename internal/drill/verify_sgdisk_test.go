package drill

import "testing"

// The score card shows sgdisk -v's verdict and its cautions whole, never a caution cut after
// its first line in place of the verdict (issue 20).
func TestSgdiskVerdict(t *testing.T) {
	out := "\nCaution: Partition 4 doesn't end on a 2048-sector boundary. This may\nresult in problems with some disk encryption tools.\n\nNo problems found. 262077 free sectors (128.0 MiB) available in 2\nsegments, the largest of which is 262077 (128.0 MiB) in size.\n"
	want := "No problems found. (Caution: Partition 4 doesn't end on a 2048-sector boundary. This may result in problems with some disk encryption tools.)"
	if got := sgdiskVerdict(out, nil); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := sgdiskVerdict("\nNo problems found. 10 free sectors (5.0 KiB) available in 1\nsegments.\n", nil); got != "No problems found." {
		t.Errorf("clean: %q", got)
	}
	if got := sgdiskVerdict("Problem: The CRC for the main partition table is invalid.\n\nIdentified 1 problems!\n", nil); got != "Identified 1 problems! (Problem: The CRC for the main partition table is invalid.)" {
		t.Errorf("problem: %q", got)
	}
}
