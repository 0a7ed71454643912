package plan

import (
	"fmt"
	"strings"
)

// InputError is a request raidswap cannot build a plan for: a disk that does not exist, a
// partition given as a disk, the survivor given as the new disk, a new disk in use. It names
// the device and serial. Nothing has been written when it is returned.
type InputError struct {
	Device string
	Serial string
	Reason string
}

func (e *InputError) Error() string {
	switch {
	case e.Device != "" && e.Serial != "":
		return fmt.Sprintf("%s (%s): %s", e.Device, e.Serial, e.Reason)
	case e.Device != "":
		return fmt.Sprintf("%s: %s", e.Device, e.Reason)
	case e.Serial != "":
		return fmt.Sprintf("serial %s: %s", e.Serial, e.Reason)
	}
	return e.Reason
}

// UnsafeError is a replacement raidswap refuses because it would endanger data: an array
// with no in_sync member left outside the failed disk.
type UnsafeError struct {
	Reason string
}

func (e *UnsafeError) Error() string { return "refusing to plan: " + e.Reason }

// InvalidError is a plan file apply will not use: edited by hand, of another format, or
// from another machine.
type InvalidError struct {
	Reason string
}

func (e *InvalidError) Error() string { return "refusing the plan: " + e.Reason }

// StaleError is a plan whose fingerprint no longer matches the system: the world moved
// since it was built. Changes lists what differs, "-" for what the plan saw and no longer
// holds, "+" for what holds now and the plan did not see.
type StaleError struct {
	Changes []string
}

func (e *StaleError) Error() string {
	return "saved plan is stale: the system changed since it was built:\n  " + strings.Join(e.Changes, "\n  ") +
		"\nbuild a new plan"
}
