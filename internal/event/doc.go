// Package event is raidswap's mdadm event hook: what `raidswap event EVENT MD [MEMBER]` does
// when mdadm's monitor (mdadm.conf's PROGRAM) reports an event, and what `--install` changes in
// mdadm.conf to make mdadm call it.
//
// On an alarm (Fail, FailSpare, DegradedArray) it discovers the system (read-only, through
// host.Root), writes the Prometheus textfile at once, saves the inventory, lights the fault
// LED of the failed member's disk and logs one structured line to raidswap's audit log and to
// syslog; on RebuildFinished and SpareActive it clears the fault LED of disks that are no
// longer failed; on every other event it rewrites the textfile and logs. It writes only its
// own files (the textfile, the inventory, the audit log; the fault LED through FaultLED) and
// runs in bounded time: mdadm waits for its PROGRAM before it looks at the arrays again.
//
// On an alarm the textfile is written twice: first from a discovery without SMART (md's state,
// in tens of milliseconds), then whole, with the SMART health a second discovery reads (up
// to seconds a disk, and a failing disk is the slow one).
//
// It decides nothing about the arrays and never runs mdadm: it reports.
package event
