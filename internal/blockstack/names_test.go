package blockstack

import "testing"

func TestPartitionName(t *testing.T) {
	for _, tc := range []struct {
		disk string
		n    int
		want string
	}{
		{"sdb", 3, "sdb3"}, {"vda", 12, "vda12"}, {"nvme0n1", 3, "nvme0n1p3"}, {"md0", 1, "md0p1"},
		{"loop7", 2, "loop7p2"}, {"/dev/sdb", 1, "/dev/sdb1"}, {"/dev/nvme1n1", 2, "/dev/nvme1n1p2"}, {"", 1, "1"},
	} {
		if got := PartitionName(tc.disk, tc.n); got != tc.want {
			t.Errorf("PartitionName(%q, %d) = %q, want %q", tc.disk, tc.n, got, tc.want)
		}
	}
}
