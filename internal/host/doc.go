// Package host owns raidswap's two seams to the machine it runs on: Root, through which every
// file under /proc, /sys, /dev and /run is read, and Runner, through which every external
// command runs as an argv. Nothing else in raidswap may read those trees or start a process,
// so a test (or --root) can point discovery at a captured tree and a fake Runner can record
// and refuse commands. This package must not interpret what it reads.
package host
