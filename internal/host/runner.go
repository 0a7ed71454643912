package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Result is what a command left behind.
type Result struct {
	Argv     []string
	Stdout   []byte
	Stderr   []byte
	ExitCode int
	Duration time.Duration
}

// Runner runs external commands as argv, never through a shell.
type Runner interface {
	Run(ctx context.Context, argv ...string) (Result, error)
}

// ExitError is returned when a command ran but exited non-zero.
type ExitError struct {
	Result Result
}

func (e *ExitError) Error() string {
	msg := strings.TrimSpace(string(e.Result.Stderr))
	if msg == "" {
		msg = strings.TrimSpace(string(e.Result.Stdout))
	}
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 && len(msg) > 400 {
		msg = msg[i+1:]
	}
	return fmt.Sprintf("%s exited %d: %s", strings.Join(e.Result.Argv, " "), e.Result.ExitCode, msg)
}

// ExecRunner runs commands on the local machine.
type ExecRunner struct {
	// Env, when set, replaces the environment of every command.
	Env []string
	// Inherit are files every command inherits (as fd 3, 4, ...). The executor passes its
	// lock file, so the flock stays held while any command it started is still running: if
	// raidswap is killed mid-step, a resume waits for the orphaned mdadm instead of racing it.
	Inherit []*os.File
}

// Inheriting returns a copy of the runner whose commands also inherit f.
func (r ExecRunner) Inheriting(f *os.File) Runner {
	r.Inherit = append(append([]*os.File(nil), r.Inherit...), f)
	return r
}

// Inheritor is a Runner that can pass an open file to the commands it starts.
type Inheritor interface {
	Inheriting(f *os.File) Runner
}

// Run runs argv and returns its output; a non-zero exit is an *ExitError.
func (r ExecRunner) Run(ctx context.Context, argv ...string) (Result, error) {
	res := Result{Argv: argv}
	if len(argv) == 0 {
		return res, errors.New("empty command")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if r.Env != nil {
		cmd.Env = r.Env
	}
	cmd.ExtraFiles = r.Inherit
	// Its own process group: the terminal's Ctrl-C reaches raidswap only, which cancels ctx
	// and then kills the command with the helpers it started (grub-install's grub-probe, which
	// would hold its output open), so an interrupted step is never journalled as a failed
	// one and ends at once (issue 18).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	res.Duration = time.Since(start)
	res.Stdout, res.Stderr = out.Bytes(), errb.Bytes()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			res.ExitCode = ee.ExitCode()
			return res, &ExitError{Result: res}
		}
		return res, fmt.Errorf("running %s: %w", argv[0], err)
	}
	return res, nil
}

// NoRunner refuses every command. Discovery from a --root capture uses it, so nothing runs
// against the machine while reading someone else's tree.
type NoRunner struct{ Reason string }

// Run always fails.
func (n NoRunner) Run(_ context.Context, argv ...string) (Result, error) {
	return Result{Argv: argv}, fmt.Errorf("not running %q: %s", strings.Join(argv, " "), n.Reason)
}
