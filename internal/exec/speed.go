package exec

import (
	"fmt"
	"os"
	"strconv"

	"github.com/raidswap/raidswap/internal/host"
)

// SpeedLimitMin is md's minimum resync/recovery speed, KiB/s per device.
const SpeedLimitMin = "/proc/sys/dev/raid/speed_limit_min"

// ProcSpeed reads and writes speed_limit_min under a Root. It is the only file raidswap
// writes under /proc; the executor journals the old value before changing it.
type ProcSpeed struct{ Root *host.Root }

// MinSpeed reads the current value.
func (p ProcSpeed) MinSpeed() (int64, error) {
	s, err := p.Root.ReadString(SpeedLimitMin)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(s, 10, 64)
}

// SetMinSpeed writes a new value.
func (p ProcSpeed) SetMinSpeed(kib int64) error {
	if err := os.WriteFile(p.Root.Path(SpeedLimitMin), []byte(strconv.FormatInt(kib, 10)+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", SpeedLimitMin, err)
	}
	return nil
}
