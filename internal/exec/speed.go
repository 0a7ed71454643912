package exec

import (
	"fmt"
	"os"
	"strconv"

	"github.com/raidswap/raidswap/internal/host"
)

// md's minimum and maximum resync/recovery speeds, KiB/s per device.
const (
	SpeedLimitMin = "/proc/sys/dev/raid/speed_limit_min"
	SpeedLimitMax = "/proc/sys/dev/raid/speed_limit_max"
)

// ProcSpeed reads and writes speed_limit_min under a Root, and starts a stalled recovery
// through an array's sync_action. These are the only kernel files raidswap writes; the
// executor journals every write.
type ProcSpeed struct{ Root *host.Root }

// StartRecovery writes "recover" to the array's sync_action: md clears a freeze left behind
// (by an mdadm that was killed between freezing and thawing the array) and looks for spares
// to recover onto.
func (p ProcSpeed) StartRecovery(array string) error {
	f := "/sys/block/" + array + "/md/sync_action"
	if err := os.WriteFile(p.Root.Path(f), []byte("recover\n"), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", f, err)
	}
	return nil
}

// MinSpeed reads speed_limit_min.
func (p ProcSpeed) MinSpeed() (int64, error) { return p.read(SpeedLimitMin) }

// SetMinSpeed writes speed_limit_min.
func (p ProcSpeed) SetMinSpeed(kib int64) error { return p.write(SpeedLimitMin, kib) }

// MaxSpeed reads speed_limit_max.
func (p ProcSpeed) MaxSpeed() (int64, error) { return p.read(SpeedLimitMax) }

// SetMaxSpeed writes speed_limit_max.
func (p ProcSpeed) SetMaxSpeed(kib int64) error { return p.write(SpeedLimitMax, kib) }

func (p ProcSpeed) read(f string) (int64, error) {
	s, err := p.Root.ReadString(f)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(s, 10, 64)
}

func (p ProcSpeed) write(f string, kib int64) error {
	if err := os.WriteFile(p.Root.Path(f), []byte(strconv.FormatInt(kib, 10)+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", f, err)
	}
	return nil
}
