package simulate

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/raidswap/raidswap/internal/host"
)

// ClonePartitions copies src's partition table to dst with fresh GUIDs (sgdisk --replicate,
// --randomize-guids) and makes the kernel see dst's partitions. GPT only.
func ClonePartitions(ctx context.Context, r host.Runner, root *host.Root, src, dst string) error {
	src, dst = devPath(src), devPath(dst)
	if err := checkIdle(root, dst); err != nil {
		return err
	}
	steps := [][]string{
		{host.Flock, dst, host.Wipefs, "--all", "--quiet", dst},
		{host.Flock, dst, host.Sgdisk, "--replicate=" + dst, src},
		{host.Flock, dst, host.Sgdisk, "--randomize-guids", dst},
		{host.Flock, dst, host.Partx, "--update", dst},
		{host.Udevadm, "settle", "--timeout=60"},
	}
	for _, argv := range steps {
		if _, err := run(ctx, r, "cloning "+src+"'s partitions to "+dst, argv...); err != nil {
			return err
		}
	}
	parts, err := root.Glob("/sys/block/" + kname(src) + "/" + kname(src) + "*")
	if err != nil {
		return err
	}
	for _, p := range parts {
		n, err := root.ReadString(p + "/partition")
		if err != nil {
			continue
		}
		num, _ := strconv.Atoi(n)
		dev := partDev(dst, num)
		if err := waitFor(ctx, 10*time.Second, dev, func() bool { return root.Exists(dev) }); err != nil {
			return err
		}
	}
	return nil
}

// SetRebuildSpeed limits md's resync/recovery of one array to kbps KiB/s (min and max alike,
// so the limit holds); 0 returns the array to the system-wide limits.
func SetRebuildSpeed(root *host.Root, md string, kbps int) error {
	v := "system"
	if kbps > 0 {
		v = strconv.Itoa(kbps)
	}
	base := "/sys/block/" + mdName(md) + "/md/"
	if kbps > 0 {
		// Lower max first (writes are checked against nothing, but keep min <= max throughout).
		if err := writeAttr(root, base+"sync_speed_max", v); err != nil {
			return err
		}
		return writeAttr(root, base+"sync_speed_min", v)
	}
	if err := writeAttr(root, base+"sync_speed_min", v); err != nil {
		return err
	}
	return writeAttr(root, base+"sync_speed_max", v)
}

// StartRecovery adds newMember to md with the rebuild throttled to kbps KiB/s (default
// 1000), and waits until md reports the recovery running, so a test or drill sees a rebuild
// in progress. The array must be degraded (a member failed and removed, or vanished).
func StartRecovery(ctx context.Context, r host.Runner, root *host.Root, md, newMember string, kbps int) error {
	if kbps <= 0 {
		kbps = 1000
	}
	name := mdName(md)
	if d, err := root.ReadString("/sys/block/" + name + "/md/degraded"); err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	} else if d == "0" {
		return fmt.Errorf("refusing to add %s to %s: the array is not degraded", newMember, name)
	}
	if err := SetRebuildSpeed(root, name, kbps); err != nil {
		return err
	}
	if _, err := run(ctx, r, "adding "+newMember+" to "+name, host.Mdadm, devPath(md), "--add", devPath(newMember)); err != nil {
		return err
	}
	return waitFor(ctx, 15*time.Second, name+" to start recovering", func() bool {
		a, err := root.ReadString("/sys/block/" + name + "/md/sync_action")
		return err == nil && a == "recover"
	})
}
