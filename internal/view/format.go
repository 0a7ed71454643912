package view

import "fmt"

// The small formats the views share, so that a size or a duration reads the same in a
// plan and in status.

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// humanBytes is n in binary units with one decimal: 512 B, 1.5 KiB, 8.0 GiB.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// humanDuration is sec as 45s, 3m07s or 2h05m.
func humanDuration(sec int64) string {
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
