package prompt

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// script answers from a list, one line per question, and counts the questions.
type script struct {
	lines []string
	asked int
}

func (s *script) ask(string) (string, error) {
	s.asked++
	if len(s.lines) == 0 {
		return "", errors.New("no answer: the input ended")
	}
	l := s.lines[0]
	s.lines = s.lines[1:]
	return l, nil
}

// TestConfirmRule is the one rule of a typed confirmation (issue 20): case-insensitive, an
// empty line asks again, three wrong answers at most, the expected answer never echoed, and
// an answer naming a disk to keep warned about loudly and reported as such.
func TestConfirmRule(t *testing.T) {
	keep := []string{"WD-WCC4N1KPA001"}
	for _, tc := range []struct {
		name     string
		typed    []string
		ok       bool
		asked    int
		misses   int
		keepHits int
		said     []string
	}{
		{name: "exact", typed: []string{"B002"}, ok: true, asked: 1},
		{name: "lower case", typed: []string{"b002"}, ok: true, asked: 1},
		{name: "spaces around", typed: []string{"  b002 "}, ok: true, asked: 1},
		{name: "empty lines ask again", typed: []string{"", "", "B002"}, ok: true, asked: 3, said: []string{"nothing typed"}},
		{name: "third try passes", typed: []string{"X", "Y", "B002"}, ok: true, asked: 3, misses: 2, said: []string{"try 2 of 3", "try 3 of 3"}},
		{name: "three wrong refuse", typed: []string{"X", "Y", "Z", "B002"}, asked: 3, misses: 3},
		{name: "empty does not count as a try", typed: []string{"X", "", "Y", "", "Z"}, asked: 5, misses: 3},
		{name: "survivor's last 4", typed: []string{"A001", "B002"}, ok: true, asked: 2, misses: 1, keepHits: 1, said: []string{"that is the disk you must KEEP", "WD-WCC4N1KPA001"}},
		{name: "survivor's whole serial, lower case", typed: []string{"wd-wcc4n1kpa001", "x", "y"}, asked: 3, misses: 3, keepHits: 1, said: []string{"that is the disk you must KEEP"}},
		{name: "too short to name a disk", typed: []string{"01", "B002"}, ok: true, asked: 2, misses: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{lines: tc.typed}
			var out bytes.Buffer
			var misses []Miss
			err := Confirm(s.ask, &out, "Type its last 4 characters: ", Want{Answer: "B002", Keep: keep, Missed: func(m Miss) { misses = append(misses, m) }})
			if tc.ok != (err == nil) {
				t.Fatalf("err %v, want ok=%t", err, tc.ok)
			}
			var de *DeclinedError
			if !tc.ok && !errors.As(err, &de) {
				t.Fatalf("refusal %T %v, want a *DeclinedError", err, err)
			}
			if s.asked != tc.asked || len(misses) != tc.misses {
				t.Errorf("asked %d, misses %d; want %d, %d", s.asked, len(misses), tc.asked, tc.misses)
			}
			hits := 0
			for _, m := range misses {
				if m.Keep != "" {
					hits++
				}
			}
			if hits != tc.keepHits {
				t.Errorf("%d answers matched the disk to keep, want %d", hits, tc.keepHits)
			}
			said := out.String()
			if err != nil {
				said += err.Error()
				if tc.keepHits > 0 && de.Keep != keep[0] {
					t.Errorf("the refusal does not name the disk to keep: %v", err)
				}
			}
			if strings.Contains(said, "B002") {
				t.Errorf("the expected answer was echoed: %q", said)
			}
			for _, w := range tc.said {
				if !strings.Contains(said, w) {
					t.Errorf("missing %q in %q", w, said)
				}
			}
		})
	}
}

func TestKeptMatch(t *testing.T) {
	keep := []string{"WD-WCC4N1KPA001", "S3Z9NX0K"}
	for typed, want := range map[string]string{
		"A001": "WD-WCC4N1KPA001", "a001": "WD-WCC4N1KPA001", "KPA001": "WD-WCC4N1KPA001",
		"wd-wcc4n1kpa001": "WD-WCC4N1KPA001", "xxA001": "WD-WCC4N1KPA001", "X0K": "S3Z9NX0K",
		"B002": "", "01": "", "": "",
	} {
		if got := KeptMatch(typed, keep); got != want {
			t.Errorf("KeptMatch(%q) = %q, want %q", typed, got, want)
		}
	}
}

func TestLinePrompter(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := NewPlain(ctx, strings.NewReader("WD-X\nnope\nno\nnein\n\n7\n2\nmaybe\ny\n"), &out)
	if err := p.Confirm("type: ", Want{Answer: "wd-x"}); err != nil {
		t.Errorf("right serial refused: %v", err)
	}
	var de *DeclinedError
	if err := p.Confirm("type: ", Want{Answer: "WD-X"}); !errors.As(err, &de) || de.Typed != "nein" {
		t.Errorf("three wrong serials: %v", err)
	}
	if i, err := p.Select("which?", []string{"a", "b"}, 1); i != 1 || err != nil {
		t.Errorf("empty answer: %d %v, want the default 1", i, err)
	}
	if i, err := p.Select("which?", []string{"a", "b"}, 0); i != 1 || err != nil || !strings.Contains(out.String(), "give a number from 1 to 2") {
		t.Errorf("7 then 2: %d %v", i, err)
	}
	if yes, err := p.YesNo("go?", false); !yes || err != nil || !strings.Contains(out.String(), "answer y or n") {
		t.Errorf("maybe then y: %t %v", yes, err)
	}
	if _, err := p.YesNo("again?", false); err == nil {
		t.Error("an ended input gave an answer")
	}
}

// TestConfirmAside: an aside (the wizard's `t` for the ticket) runs, writes to the prompter's
// output, and asks again without counting as a wrong answer; its error ends the confirmation.
func TestConfirmAside(t *testing.T) {
	ran := 0
	ticket := Aside{Keys: []string{"t", "ticket"}, Do: func(out io.Writer) error {
		ran++
		_, err := io.WriteString(out, "DISK REPLACEMENT\n")
		return err
	}}
	s := &script{lines: []string{"t", "X", "TICKET", "Y", "b002"}}
	var out bytes.Buffer
	var misses []Miss
	if err := Confirm(s.ask, &out, "q: ", Want{Answer: "B002", Asides: []Aside{ticket}, Missed: func(m Miss) { misses = append(misses, m) }}); err != nil {
		t.Fatalf("two wrong answers and two asides refused: %v\n%s", err, &out)
	}
	if ran != 2 || len(misses) != 2 || strings.Count(out.String(), "DISK REPLACEMENT") != 2 || s.asked != 5 {
		t.Errorf("ran %d, misses %d, asked %d:\n%s", ran, len(misses), s.asked, &out)
	}
	boom := errors.New("no ticket")
	s = &script{lines: []string{"t", "B002"}}
	if err := Confirm(s.ask, &out, "q: ", Want{Answer: "B002", Asides: []Aside{{Keys: []string{"t"}, Do: func(io.Writer) error { return boom }}}}); !errors.Is(err, boom) {
		t.Errorf("an aside's error: %v", err)
	}
}
