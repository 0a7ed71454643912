// Package mdadm owns raidswap's knowledge of Linux md arrays: reading their state from
// /proc/mdstat and /sys/block/md*/md (through prometheus/procfs and host.Root), and building
// the exact mdadm argv for each operation. It reads and builds; it never runs a command
// itself: the executor runs what it builds through host.Runner.
package mdadm
