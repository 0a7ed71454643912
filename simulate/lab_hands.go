package simulate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"

	"github.com/raidswap/raidswap/internal/host"
)

// The lab's hands: what an operator does to the drill's disks (insert, prepare, pull) and to
// its arrays (mount, install boot code).

// Insert creates the sparse file (or takes one made by Prepare), attaches it with
// losetup --find --show --partscan [--sector-size 4096], waits until /sys/block/loopN shows
// its size, and returns the device (/dev/loopN).
func (l *Lab) Insert(ctx context.Context, d DiskSpec) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	md := l.disk(d.Serial)
	if md == nil {
		var err error
		if md, err = l.create(d); err != nil {
			return "", err
		}
	} else {
		if dev := l.device(*md); dev != "" {
			return "", fmt.Errorf("drill disk %s is inserted already as %s", d.Serial, dev)
		}
		if (d.Size != 0 && d.Size != md.Size) || (d.SectorSize != 0 && d.SectorSize != md.SectorSize) {
			return "", fmt.Errorf("drill disk %s was prepared with %d bytes of %d-byte sectors, not %d of %d", d.Serial, md.Size, md.SectorSize, d.Size, d.SectorSize)
		}
	}
	return l.attach(ctx, *md)
}

// Prepare creates a disk's file without attaching it (a new disk on the shelf). With dirty it
// first gets what a used disk carries: a GPT with one partition holding the superblock of a
// one-member RAID1 (metadata 1.2), stopped, then the disk is detached again.
func (l *Lab) Prepare(ctx context.Context, d DiskSpec, dirty bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	md, err := l.create(d)
	if err != nil || !dirty {
		return err
	}
	dev, err := l.attach(ctx, *md)
	if err != nil {
		return err
	}
	p1 := partDev(dev, 1)
	array := l.freeMD()
	if array == "" {
		return errors.New("no free md device between md100 and md126 for the dirty disk's old array")
	}
	steps := [][]string{
		{host.Flock, dev, host.Sgdisk, "--clear", "--new=1:1M:0", "--typecode=1:fd00", "--change-name=1:old-raid", dev},
		{host.Flock, dev, host.Partx, "--update", dev},
	}
	for _, argv := range steps {
		if _, err := run(ctx, l.r, "making "+md.Serial+" dirty", argv...); err != nil {
			return err
		}
	}
	if err := waitFor(ctx, labWait, p1, func() bool { return l.root.Exists(p1) }); err != nil {
		return err
	}
	if _, err := run(ctx, l.r, "writing an old md superblock on "+md.Serial, host.Mdadm, "--create", array, "--run", "--force",
		"--level=1", "--raid-devices=1", "--metadata=1.2", "--homehost=old-server", "--name=old", p1); err != nil {
		return err
	}
	if _, err := run(ctx, l.r, "stopping "+array, host.Mdadm, "--stop", array); err != nil {
		return err
	}
	_, err = l.detach(ctx, kname(dev))
	return err
}

// freeMD is an md device no array uses, from the top of the range udev's incremental
// assembly leaves to others.
func (l *Lab) freeMD() string {
	for n := 126; n >= 100; n-- {
		if !l.root.Exists("/sys/block/md" + strconv.Itoa(n) + "/md") {
			return "/dev/md" + strconv.Itoa(n)
		}
	}
	return ""
}

// detach stops arrays that hold only this loop (udev's incremental assembly may have
// assembled an old superblock), runs losetup -d and waits until the kernel has let the file
// go. It returns the arrays it stopped.
func (l *Lab) detach(ctx context.Context, k string) ([]string, error) {
	var stopped []string
	settleUdevIfRunning(ctx, l.r)
	for range 3 {
		set := labSet(l.root, []string{k})
		for _, a := range set.arrays() {
			if _, err := run(ctx, l.r, "stopping "+a, host.Mdadm, "--stop", "/dev/"+a); err != nil {
				return stopped, err
			}
			stopped = append(stopped, "/dev/"+a)
		}
		if err := checkIdle(l.root, k); err != nil {
			return stopped, err
		}
		if _, err := run(ctx, l.r, "detaching /dev/"+k, host.Losetup, "--detach", "/dev/"+k); err != nil {
			return stopped, err
		}
		// A loop still open (udev probing it, an array assembled meanwhile) is only marked
		// autoclear: it goes when the last user closes it.
		err := waitFor(ctx, labWait, "/dev/"+k+" to detach", func() bool {
			return !l.root.Exists("/sys/block/" + k + "/loop/backing_file")
		})
		if err == nil {
			return stopped, nil
		}
		if len(labSet(l.root, []string{k}).arrays()) == 0 {
			return stopped, err
		}
	}
	return stopped, fmt.Errorf("/dev/%s: still attached after three tries", k)
}

// settleUdevIfRunning waits for udev's queue when udevd runs (its events open new devices).
func settleUdevIfRunning(ctx context.Context, r host.Runner) {
	if udevRunning(ctx, r) {
		r.Run(ctx, host.Udevadm, "settle", "--timeout=30")
	}
}

// Pull detaches the disk (losetup -d) after checking nothing holds it: no md member, no
// mount, no swap, no dm holder. It returns once the kernel has let the file go.
func (l *Lab) Pull(ctx context.Context, serial string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	dev, err := l.labDevice(serial, "pull")
	if err != nil {
		return err
	}
	if err := checkIdle(l.root, dev); err != nil {
		return fmt.Errorf("%w (%s)", err, serial)
	}
	k := kname(dev)
	if _, err := run(ctx, l.r, "pulling "+dev+" ("+serial+")", host.Losetup, "--detach", dev); err != nil {
		return err
	}
	return waitFor(ctx, labWait, dev+" to detach", func() bool {
		return !l.root.Exists("/sys/block/" + k + "/loop/backing_file")
	})
}

// MountArray mounts md (whose members must all be this lab's) at dir, making dir if needed.
func (l *Lab) MountArray(ctx context.Context, md, dir string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	name := mdName(md)
	if !slices.Contains(labSet(l.root, l.loops()).arrays(), name) {
		return fmt.Errorf("refusing to mount /dev/%s: not all its members are this drill's disks (lab %s)", name, l.Dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	_, err := run(ctx, l.r, "mounting /dev/"+name, host.Mount, "/dev/"+name, dir)
	return err
}

// InstallGRUB puts GRUB 2 for BIOS on every disk, with its files in bootMount (the /boot
// array mounted there): grub-install --target=i386-pc per disk.
func InstallGRUB(ctx context.Context, r host.Runner, bootMount string, disks ...string) error {
	for _, d := range disks {
		if _, err := run(ctx, r, "installing GRUB on "+devPath(d), host.GrubInstall, "--target=i386-pc",
			"--boot-directory="+bootMount, "--modules=part_gpt part_msdos mdraid1x ext2", devPath(d)); err != nil {
			return err
		}
	}
	return nil
}

// CopyBootCode copies GRUB's BIOS boot code from one disk of a seed layout onto another
// disk with the same layout, where grub-install would write the same bytes: boot.img (the
// first 440 bytes of the MBR: its pointer to core.img is the same LBA on both) and core.img
// (GPT: the BIOS boot partition, partition 1; MBR: the gap after the MBR up to the first
// partition at 1 MiB), whose block list and prefix (the md UUID of /boot) are the same too.
// It saves the drill a grub-install (4–6 s under TCG) when it builds the lab; the
// replacement itself always runs grub-install.
func CopyBootCode(ctx context.Context, r host.Runner, table string, sectorSize int, from, to string) error {
	from, to = devPath(from), devPath(to)
	if from == to {
		return fmt.Errorf("copying boot code from %s onto itself", from)
	}
	if _, err := run(ctx, r, "copying boot.img from "+from+" to "+to, host.Dd, "if="+from, "of="+to, "bs=440", "count=1", "conv=notrunc,fsync", "status=none"); err != nil {
		return err
	}
	switch table {
	case GPT, "":
		_, err := run(ctx, r, "copying core.img (the BIOS boot partition) from "+from+" to "+to, host.Dd,
			"if="+partDev(from, 1), "of="+partDev(to, 1), "bs=1M", "conv=notrunc,fsync", "status=none")
		return err
	case MBR:
		if sectorSize != 512 && sectorSize != 4096 {
			return fmt.Errorf("sector size %d: want 512 or 4096", sectorSize)
		}
		_, err := run(ctx, r, "copying core.img (the gap after the MBR) from "+from+" to "+to, host.Dd,
			"if="+from, "of="+to, fmt.Sprintf("bs=%d", sectorSize), "skip=1", "seek=1", fmt.Sprintf("count=%d", mib/sectorSize-1), "conv=notrunc,fsync", "status=none")
		return err
	}
	return fmt.Errorf("unknown partition table %q", table)
}
