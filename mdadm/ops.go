package mdadm

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
)

// The functions below build the exact mdadm command lines raidswap runs. They take device
// paths as given (/dev/md0, /dev/sdb1, or a plan's {new:1} placeholder) and never look at the
// system: checking that a device is the right one is the executor's job, right before it runs
// the command.

// Detached is mdadm's keyword for "every member whose device has gone".
const Detached = "detached"

// FailRemove marks member faulty in array and takes it out, in one mdadm call (mdadm applies
// the operations in order and waits for the kernel to release the member before removing it).
func FailRemove(array, member string) []string {
	return []string{host.Mdadm, array, "--fail", member, "--remove", member}
}

// FailRemoveDetached fails and removes every member of array whose block device has gone: the
// only way to name a member of a disk that vanished, since its /dev node is gone too.
func FailRemoveDetached(array string) []string {
	return FailRemove(array, Detached)
}

// Remove takes a member that is already faulty (or a spare) out of array.
func Remove(array, member string) []string {
	return []string{host.Mdadm, array, "--remove", member}
}

// Add adds dev to array; in a degraded array the kernel starts recovery onto it at once,
// otherwise it becomes a spare.
func Add(array, dev string) []string {
	return []string{host.Mdadm, array, "--add", dev}
}

// AddWriteMostly adds dev to array like Add, flagged write-mostly: md reads from it only when
// no other member can serve the read (RAID1 only; a slow disk kept as a mirror).
func AddWriteMostly(array, dev string) []string {
	return []string{host.Mdadm, array, "--add", "--write-mostly", dev}
}

// ReAdd returns a former member to array. With a write-intent bitmap only the blocks written
// since it left are copied; without one mdadm refuses it.
func ReAdd(array, dev string) []string {
	return []string{host.Mdadm, array, "--re-add", dev}
}

// Replace copies old onto with (a spare already in array) while old stays in service, so the
// array keeps its redundancy during the copy; md marks old faulty when the copy is complete.
func Replace(array, old, with string) []string {
	return []string{host.Mdadm, array, "--replace", old, "--with", with}
}

// ZeroSuperblock erases md superblocks from devs. mdadm 4.2 exits 0 for a device that carries
// none. It is not a safety net: measured in the VM, `--zero-superblock --force` on an active
// member exits 0 too, so the executor must prove each device is in no array before running it
// (and raidswap never passes --force).
func ZeroSuperblock(devs ...string) []string {
	return append([]string{host.Mdadm, "--zero-superblock"}, devs...)
}

// ArrayDevice is the /dev path of an array name ("md0" -> "/dev/md0").
func ArrayDevice(name string) string {
	if strings.HasPrefix(name, "/dev/") {
		return name
	}
	return "/dev/" + name
}

// DevPath is the /dev path of a kernel device name ("sdb1" -> "/dev/sdb1").
func DevPath(name string) string {
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, "{") || name == Detached {
		return name
	}
	return fmt.Sprintf("/dev/%s", name)
}
