package view

import (
	"strings"
	"unicode/utf8"
)

// Wrap breaks each line of s at word boundaries so that none is longer than width
// characters; a continued line keeps the first line's indent plus two spaces, so a reader
// sees it belongs to the line above. A word longer than the width stays whole (a device
// path or a command is never cut). Width 0 or less leaves s as it is.
func Wrap(s string, width int) string {
	if width <= 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	var b strings.Builder
	for i, line := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		wrapLine(&b, line, width)
	}
	return b.String()
}

func wrapLine(out *strings.Builder, line string, width int) {
	if utf8.RuneCountInString(line) <= width {
		out.WriteString(line)
		return
	}
	var b strings.Builder
	defer func() {
		// A break inside a run of spaces (a table's padding) leaves the spaces at the end of
		// the line it ends: they are no part of it.
		parts := strings.Split(b.String(), "\n")
		for i := range parts {
			parts[i] = strings.TrimRight(parts[i], " ")
		}
		out.WriteString(strings.Join(parts, "\n"))
	}()
	indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
	cont := indent + "  "
	if utf8.RuneCountInString(cont) >= width/2 {
		cont = "  "
	}
	col := utf8.RuneCountInString(indent)
	b.WriteString(indent)
	// Split on single spaces so runs of spaces (table columns) stay as they are.
	first := true
	for _, word := range keepUnits(strings.Split(line[len(indent):], " ")) {
		n := utf8.RuneCountInString(word)
		switch {
		case first:
			b.WriteString(word)
			col += n
			first = false
		case word != "" && col+1+n > width:
			b.WriteString("\n" + cont + word)
			col = utf8.RuneCountInString(cont) + n
		default:
			b.WriteString(" " + word)
			col += 1 + n
		}
	}
}

// units are the words a size, a rate or a count never leaves at a line break: "39.9 MiB"
// stays on one line (human.Bytes, human.RateKiB and the rebuild's percentages write them).
var units = map[string]bool{"B": true, "KiB": true, "MiB": true, "GiB": true, "TiB": true, "PiB": true,
	"kB": true, "MB": true, "GB": true, "TB": true, "MB/s": true, "GB/s": true, "kB/s": true, "%": true}

// keepUnits joins each number with the unit after it ("39.9", "MiB" -> "39.9 MiB") so the
// line is broken before the number, not between the two; the joined word is written as it
// was, one space between.
func keepUnits(words []string) []string {
	out := make([]string, 0, len(words))
	for _, w := range words {
		if n := len(out); n > 0 && units[strings.TrimRight(w, ",.;:)")] && isNumber(out[n-1]) {
			out[n-1] += " " + w
			continue
		}
		out = append(out, w)
	}
	return out
}

func isNumber(w string) bool {
	w = strings.TrimLeft(w, "(~")
	if w == "" {
		return false
	}
	for _, r := range w {
		if (r < '0' || r > '9') && r != '.' && r != ',' {
			return false
		}
	}
	return true
}
