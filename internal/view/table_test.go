package view

import (
	"strings"
	"testing"
)

func TestTableRenderFitsByLeavingOutOptionalColumns(t *testing.T) {
	tb := Table{Indent: "  ", Header: []string{"NAME", "SERIAL", "MODEL", "BAY", "VERDICT"},
		Rows: [][]string{
			{"sda", "WD-WCC4N1KPB002", "WDC WD40EFRX-68N32N0", "enclosure 0:0:2, slot 3", "FAILED  <== this disk"},
			{"sdb", "WD-SURV", "WDC WD40EFRX-68N32N0", "enclosure 0:0:2, slot 4", "healthy"},
		},
		Optional: []int{2, 3}}
	wide := tb.Render(0)
	if !strings.Contains(wide, "WDC WD40EFRX-68N32N0") || !strings.Contains(wide, "slot 3") {
		t.Fatalf("width 0 left a column out:\n%s", wide)
	}
	for _, w := range []int{120, 80, 60, 40} {
		got := tb.Render(w)
		if w >= 60 && maxLine(got) > w {
			t.Errorf("width %d: a line is %d wide:\n%s", w, maxLine(got), got)
		}
		// Never a word cut: every line is a row, every row still ends with its verdict.
		if lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n"); len(lines) != 3 || !strings.HasSuffix(lines[1], "FAILED  <== this disk") {
			t.Errorf("width %d: rows broken:\n%s", w, got)
		}
	}
	if got := tb.Render(80); strings.Contains(got, "WD40EFRX") || !strings.Contains(got, "slot 3") {
		t.Errorf("width 80 should leave out MODEL first and keep BAY:\n%s", got)
	}
	if got := tb.Render(60); strings.Contains(got, "slot 3") {
		t.Errorf("width 60 should leave out BAY too:\n%s", got)
	}
}
