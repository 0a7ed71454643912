package journal

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestAuditLoggerStampsUTC: every audit line carries its time in UTC with nanoseconds, from
// the clock given, whatever the clock's zone (the executor's lines were local, the hook's UTC).
func TestAuditLoggerStampsUTC(t *testing.T) {
	var b bytes.Buffer
	zone := time.FixedZone("UTC+5", 5*3600)
	at := time.Date(2026, 12, 1, 20, 0, 0, 123456789, zone)
	l := AuditLogger(&b, func() time.Time { return at })
	l.Info().Str("event", "started").Msg("step started")
	pl := l.With().Str("plan", "p1").Logger()
	pl.Warn().Str("event", "mdadm").Msg("Fail")
	lines := bytes.Split(bytes.TrimSpace(b.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), b.String())
	}
	for _, line := range lines {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if m["time"] != "2026-12-01T15:00:00.123456789Z" {
			t.Errorf("time %v, want 2026-12-01T15:00:00.123456789Z in %s", m["time"], line)
		}
		for _, k := range []string{"level", "event", "message"} {
			if _, ok := m[k]; !ok {
				t.Errorf("no %q in %s", k, line)
			}
		}
	}
}
