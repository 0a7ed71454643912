package journal

import (
	"io"
	"time"

	"github.com/rs/zerolog"
)

// AuditLogger is the one way raidswap writes audit.jsonl lines, the executor's and the event
// hook's alike: one zerolog JSON object per line with level, time, event and message, and the
// writer's own fields. "time" is UTC in RFC 3339 with nanoseconds, as the journal's records
// are, so lines of a run and of md's events sort together whatever the host's time zone. now
// is the clock (time.Now when nil; the hook's tests pass a fixed one).
func AuditLogger(w io.Writer, now func() time.Time) zerolog.Logger {
	if now == nil {
		now = time.Now
	}
	return zerolog.New(w).Hook(auditTime(now))
}

// auditTime stamps each line when it is written.
type auditTime func() time.Time

func (t auditTime) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str("time", t().UTC().Format(time.RFC3339Nano))
}
