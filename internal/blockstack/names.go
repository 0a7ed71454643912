package blockstack

import "fmt"

// PartitionName is the kernel's name for partition n of disk: a disk whose name ends in a
// digit takes a "p" before the number (nvme0n1 → nvme0n1p3, md0 → md0p1, loop0 → loop0p2),
// any other does not (sdb → sdb3, vda → vda2). It is the one place raidswap names a
// partition; a "/dev/" prefix is kept.
func PartitionName(disk string, n int) string {
	if disk != "" && disk[len(disk)-1] >= '0' && disk[len(disk)-1] <= '9' {
		return fmt.Sprintf("%sp%d", disk, n)
	}
	return fmt.Sprintf("%s%d", disk, n)
}
