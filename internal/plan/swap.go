package plan

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
)

// ReadSwap finds the failed disk's swap partitions and the UUIDs /etc/fstab knows them by, so
// the plan can recreate them on the new disk with `mkswap -U` and fstab needs no change.
//
// An attached failed disk: each partition with a /dev/disk/by-uuid link whose UUID fstab
// mounts as swap. A vanished one: its partitions are gone, so a swap UUID in fstab that no
// attached device carries is taken to be its, on the partition number the survivor uses for
// swap; when that is ambiguous, a note says so and nothing is guessed.
func ReadSwap(root *host.Root, sys *discover.System, failed string) ([]SwapPartition, []string, error) {
	fstab, err := root.ReadFile("/etc/fstab")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, []string{"there is no /etc/fstab: swap partitions are not recreated"}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading /etc/fstab: %w", err)
	}
	want := FstabSwapUUIDs(fstab)
	if len(want) == 0 {
		return nil, nil, nil
	}
	byUUID := map[string]string{} // uuid -> kernel name
	links, _ := root.Glob("/dev/disk/by-uuid/*")
	for _, l := range links {
		t, err := root.ReadLink(l)
		if err != nil {
			continue
		}
		byUUID[path.Base(l)] = path.Base(t)
	}
	name := strings.TrimPrefix(failed, "/dev/")
	var f *discover.Disk
	for i := range sys.Disks {
		if (failed != "" && sys.Disks[i].Serial == failed) || sys.Disks[i].Name == name {
			f = &sys.Disks[i]
			break
		}
	}
	if f == nil {
		return nil, nil, nil
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
		return out, nil, nil
	}
	var lost []string
	for _, uuid := range want {
		if _, ok := byUUID[uuid]; !ok {
			lost = append(lost, uuid)
		}
	}
	if len(lost) == 0 {
		return nil, nil, nil
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
		return out, nil, nil
	}
	notes = append(notes, fmt.Sprintf("/etc/fstab names swap UUID(s) %s that no attached device carries, and the survivor's swap partition cannot be matched to them one to one: recreate the swap by hand with `mkswap -U UUID /dev/NEWn`",
		strings.Join(lost, ", ")))
	return nil, notes, nil
}

// FstabSwapUUIDs lists the UUIDs of swap entries in an fstab (UUID=... or
// /dev/disk/by-uuid/...), in file order.
func FstabSwapUUIDs(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 || f[2] != "swap" {
			continue
		}
		spec := f[0]
		switch {
		case strings.HasPrefix(spec, "UUID="):
			out = append(out, strings.Trim(strings.TrimPrefix(spec, "UUID="), `"`))
		case strings.HasPrefix(spec, "/dev/disk/by-uuid/"):
			out = append(out, strings.TrimPrefix(spec, "/dev/disk/by-uuid/"))
		}
	}
	return out
}
