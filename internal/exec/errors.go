package exec

import (
	"fmt"
	"strings"
)

// RefusedError is a step raidswap will not take: a safety invariant or a precondition does
// not hold. It names the device, its serial and why.
type RefusedError struct {
	Step   string
	Device string
	Serial string
	Reason string
}

func (e *RefusedError) Error() string {
	dev := e.Device
	if dev != "" && !strings.HasPrefix(dev, "/") && !strings.HasPrefix(dev, "{") {
		dev = "/dev/" + dev
	}
	if e.Serial != "" {
		dev = fmt.Sprintf("%s (%s)", dev, e.Serial)
	}
	if dev == "" {
		return fmt.Sprintf("refusing step %s: %s", e.Step, e.Reason)
	}
	return fmt.Sprintf("refusing to write %s: %s (step %s)", dev, e.Reason, e.Step)
}

// PreconditionError is a step whose precondition does not hold on the live system.
type PreconditionError struct {
	Step      string
	Condition string
	Found     string
}

func (e *PreconditionError) Error() string {
	return fmt.Sprintf("refusing step %s: it needs %q, but %s", e.Step, e.Condition, e.Found)
}

// StepFailedError is a step that ran and failed, or whose postconditions did not hold.
type StepFailedError struct {
	Step string
	Err  error
}

func (e *StepFailedError) Error() string { return fmt.Sprintf("step %s failed: %v", e.Step, e.Err) }
func (e *StepFailedError) Unwrap() error { return e.Err }

// LockedError is another raidswap holding the lock.
type LockedError struct {
	Path   string
	Holder string
}

func (e *LockedError) Error() string {
	who := "another raidswap"
	if e.Holder != "" {
		who += " (" + e.Holder + ")"
	}
	return fmt.Sprintf("%s is running: %s is locked; wait for it to finish, or `raidswap resume` afterwards", who, e.Path)
}

// WaitTimeoutError is a wait step (pull, new disk, rebuild) that ran out of time. The plan
// can be resumed.
type WaitTimeoutError struct {
	Step    string
	Waiting string
}

func (e *WaitTimeoutError) Error() string {
	return fmt.Sprintf("step %s: gave up waiting: %s; `raidswap resume` continues from here", e.Step, e.Waiting)
}
