package exec

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/stream"
)

// Abort closes the unfinished run journalled at path, under the lock the caller holds: md's
// speed limits that the run raised and did not restore are set back, then the journal gets its
// "aborted" record, after which neither resume nor apply continues that plan. It changes no
// array and no disk. The bay LEDs the run left lit are turned off through leds (its first,
// when given). It returns what it did, for the operator.
func Abort(path string, speed SpeedWriter, leds ...LEDDriver) ([]string, error) {
	j, err := journal.Open(filepath.Dir(path), strings.TrimSuffix(filepath.Base(path), ".jsonl"))
	if err != nil {
		return nil, err
	}
	defer j.Close()
	if j.Finished() || j.Aborted() {
		return nil, fmt.Errorf("journal %s is already closed", path)
	}
	out := stream.Journal(j)
	said, err := restoreLimits(j, out, speed, "")
	if err != nil {
		return said, err
	}
	var led LEDDriver
	if len(leds) > 0 {
		led = leds[0]
	}
	said = append(said, abortLEDs(j, out, led)...)
	return said, out.Put(stream.Record{Kind: stream.Aborted})
}
