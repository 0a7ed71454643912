// Package host owns raidswap's two seams to the machine it runs on: Root, through which every
// file under /proc, /sys, /dev and /run is read, and Runner, through which every external
// command runs as an argv. Nothing else in raidswap may read those trees or start a process,
// so a test (or --root) can point discovery at a captured tree and a fake Runner can record
// and refuse commands. Besides the seams it owns the distribution profile (profile.go): the one
// table of what each distribution calls and places the tools raidswap runs, found through the
// Root. Apart from /etc/os-release for that table, this package must not interpret what it
// reads.
package host
