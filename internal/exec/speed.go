package exec

import (
	"fmt"
	"os"
	"strconv"

	"github.com/raidswap/raidswap/internal/host"
)

// SpeedLimitMin is md's minimum resync/recovery speed, KiB/s per device.
const SpeedLimitMin = "/proc/sys/dev/raid/speed_limit_min"

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
