// Package hosttest holds test doubles for package host. FakeRunner records every argv and
// fails the test on a command nobody expected.
package hosttest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

// Expect is one command the test allows, with what it answers.
type Expect struct {
	Argv   []string
	Stdout string
	Stderr string
	Exit   int
	// Do, when set, runs when the command is matched (e.g. to change a fixture tree the way
	// the real command would change the kernel's state).
	Do func()
}

// FakeRunner answers commands from an ordered script of expectations.
type FakeRunner struct {
	T      testing.TB
	mu     sync.Mutex
	expect []Expect
	Calls  [][]string
}

// NewFakeRunner returns a runner that expects exactly the given commands in order.
func NewFakeRunner(t testing.TB, expect ...Expect) *FakeRunner {
	f := &FakeRunner{T: t, expect: expect}
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.expect) > 0 {
			t.Errorf("FakeRunner: %d expected command(s) never ran, first: %q", len(f.expect), strings.Join(f.expect[0].Argv, " "))
		}
	})
	return f
}

// Add appends expectations.
func (f *FakeRunner) Add(e ...Expect) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expect = append(f.expect, e...)
}

// Run matches argv against the next expectation.
func (f *FakeRunner) Run(_ context.Context, argv ...string) (host.Result, error) {
	f.mu.Lock()
	f.Calls = append(f.Calls, append([]string(nil), argv...))
	if len(f.expect) == 0 {
		f.mu.Unlock()
		f.T.Errorf("FakeRunner: unexpected command %q", strings.Join(argv, " "))
		return host.Result{Argv: argv, ExitCode: 127}, fmt.Errorf("unexpected command %q", strings.Join(argv, " "))
	}
	e := f.expect[0]
	if strings.Join(e.Argv, "\x00") != strings.Join(argv, "\x00") {
		f.mu.Unlock()
		f.T.Errorf("FakeRunner: got command %q, want %q", strings.Join(argv, " "), strings.Join(e.Argv, " "))
		return host.Result{Argv: argv, ExitCode: 127}, fmt.Errorf("unexpected command %q", strings.Join(argv, " "))
	}
	f.expect = f.expect[1:]
	f.mu.Unlock()
	if e.Do != nil {
		e.Do()
	}
	res := host.Result{Argv: argv, Stdout: []byte(e.Stdout), Stderr: []byte(e.Stderr), ExitCode: e.Exit}
	if e.Exit != 0 {
		return res, &host.ExitError{Result: res}
	}
	return res, nil
}
