// Command cmdbench runs a command a number of times and prints, as one JSON line, its mean
// and minimum wall time and the peak resident memory of the command and its children. The
// VM benchmarks run it inside the guest, so both sides of a comparison are measured in one
// run on one (emulated) machine.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

type result struct {
	Runs      int     `json:"runs"`
	MeanSec   float64 `json:"mean_seconds"`
	MinSec    float64 `json:"min_seconds"`
	MaxRSSKiB int64   `json:"max_rss_kib"`
}

func main() {
	n := flag.Int("n", 10, "runs")
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: cmdbench [-n RUNS] -- COMMAND [ARG...]")
		os.Exit(64)
	}
	var r result
	var total time.Duration
	for i := 0; i < *n; i++ {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = nil, nil
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		if err != nil {
			if _, ok := err.(*exec.ExitError); !ok {
				fmt.Fprintln(os.Stderr, "cmdbench:", err)
				os.Exit(1)
			}
		}
		total += d
		if r.MinSec == 0 || d.Seconds() < r.MinSec {
			r.MinSec = d.Seconds()
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > r.MaxRSSKiB {
			r.MaxRSSKiB = ru.Maxrss
		}
		r.Runs++
	}
	// RUSAGE_CHILDREN's peak covers grandchildren (mdadm, lsblk under bash) too.
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) == nil && ru.Maxrss > r.MaxRSSKiB {
		r.MaxRSSKiB = ru.Maxrss
	}
	r.MeanSec = total.Seconds() / float64(r.Runs)
	_ = json.NewEncoder(os.Stdout).Encode(r)
}
