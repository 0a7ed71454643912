// Package view owns everything raidswap shows: a plan (text for a terminal, markdown for a
// change ticket, JSON through plan.Plan.Write), the status of arrays and disks (a table for
// people, JSON for scripts, Prometheus text for node_exporter's textfile collector), and a
// run as it happens (one line per event, or mpb progress bars on a terminal), the last as
// implementations of progress.View.
//
// A view formats the values it is given and writes them to the io.Writer it is given. It
// must not read the system (no Root, no files, no discovery), run a command, or decide
// anything: what a plan does, which disk failed and whether a step may run are settled by
// plan, discover and exec before a view sees them.
package view
