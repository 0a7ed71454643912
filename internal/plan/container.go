package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/mdadm"
)

// refuseExternal refuses a disk that is in an external-metadata container (IMSM, DDF) or one
// of its volumes. mdmon, not md, records such a disk's failure, and md rebuilds the volumes
// onto a disk added to the container: none of the steps raidswap derives (clone a partition
// table, add a partition to each array) applies. The refusal gives the mdadm commands that
// do it, for the disks and arrays as discovery sees them now.
func (b *builder) refuseExternal() error {
	containers := map[string]bool{}
	var volumes []string // volumes where the failed disk still holds a member md uses
	for _, r := range b.arrays {
		switch {
		case r.a.IsContainer():
			containers[r.a.Name] = true
		case r.a.Container != "":
			containers[r.a.Container] = true
			if r.failedDev != "" && r.failedState != discover.MemberFaulty && r.failedState != discover.MemberMissing && !r.failedGone {
				volumes = append(volumes, r.a.Name)
			}
		case r.a.External():
			return &UnsafeError{Reason: fmt.Sprintf("%s (metadata %s) keeps its metadata outside md and names no container raidswap can read: replace %s with mdadm by hand",
				r.a.Name, r.a.Metadata, b.failed.Label())}
		}
	}
	if len(containers) == 0 {
		return nil
	}
	var names []string
	for c := range containers {
		names = append(names, c)
	}
	sort.Strings(names)
	sort.Strings(volumes)
	dev := "/dev/" + b.failed.Name
	var cmds []string
	for _, v := range volumes {
		cmds = append(cmds, fmt.Sprintf("mdadm %s --fail %s", mdadm.ArrayDevice(v), dev))
	}
	newDev := "/dev/NEW"
	if d := b.newDiskGuess(); d != nil {
		newDev = "/dev/" + d.Name
	}
	for _, c := range names {
		cmds = append(cmds, fmt.Sprintf("mdadm %s --remove %s", mdadm.ArrayDevice(c), dev))
	}
	cmds = append(cmds, "swap the disk", "mdadm --zero-superblock "+newDev)
	for _, c := range names {
		cmds = append(cmds, fmt.Sprintf("mdadm %s --add %s", mdadm.ArrayDevice(c), newDev))
	}
	return &UnsafeError{Reason: fmt.Sprintf("%s is in the external-metadata (%s) container %s: raidswap does not plan for containers; do it with mdadm (md rebuilds the volumes from the container): %s",
		b.failed.Label(), b.containerFormats(names), strings.Join(names, ", "), strings.Join(cmds, "; "))}
}

// containerFormats names the metadata formats of the containers ("imsm").
func (b *builder) containerFormats(names []string) string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		f := "external"
		if a := b.sys.Array(n); a != nil {
			if cf := discover.ContainerFormat(a.Metadata); cf != "" {
				f = cf
			}
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return strings.Join(out, ", ")
}

// newDiskGuess is the new disk the request names, when it is attached now; nil otherwise.
func (b *builder) newDiskGuess() *discover.Disk {
	if b.req.New == "" {
		return nil
	}
	if d := b.sys.DiskBySerial(b.req.New); d != nil {
		return d
	}
	if d := b.sys.Disk(strings.TrimPrefix(b.req.New, "/dev/")); d != nil && d.Present {
		return d
	}
	return nil
}
