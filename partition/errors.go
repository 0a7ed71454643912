package partition

import (
	"errors"
	"fmt"
)

// Refusal names why raidswap will not write a table. The CLI maps every refusal to its
// "refused" exit code; the replacement engine uses the kind to decide what to tell the
// operator.
type Refusal string

const (
	// RefuseInUse: the target holds an active md member, a mounted or held partition, active
	// swap, or is attached to a loop device.
	RefuseInUse Refusal = "in-use"
	// RefuseExistingData: the target carries a partition table, md superblock or file system
	// signature, and --wipe was not given.
	RefuseExistingData Refusal = "existing-data"
	// RefuseTooSmall: the source layout (or an md member's needs) does not fit the target.
	RefuseTooSmall Refusal = "too-small"
	// RefuseSectorSizeChange: a 4Kn target would join arrays whose members have 512-byte
	// sectors, and --allow-sector-size-change was not given.
	RefuseSectorSizeChange Refusal = "sector-size-change"
	// RefuseUnrepresentable: a boundary cannot be expressed in the target's sectors or table.
	RefuseUnrepresentable Refusal = "unrepresentable"
	// RefuseUnsupported: the source table is damaged or uses a layout this package does not
	// clone.
	RefuseUnsupported Refusal = "unsupported"
	// RefuseSameDisk: source and target are the same disk.
	RefuseSameDisk Refusal = "same-disk"
	// RefuseCannotProbe: libblkid (wipefs, blkid) could not be asked what the target holds,
	// so it is not assumed empty.
	RefuseCannotProbe Refusal = "cannot-probe"
	// RefuseLastCopy: the target holds a member of an array this host knows and no other
	// present disk holds one at least as current; refused even with --wipe.
	RefuseLastCopy Refusal = "last-copy"
)

// RefusedError is a write raidswap will not do. It names the device, its serial and why.
type RefusedError struct {
	Kind   Refusal
	Device string // path the operator gave, e.g. /dev/sdb or an image file
	Serial string // empty for image files and devices without one
	Reason string
	// Shortfall is the number of bytes missing, for RefuseTooSmall.
	Shortfall int64
	// Err is an underlying error, if any.
	Err error
}

func (e *RefusedError) Error() string {
	dev := e.Device
	if dev == "" {
		dev = "the target"
	}
	if e.Serial != "" {
		dev = fmt.Sprintf("%s (%s)", dev, e.Serial)
	}
	return fmt.Sprintf("refusing to write %s: %s", dev, e.Reason)
}

func (e *RefusedError) Unwrap() error { return e.Err }

func refuse(kind Refusal, format string, args ...any) *RefusedError {
	return &RefusedError{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// withDevice fills in the device and serial of a refusal raised by pure code.
func withDevice(err error, device, serial string) error {
	var re *RefusedError
	if errors.As(err, &re) && re.Device == "" {
		c := *re
		c.Device, c.Serial = device, serial
		return &c
	}
	return err
}

// IsRefusal reports whether err is a refusal, and of which kind.
func IsRefusal(err error) (Refusal, bool) {
	var re *RefusedError
	if errors.As(err, &re) {
		return re.Kind, true
	}
	return "", false
}

// ErrNoTable is returned by Read when a disk carries no partition table.
var ErrNoTable = errors.New("no partition table")

// VerifyError is a table that was written but does not read back as planned.
type VerifyError struct {
	Device   string
	Problems []string
}

func (e *VerifyError) Error() string {
	msg := fmt.Sprintf("%s does not read back as written: %s", e.Device, e.Problems[0])
	if len(e.Problems) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(e.Problems)-1)
	}
	return msg
}
