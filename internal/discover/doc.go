// Package discover builds raidswap's read-only picture of a machine, System, from files under
// a host.Root: md arrays (package mdadm), disks (package identify), mounts, swap and holders.
// It only reads; it runs no command, so it works the same on the live system and on a
// capture unpacked from `raidswap snapshot`. Judging (member state, disk verdict, overall
// verdict) is done here from that data alone. Under a Scope (scope.go) it is a drill's view:
// only the lab's drill disks and arrays, its own inventory and boot facts; without one, a
// drill's arrays are shown but left out of the host's verdict, textfile and inventory.
package discover
