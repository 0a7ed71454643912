// Package simulate builds RAID1 layouts and breaks them on purpose: the seed layout (GPT or
// MBR; BIOS boot, /boot on md metadata 1.0, swap, root on md metadata 1.2) or any list of
// arrays, on any block devices, and the faults raidswap must handle: a member marked faulty,
// a disk that vanishes from the bus, a disk whose every I/O fails (dm error table), and a
// rebuild caught mid-way. Tests use it inside internal/vmtest VMs to build scenarios and
// capture fixtures, and `raidswap drill` uses it on loop devices of a real server: a Lab
// (lab.go) is the drill's set of throw-away disks, loop devices over sparse files in one
// marked directory, which it inserts, pulls, makes vanish or fail reads, and tears down.
//
// Every command runs through host.Runner as an argv; kernel state is read through host.Root.
// The few kernel control files it writes (md sync speed, a PCI device's remove) are written
// under that Root too, so a fixture tree stands in for the kernel in unit tests. It refuses
// to touch a disk that is mounted, used as swap or held by md/dm. It knows nothing about
// plans or journals: it is the adversary, not the repair.
package simulate
