package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
)

// SwapFor finds the failed disk's swap partitions and the UUIDs /etc/fstab knows them by, so
// the plan can recreate them on the new disk with `mkswap -U` and fstab needs no change. It
// reads only the discovered System (sys.Host holds the fstab and by-uuid facts).
//
// An attached failed disk: each partition with a /dev/disk/by-uuid link whose UUID fstab
// mounts as swap. A vanished one: its partitions are gone, so a swap UUID in fstab that no
// attached device carries is taken to be its, on the partition number the survivor uses for
// swap; when that is ambiguous, a note says so and nothing is guessed.
func SwapFor(sys *discover.System, failed string) ([]SwapPartition, []string) {
	if sys.Host.NoFstab {
		return nil, []string{"there is no /etc/fstab: swap partitions are not recreated"}
	}
	want := sys.Host.FstabSwap
	if len(want) == 0 {
		return nil, nil
	}
	byUUID := sys.Host.UUIDLinks
	name := strings.TrimPrefix(failed, "/dev/")
	var f *discover.Disk
	for i := range sys.Disks {
		if (failed != "" && sys.Disks[i].Serial == failed) || sys.Disks[i].Name == name {
			f = &sys.Disks[i]
			break
		}
	}
	if f == nil {
		return nil, nil
	}
	var out []SwapPartition
	var notes []string
	if f.Present {
		for _, uuid := range want {
			dev, ok := byUUID[uuid]
			if !ok {
				continue
			}
			n := PartitionNumber(f.Name, dev)
			if n == 0 {
				continue
			}
			active := false
			for _, s := range f.Swap {
				active = active || s == dev
			}
			out = append(out, SwapPartition{Partition: n, UUID: uuid, Active: active})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
		return out, nil
	}
	var lost []string
	for _, uuid := range want {
		if _, ok := byUUID[uuid]; !ok {
			lost = append(lost, uuid)
		}
	}
	if len(lost) == 0 {
		return nil, nil
	}
	nums := map[int]bool{}
	for _, d := range sys.Disks {
		if !d.Present || d.Name == f.Name {
			continue
		}
		for _, s := range d.Swap {
			if n := PartitionNumber(d.Name, s); n > 0 {
				nums[n] = true
			}
		}
	}
	if len(lost) == 1 && len(nums) == 1 {
		for n := range nums {
			out = append(out, SwapPartition{Partition: n, UUID: lost[0]})
		}
		return out, nil
	}
	notes = append(notes, fmt.Sprintf("/etc/fstab names swap UUID(s) %s that no attached device carries, and the survivor's swap partition cannot be matched to them one to one: recreate the swap by hand with `mkswap -U UUID /dev/NEWn`",
		strings.Join(lost, ", ")))
	return nil, notes
}
