package cli

import (
	"errors"
	"fmt"
)

// Exit codes. 0–3 follow the monitoring-plugin convention that `status` uses; the others are
// for commands that act.
const (
	ExitOK       = 0
	ExitWarning  = 1
	ExitCritical = 2
	ExitUnknown  = 3
	// ExitUsage is a command line raidswap does not accept.
	ExitUsage = 64
	// ExitRefused is a step raidswap would not take because it is unsafe or the world changed.
	ExitRefused = 65
	// ExitFailed is a command that ran and failed.
	ExitFailed = 66
	// ExitSecondFailure is a run stopped by a second failure during the rebuild (issue 17):
	// the plan cannot go on, and resume refuses it.
	ExitSecondFailure = 67
	// ExitPowerOff is a wizard that stopped on purpose for a swap with the power off
	// (raidswap --cold), after taking the failed disk out of its arrays: not a failure; the
	// journal stays open, and after the next boot `sudo raidswap` or `raidswap resume`
	// continues it (75 is sysexits' EX_TEMPFAIL: try again later).
	ExitPowerOff = 75
)

// ExitCodeError carries an exit code through cobra's error return. A nil Err means the
// command already said everything it had to say.
type ExitCodeError struct {
	Code int
	Err  error
}

func (e *ExitCodeError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitCodeError) Unwrap() error { return e.Err }

// WithCode wraps err with an exit code.
func WithCode(code int, err error) error { return &ExitCodeError{Code: code, Err: err} }

// Silent ends a command with a code and no further message.
func Silent(code int) error { return &ExitCodeError{Code: code} }

func exitCode(err error) int {
	var ec *ExitCodeError
	if errors.As(err, &ec) {
		return ec.Code
	}
	return ExitFailed
}
