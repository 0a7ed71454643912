package event

import (
	"fmt"
	"path"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
)

// kernelArray is the kernel name of the array mdadm named: md0 for /dev/md0, and for
// /dev/md/NAME the md device its link (made by udev or mdadm) leads to. A /dev/md/NAME
// without such a link is returned as "md/NAME", which no /sys/block entry has.
func kernelArray(root *host.Root, array string) string {
	k := strings.TrimPrefix(array, "/dev/")
	if strings.HasPrefix(k, "md/") {
		if t, err := root.ResolveLink(array); err == nil && strings.HasPrefix(path.Base(t), "md") {
			return path.Base(t)
		}
	}
	return k
}

// kernelMember is the kernel name md gives the member mdadm named (/dev/vdb2: vdb2; a
// /dev/mapper/NAME link: the dm-N it leads to).
func kernelMember(root *host.Root, member string) string {
	if t, err := root.ResolveLink(member); err == nil {
		return path.Base(t)
	}
	return path.Base(member)
}

// NoArrayError is an event for an array the kernel does not have: nothing was written.
type NoArrayError struct{ Event, Array, Kernel string }

func (e *NoArrayError) Error() string {
	return fmt.Sprintf("%s event on %s: no such md array (/sys/block/%s/md does not exist); nothing written", e.Event, e.Array, e.Kernel)
}

// checkArray refuses an event on an array the kernel does not have, before anything is
// written. DeviceDisappeared is about an array that is gone, so it is not checked; neither is
// a root without /sys/block (discovery says what it is).
func checkArray(root *host.Root, ev Event) error {
	if ev.Name == "DeviceDisappeared" || !root.Exists("/sys/block") {
		return nil
	}
	k := kernelArray(root, ev.Array)
	if strings.Contains(k, "/") || !root.Exists("/sys/block/"+k+"/md") {
		return &NoArrayError{Event: ev.Name, Array: ev.Array, Kernel: k}
	}
	return nil
}

// mdSaysFailed is the one rule for lighting a fault LED on an alarm: md itself, in array arr
// as discovery read it at this event, reports member dev (kernel name) faulty, or no longer
// has it while the array misses a member. It judges from discovery's reading of md's sysfs
// (the member states discover.judgeMemberState gives, md's own degraded count), not from a
// second reading of its own, and says why in either case. An event mdadm sent late, replayed,
// or with the wrong member never lights the LED of a disk md still uses.
func mdSaysFailed(arr *discover.Array, md, dev string) (bool, string) {
	if arr == nil {
		return false, fmt.Sprintf("%s is not an md array now", md)
	}
	for _, m := range arr.Members {
		if m.Device == nil || *m.Device != dev {
			continue
		}
		if m.State == discover.MemberFaulty {
			return true, fmt.Sprintf("md reports %s faulty in %s", dev, md)
		}
		state := string(m.State)
		if state == "" {
			state = "no state"
		}
		return false, fmt.Sprintf("md reports %s %s in %s, not faulty", dev, state, md)
	}
	n, err := mdDegraded(arr, md)
	switch {
	case err != nil:
		return false, fmt.Sprintf("%s is no member of %s and %v", dev, md, err)
	case n > 0:
		return true, fmt.Sprintf("%s is gone from %s, which misses %d member(s)", dev, md, n)
	}
	return false, fmt.Sprintf("%s is no member of %s and %s misses none", dev, md, md)
}

// mdDegraded is md's own count of missing members of array arr (md/degraded, as discovery
// read it).
func mdDegraded(arr *discover.Array, md string) (int, error) {
	if arr == nil {
		return 0, fmt.Errorf("%s is not an md array now", md)
	}
	if arr.MDDegraded < 0 {
		return 0, fmt.Errorf("md's degraded count of %s cannot be read", md)
	}
	return arr.MDDegraded, nil
}
