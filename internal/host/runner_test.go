package host

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExecRunnerCancelEndsHelpers (issue 18): a command stopped by its context goes with the
// helpers it started, which would otherwise hold its output open and keep Run (and the
// interrupted front end) waiting for them. (The bound is a hang detector.)
func TestExecRunnerCancelEndsHelpers(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// The background sleep is a helper holding stdout, as grub-probe is grub-install's.
		_, err := ExecRunner{}.Run(ctx, "sh", "-c", "sleep 1000 & sleep 1000")
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // let sh start its helper; either way Run must return
	cancel()
	select {
	case err := <-done:
		var ee *ExitError
		if !errors.As(err, &ee) {
			t.Errorf("Run: %v, want the command killed", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context was cancelled: a helper of the command still holds its output")
	}
}

// TestExecRunnerOwnProcessGroup (issue 18): a command runs in its own process group, so the
// terminal's Ctrl-C (sent to raidswap's group) reaches raidswap, which stops the run as
// interrupted, and never kills a step's command behind its back.
func TestExecRunnerOwnProcessGroup(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	res, err := ExecRunner{}.Run(context.Background(), "sh", "-c", "cut -d' ' -f5 /proc/$$/stat")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := strconv.Atoi(strings.TrimSpace(string(res.Stdout)))
	if err != nil {
		t.Fatalf("pgrp %q: %v", res.Stdout, err)
	}
	if pg == syscall.Getpgrp() {
		t.Errorf("the command runs in raidswap's process group %d", pg)
	}
}
