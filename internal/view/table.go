package view

import (
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// Table is a text table of columns separated by two spaces, every line starting with
// Indent. Render fits it into a width: it leaves out the columns listed in Optional, one at a
// time in that order, until every line fits, so a narrow terminal (a serial console of 80
// columns) shows whole words in fewer columns instead of lines broken mid-row. A table that
// does not fit even without them is rendered with what is left (Wrap then breaks its lines
// at spaces). Width 0 or less keeps every column.
type Table struct {
	Indent   string
	Header   []string // nil: no header line
	Rows     [][]string
	Optional []int // column indexes, in the order they are left out
}

// Render writes the table within width (see Table).
func (t Table) Render(width int) string {
	if len(t.Rows) == 0 && t.Header == nil {
		return ""
	}
	drop := map[int]bool{}
	trim := width > 0
	out := t.render(drop, trim)
	for _, c := range t.Optional {
		if width <= 0 || maxLine(out) <= width {
			break
		}
		drop[c] = true
		out = t.render(drop, trim)
	}
	return out
}

// render writes the table without the columns in drop; trim drops the padding tabwriter
// leaves after a row's last cell (kept at width 0, where the output is what it always was).
func (t Table) render(drop map[int]bool, trim bool) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	row := func(cells []string) {
		var keep []string
		for i, c := range cells {
			if !drop[i] {
				keep = append(keep, c)
			}
		}
		tw.Write([]byte(t.Indent + strings.Join(keep, "\t") + "\n"))
	}
	if t.Header != nil {
		row(t.Header)
	}
	for _, r := range t.Rows {
		row(r)
	}
	tw.Flush()
	if !trim {
		return b.String()
	}
	// tabwriter pads every cell but the last; trailing blanks are not part of the table.
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n") + "\n"
}

// maxLine is the length in characters of the longest line of s.
func maxLine(s string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		n = max(n, utf8.RuneCountInString(l))
	}
	return n
}
