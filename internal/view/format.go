package view

// The small formats the views share; sizes and durations are internal/human's.

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
