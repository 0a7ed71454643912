// Package human formats sizes and durations for people, one way for every report: a plan,
// status, the wizard, the drill and the partition comparison show a size or a duration
// the same. It formats only; it decides nothing.
package human

import (
	"fmt"
	"time"
)

// Bytes is n in binary units with one decimal: 512 B, 1.5 KiB, 8.0 GiB, 2.0 TiB.
func Bytes[T ~int | ~int64 | ~uint64](n T) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	u := uint64(n)
	div, exp := uint64(unit), 0
	for m := u / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(u)/float64(div), "KMGTPE"[exp])
}

// DecimalBytes is n in the decimal units disk makers print on a label: 1.0 TB, 480 GB,
// 134 MB.
func DecimalBytes(n uint64) string {
	switch {
	case n >= 1e12:
		return fmt.Sprintf("%.1f TB", float64(n)/1e12)
	case n >= 1e9:
		return fmt.Sprintf("%.0f GB", float64(n)/1e9)
	}
	return fmt.Sprintf("%.0f MB", float64(n)/1e6)
}

// Duration is d to the second as 45s, 3m07s or 2h05m (hours drop the seconds).
func Duration(d time.Duration) string {
	sec := int64(d.Round(time.Second) / time.Second)
	h, m, s := sec/3600, sec%3600/60, sec%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	default:
		return fmt.Sprintf("%ds", s)
	}
}

// Seconds is Duration of sec whole seconds (md's and the plan's estimates count seconds).
func Seconds(sec int64) string { return Duration(time.Duration(sec) * time.Second) }

// RateKiB is a rebuild speed md gives in KiB/s as decimal megabytes a second, the unit disk
// makers quote: whole from 10 MB/s (99 MB/s), with one decimal below (0.7 MB/s), so a slow
// rebuild is never "0 MB/s". Every report (plan, status, bars, drill) shows a speed this way.
func RateKiB(kibPerSec int64) string {
	if b := kibPerSec * 1024; b < 10_000_000 {
		return fmt.Sprintf("%.1f MB/s", float64(b)/1e6)
	}
	return fmt.Sprintf("%d MB/s", kibPerSec*1024/1000000)
}
