package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// stopSignals are the signals that stop a front end: Ctrl-C, a kill (SIGTERM) and the
// terminal or ssh session going away (SIGHUP).
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// interruptGrace is how long a front end has, after a stop signal, to return by itself (its
// step ended, its journal record written, its message said) before the process is ended
// for it. A front end can be stuck where the context does not reach: survey's raw-mode
// prompt reading the terminal, a write to a terminal that does not drain.
const interruptGrace = 750 * time.Millisecond

// resumeHint is what a front end stopped by a signal says: md goes on by itself, and where
// to go on from.
const resumeHint = "a rebuild already started goes on in the kernel; `raidswap resume` continues the replacement, `raidswap status` shows the arrays"

// SignalError is the cause of a context a stop signal cancelled.
type SignalError struct{ Signal syscall.Signal }

func (e *SignalError) Error() string { return "stopped by " + signalName(e.Signal) }

// ExitCode is the shell's convention for a process a signal ended: 128 + the signal.
func (e *SignalError) ExitCode() int { return 128 + int(e.Signal) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "Ctrl-C (SIGINT)"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP (the terminal went away)"
	}
	return s.String()
}

// stoppedBy is the signal that cancelled ctx, if one did.
func stoppedBy(ctx context.Context) *SignalError {
	var se *SignalError
	if ctx != nil && errors.As(context.Cause(ctx), &se) {
		return se
	}
	return nil
}

// interruptedError is a front end's error after a stop signal: the signal's exit code and
// the resume hint.
func interruptedError(se *SignalError) error {
	return WithCode(se.ExitCode(), fmt.Errorf("interrupted (%s): %s", signalName(se.Signal), resumeHint))
}

// exitProcess ends the process; a test replaces it.
var exitProcess = os.Exit

// stopOnSignals is the one way every front end (wizard, replace, resume, apply, drill,
// watch, locate) handles stop signals: the context it returns is cancelled by SIGINT,
// SIGTERM or SIGHUP, with a *SignalError as its cause, and the front end defers stop. If the
// front end has not returned interruptGrace after the signal, or a second signal comes, the
// process ends for it: the terminal's settings restored, "raidswap: interrupted ..." and
// hint said on errOut, exit 128 + signal. The journal stays consistent either way: a step
// is journalled "started" before it runs and resume checks whether it took effect. md is
// never stopped: a rebuild goes on in the kernel.
func stopOnSignals(ctx context.Context, errOut io.Writer, hint string) (context.Context, func()) {
	return stopOnSignalsAfter(ctx, errOut, hint, interruptGrace)
}

// stopOnSignalsAfter is stopOnSignals with its own grace: the drill's, which tears its lab
// down before it ends.
func stopOnSignalsAfter(ctx context.Context, errOut io.Writer, hint string, grace time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(orBackground(ctx))
	tty := saveTerminal()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, stopSignals...)
	returned := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var first *SignalError
		var deadline <-chan time.Time
		for {
			select {
			case s := <-sigs:
				se := &SignalError{Signal: s.(syscall.Signal)}
				if first != nil {
					forceExit(errOut, tty, se, hint) // a second signal: no more waiting
					return
				}
				first = se
				cancel(se)
				deadline = time.After(grace)
			case <-deadline:
				forceExit(errOut, tty, first, hint)
				return
			case <-returned:
				return
			}
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(returned)
			wg.Wait()
			cancel(context.Canceled)
		})
	}
}

func forceExit(errOut io.Writer, tty *terminalState, se *SignalError, hint string) {
	tty.restore()
	fmt.Fprintf(errOut, "\nraidswap: interrupted (%s): %s\n", signalName(se.Signal), hint)
	exitProcess(se.ExitCode())
}

// terminalState is stdin's terminal settings when the front end started, so that a process
// ended in the middle of a raw-mode prompt does not leave the operator's terminal raw.
type terminalState struct {
	fd      int
	termios *unix.Termios
}

func saveTerminal() *terminalState {
	fd := int(os.Stdin.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil
	}
	return &terminalState{fd: fd, termios: t}
}

func (t *terminalState) restore() {
	if t == nil {
		return
	}
	_ = unix.IoctlSetTermios(t.fd, unix.TCSETS, t.termios)
	if _, err := unix.IoctlGetTermios(int(os.Stdout.Fd()), unix.TCGETS); err == nil {
		fmt.Fprint(os.Stdout, "\x1b[?25h") // survey hides the cursor in a selection
	}
}
