package partition

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
)

// CheckTarget refuses a target disk that is in use, read through the Root: a partition (or
// the disk) that is an md member, held by another device (dm, md), mounted, or active swap;
// a read-only disk; a partition given instead of a whole disk; an image file attached to a
// loop device. It is run before planning and again right before writing.
func CheckTarget(root *host.Root, id DiskID) error {
	fail := func(format string, args ...any) error {
		return &RefusedError{Kind: RefuseInUse, Device: id.Path, Serial: id.Serial, Reason: fmt.Sprintf(format, args...)}
	}
	if id.Name == "" {
		return checkImage(root, id, fail)
	}
	sys := "/sys/block/" + id.Name
	if !root.Exists(sys) {
		if root.Exists("/sys/class/block/" + id.Name + "/partition") {
			return fail("%s is a partition, not a whole disk", id.Name)
		}
		return fail("%s is not in %s", id.Name, "/sys/block")
	}
	if ro, err := root.ReadString(sys + "/ro"); err == nil && ro == "1" {
		return fail("the kernel has it read-only")
	}
	uses, err := ReadUses(root, id.Name)
	if err != nil {
		return err
	}
	if why := InUse(uses...); why != "" {
		return fail("%s", why)
	}
	return nil
}

// ReadUses reads, fresh from sysfs and /proc under root, what holds the disk and each of its
// partitions: md arrays that list them (through a holder link, or without one while the
// array is inactive), device-mapper and other holders, mounts and active swap.
func ReadUses(root *host.Root, disk string) ([]Use, error) {
	devs, err := blockDevs(root, disk)
	if err != nil {
		return nil, err
	}
	uses := make([]Use, len(devs))
	byNum := map[string]*Use{}
	for i, d := range devs {
		u := &uses[i]
		u.Device = d.name
		if d.dev != "" {
			byNum[d.dev] = u
		}
		holders, err := root.ReadDir(d.sys + "/holders")
		if err != nil {
			continue
		}
		for _, h := range holders {
			if strings.HasPrefix(h.Name(), "md") {
				state, _ := root.ReadString("/sys/block/" + h.Name() + "/md/dev-" + d.name + "/state")
				u.Members = append(u.Members, MemberUse{Array: h.Name(), State: state})
				continue
			}
			dm, _ := root.ReadString("/sys/block/" + h.Name() + "/dm/name")
			u.Holders = append(u.Holders, Holder{Name: h.Name(), DMName: dm})
		}
	}
	members, _ := root.Glob("/sys/block/md*/md/dev-*")
	for _, m := range members {
		t, err := root.ResolveLink(m + "/block")
		if err != nil {
			continue
		}
		for i, d := range devs {
			if path.Base(t) == d.name {
				md := strings.Split(strings.TrimPrefix(m, "/sys/block/"), "/")[0]
				state, _ := root.ReadString(m + "/state")
				uses[i].Members = append(uses[i].Members, MemberUse{Array: md, State: state})
			}
		}
	}
	if mi, err := root.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, m := range blockstack.ParseMountinfo(mi) {
			if u, ok := byNum[m.Dev]; ok {
				u.Mounts = append(u.Mounts, m.Point)
			}
		}
	}
	if sw, err := root.ReadFile("/proc/swaps"); err == nil {
		for _, p := range blockstack.ParseSwaps(sw) {
			for i, d := range devs {
				if path.Base(p) == d.name && strings.HasPrefix(p, "/dev/") {
					uses[i].Swap = true
				}
			}
		}
	}
	return uses, nil
}

type blockDev struct {
	name, sys, dev string
}

// blockDevs lists a disk and its partitions with their sysfs directories and MAJ:MIN.
func blockDevs(root *host.Root, disk string) ([]blockDev, error) {
	sys := "/sys/block/" + disk
	dev, _ := root.ReadString(sys + "/dev")
	out := []blockDev{{disk, sys, dev}}
	ents, err := root.ReadDir(sys)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", sys, err)
	}
	for _, e := range ents {
		p := sys + "/" + e.Name()
		if !strings.HasPrefix(e.Name(), disk) || !root.Exists(p+"/partition") {
			continue
		}
		dev, _ := root.ReadString(p + "/dev")
		out = append(out, blockDev{e.Name(), p, dev})
	}
	return out, nil
}

// checkImage refuses an image file attached to a loop device: writing under a loop device
// that md or a file system may be using is no safer than writing the disk itself.
func checkImage(root *host.Root, id DiskID, fail func(string, ...any) error) error {
	// The kernel records the backing file by its real path: compare real paths, and files,
	// so a symlink or a second hard link to an attached image is refused too.
	want := id.Path
	if p, err := filepath.EvalSymlinks(id.Path); err == nil {
		want = p
	}
	wantInfo, wantErr := os.Stat(id.Path)
	files, _ := root.Glob("/sys/block/loop*/loop/backing_file")
	for _, f := range files {
		b, err := root.ReadString(f)
		if err != nil {
			continue
		}
		backing := strings.TrimSuffix(b, " (deleted)")
		same := backing == id.Path || backing == want
		if p, err := filepath.EvalSymlinks(backing); err == nil && p == want {
			same = true
		}
		if !same && wantErr == nil {
			if info, err := os.Stat(backing); err == nil && os.SameFile(info, wantInfo) {
				same = true
			}
		}
		if same {
			loop := strings.Split(strings.TrimPrefix(f, "/sys/block/"), "/")[0]
			return fail("the image is attached to /dev/%s; detach it or name /dev/%s instead", loop, loop)
		}
	}
	return nil
}
