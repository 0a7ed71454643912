// Package exec applies a plan.Plan to the live system. A plan file is untrusted input: before
// the first step it checks the plan's seal (this host's plan key), that every step's stored
// command is the one plan.Derive gives from its typed operands, that the plan is for this
// machine (from its own discovery), and re-discovers to compare the plan's fingerprint
// ("stale plan"). Then, per step, on a fresh discovery: skip it if its postconditions already
// hold (resume), check its preconditions and the safety invariants, journal "started", run
// the derived command through host.Runner (or work in-process), check its postconditions,
// journal "done".
//
// The safety invariants are enforced here, from each step's Action, and not in prompts:
// never write to a disk that holds an in_sync member of any array, a mounted or held
// partition or active swap (the one exception: GRUB's boot code on a disk of the /boot
// array, which touches neither the partition table nor a member: boot_bios.go reads the
// survivor's partition table and the first and last MiB of its md members before
// grub-install and proves them unchanged after, md's own writes through the array
// excepted); never act on a disk whose
// serial differs from the plan; never remove the last in_sync member of an array. A lock
// keeps two raidswaps from running at once. A drill's run (Options.Scope) is also confined
// to its lab: scope.go refuses, from the live sysfs, any step outside the lab's drill disks.
//
// The package runs commands and writes only through its Options: the Runner, the partition
// Cloner, the SpeedWriter, its record stream (internal/stream: the journal, the audit log,
// the view, syslog), and, for the boot steps, /boot's private mount point and debconf's
// selection file under /run/raidswap; it reads the disks for the boot proofs through
// Options.Disks. It never decides what to do beyond the plan's steps.
package exec
