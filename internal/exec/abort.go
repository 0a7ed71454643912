package exec

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/raidswap/raidswap/internal/journal"
)

// Abort closes the unfinished run journalled at path, under the lock the caller holds: md's
// speed limits that the run raised and did not restore are set back, then the journal gets its
// "aborted" record, after which neither resume nor apply continues that plan. It changes no
// array and no disk. It returns what it did, for the operator.
func Abort(path string, speed SpeedWriter) ([]string, error) {
	j, err := journal.Open(filepath.Dir(path), strings.TrimSuffix(filepath.Base(path), ".jsonl"))
	if err != nil {
		return nil, err
	}
	defer j.Close()
	if j.Finished() || j.Aborted() {
		return nil, fmt.Errorf("journal %s is already closed", path)
	}
	var said []string
	limits := []struct {
		name string
		set  func(int64) error
	}{{"speed_limit_min", speed.SetMinSpeed}, {"speed_limit_max", speed.SetMaxSpeed}}
	for _, l := range limits {
		was, at := j.DataIndex(l.name + "_was")
		if at < 0 {
			continue
		}
		if _, rat := j.DataIndex(l.name + "_restored"); rat > at {
			continue
		}
		v, err := strconv.ParseInt(was, 10, 64)
		if err != nil {
			return said, fmt.Errorf("journal %s: %s_was is %q, not a number: set /proc/sys/dev/raid/%s by hand", path, l.name, was, l.name)
		}
		if err := l.set(v); err != nil {
			return said, fmt.Errorf("restoring %s to %d: %w", l.name, v, err)
		}
		if err := j.Append(journal.Record{Event: journal.EventNote, Data: map[string]string{l.name + "_restored": was}}); err != nil {
			return said, err
		}
		said = append(said, fmt.Sprintf("restored /proc/sys/dev/raid/%s to %d", l.name, v))
	}
	return said, j.Append(journal.Record{Event: journal.EventAborted})
}
