// Package drill is `raidswap drill`: it rehearses a disk replacement on throw-away disks
// (loop devices over sparse files in a lab directory, simulate.Lab), confined to them by a
// discover.Scope that discovery and the executor both enforce. Each scenario builds the seed
// layout (or this host's, scaled down), breaks it as the scenario says, lets the trainee run
// the same wizard and engine as a real replacement while simulated hands pull and insert
// disks, verifies the result (canaries, redundancy, partition tables, boot code) and scores it.
//
// The package owns the scenarios, the trainee's answers and the score card; it writes to no
// device itself except through the lab (simulate) and the engine (internal/engine, which
// runs every step through the executor's checks). It never touches the host's own arrays,
// journal, lock, plan key or inventory: every path it gives the engine lies under the lab.
package drill
