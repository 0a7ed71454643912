package simulate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/partition"
)

// devPath turns "vda" or "/dev/vda" into "/dev/vda".
func devPath(name string) string {
	if strings.HasPrefix(name, "/") {
		return filepath.Clean(name)
	}
	return "/dev/" + name
}

// kname is the kernel name of a /dev path: /dev/vda2 -> vda2, /dev/mapper/x -> x.
func kname(dev string) string { return filepath.Base(dev) }

// mdName turns "md0" or "/dev/md0" into "md0".
func mdName(md string) string { return kname(md) }

// partDev is the /dev path of partition n of disk (blockstack.PartitionName).
func partDev(disk string, n int) string {
	return blockstack.PartitionName(devPath(disk), n)
}

// Member is one md member: the array and the member's kernel name.
type Member struct {
	Array  string // md0
	Device string // vda2 (or dm-3)
	Disk   string // vda: the whole disk the member lives on
	State  string // md's dev-*/state, e.g. "in_sync", "faulty"; after Vanish, how md settled it
}

// Members lists every member of every md array, with the disk it lives on.
func Members(root *host.Root) ([]Member, error) {
	dirs, err := root.Glob("/sys/block/md*/md/dev-*")
	if err != nil {
		return nil, err
	}
	var out []Member
	for _, d := range dirs {
		md := strings.Split(strings.TrimPrefix(d, "/sys/block/"), "/")[0]
		dev := strings.TrimPrefix(filepath.Base(d), "dev-")
		state, _ := root.ReadString(d + "/state")
		out = append(out, Member{Array: md, Device: dev, Disk: diskOf(root, dev), State: state})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Array != out[j].Array {
			return out[i].Array < out[j].Array
		}
		return out[i].Device < out[j].Device
	})
	return out, nil
}

// diskOf finds the whole disk under a block device: a partition's parent, or for a dm device
// the disk under its (single) slave.
func diskOf(root *host.Root, k string) string {
	for range 4 {
		if root.Exists("/sys/class/block/" + k + "/partition") {
			p, err := root.ResolveLink("/sys/class/block/" + k)
			if err != nil {
				return k
			}
			return filepath.Base(filepath.Dir(p))
		}
		ents, err := root.ReadDir("/sys/class/block/" + k + "/slaves")
		if err != nil || len(ents) != 1 {
			return k
		}
		k = ents[0].Name()
	}
	return k
}

// onDisk lists the members that live on disk.
func onDisk(root *host.Root, disk string) ([]Member, error) {
	all, err := Members(root)
	if err != nil {
		return nil, err
	}
	var out []Member
	for _, m := range all {
		if m.Disk == kname(disk) {
			out = append(out, m)
		}
	}
	return out, nil
}

// writeAttr writes a kernel control file (sysfs, /proc/sys) under root.
func writeAttr(root *host.Root, path, value string) error {
	if err := os.WriteFile(root.Path(path), []byte(value), 0o644); err != nil {
		return fmt.Errorf("writing %q to %s: %w", value, path, err)
	}
	return nil
}

// waitFor polls cond every 100ms until it holds or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// checkIdle refuses a disk that is mounted, swapped on, or held by md/dm: simulate builds
// layouts on scratch disks and must never take a live one. What it reads it hands to
// partition.InUse, raidswap's one rule and wording for "in use".
func checkIdle(root *host.Root, disk string) error {
	k := kname(disk)
	if !root.Exists("/sys/block/" + k) {
		return fmt.Errorf("refusing %s: no /sys/block/%s (not a whole disk?)", disk, k)
	}
	uses := []partition.Use{{Device: k}}
	parts, _ := root.Glob("/sys/block/" + k + "/" + k + "*")
	for _, p := range parts {
		uses = append(uses, partition.Use{Device: filepath.Base(p)})
	}
	at := map[string]int{}
	for i := range uses {
		at[uses[i].Device] = i
		holders, _ := root.ReadDir("/sys/class/block/" + uses[i].Device + "/holders")
		for _, h := range holders {
			uses[i].Holders = append(uses[i].Holders, partition.Holder{Name: h.Name()})
		}
	}
	use := func(dev string) *partition.Use {
		d, ok := strings.CutPrefix(dev, "/dev/")
		if !ok || (d != k && !isPartition(d, k)) {
			return nil
		}
		i, ok := at[d]
		if !ok {
			i = len(uses)
			at[d] = i
			uses = append(uses, partition.Use{Device: d})
		}
		return &uses[i]
	}
	mounts, err := root.ReadFile("/proc/self/mounts")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, m := range blockstack.ParseMounts(mounts) {
		if u := use(m.Source); u != nil {
			point := m.Point
			if point == "" {
				point = "(unknown)"
			}
			u.Mounts = append(u.Mounts, point)
		}
	}
	swaps, err := root.ReadFile("/proc/swaps")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, sw := range blockstack.ParseSwaps(swaps) {
		if u := use(sw); u != nil {
			u.Swap = true
		}
	}
	if why := partition.InUse(uses...); why != "" {
		return fmt.Errorf("refusing %s: %s", disk, why)
	}
	return nil
}

// isPartition reports whether name is a partition of disk k by the kernel's naming
// (vda -> vda2, nvme0n1 -> nvme0n1p2).
func isPartition(name, k string) bool {
	rest, ok := strings.CutPrefix(name, k)
	if !ok || rest == "" {
		return false
	}
	if last := k[len(k)-1]; last >= '0' && last <= '9' {
		if rest, ok = strings.CutPrefix(rest, "p"); !ok || rest == "" {
			return false
		}
	}
	return strings.Trim(rest, "0123456789") == ""
}

// run runs argv and wraps its error with why it ran.
func run(ctx context.Context, r host.Runner, why string, argv ...string) (host.Result, error) {
	res, err := r.Run(ctx, argv...)
	if err != nil {
		return res, fmt.Errorf("%s: %w", why, err)
	}
	return res, nil
}
