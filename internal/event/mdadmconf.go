package event

import (
	"bytes"
	"strings"
)

// confProgram is the PROGRAM mdadm takes from one mdadm.conf's bytes.
type confProgram struct {
	Found   bool   // a PROGRAM line with a word
	Program string // its first word, as mdadm reads it (quotes removed)
	LineNo  int    // the line its keyword is on
	Text    string // the logical line's words, joined by spaces (clipped)
}

// readConfProgram reads conf as mdadm's config.c does (conf_line, conf_word, programline)
// and returns the PROGRAM it takes: the first word of the first PROGRAM line that has one;
// a later PROGRAM line, or a later word, is ignored. Like mdadm it has no line length limit:
//   - a logical line is a keyword line plus every following line that starts with a space
//     or tab; empty lines and comment lines in between do not end it;
//   - '#' starts a comment where a word could start (after white space or at a line's
//     start), not inside a word;
//   - '"' and '\” quote white space into a word and are removed; a quote ends at the line;
//   - keywords are case-insensitive and may be shortened to three letters;
//   - a word ends at a NUL byte, as a C string does.
//
// mdadm's two fixes for /proc/mdstat of 2.6.14-2.6.24 kernels ("active(" and
// "auto-read-only)") are kept, since mdadm applies them to mdadm.conf too.
func readConfProgram(conf []byte) confProgram {
	r := &confReader{b: conf, line: 1, pending: -1}
	for {
		kw, lineNo, ok := r.word(true)
		if !ok {
			return confProgram{}
		}
		words := []string{kw}
		for {
			w, _, ok := r.word(false)
			if !ok {
				break
			}
			words = append(words, w)
		}
		if isProgramKeyword(kw) && len(words) > 1 {
			return confProgram{Found: true, Program: words[1], LineNo: lineNo, Text: clip(strings.Join(words, " "))}
		}
	}
}

// isProgramKeyword is mdadm's match_keyword landing on "program": at least three letters,
// a case-insensitive (ASCII) prefix of it. No keyword before it in mdadm's list (devices,
// array, mailaddr, mailfrom) starts with "pro".
func isProgramKeyword(w string) bool {
	return len(w) >= 3 && len(w) <= len("program") && strings.EqualFold(w, "program"[:len(w)]) && isASCII(w)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// confReader is a getc/ungetc reader over bytes: ungetc pushes back a value, which need not
// be the byte read (mdadm pushes back ' ' in place of the '(' of "active(").
type confReader struct {
	b       []byte
	i       int
	line    int // 1 + newlines read from b
	pending int // a pushed-back value, -1 for none
}

const eof = -1

func (r *confReader) getc() int {
	if r.pending >= 0 {
		c := r.pending
		r.pending = -1
		return c
	}
	if r.i >= len(r.b) {
		return eof
	}
	c := int(r.b[r.i])
	r.i++
	if c == '\n' {
		r.line++
	}
	return c
}

func (r *confReader) ungetc(c int) { r.pending = c }

// word is mdadm's conf_word: the next word of the logical line (allowKey: of the next one),
// the line it started on, and false at the end of the line (or of the file).
func (r *confReader) word(allowKey bool) (string, int, bool) {
	var w []byte
	found := false
	startLine := 0
	for !found {
		c := r.getc()
		if c == '#' {
			for c != eof && c != '\n' {
				c = r.getc()
			}
		}
		if c == eof {
			break
		}
		if c == '\n' {
			continue
		}
		if c != ' ' && c != '\t' && !allowKey {
			r.ungetc(c)
			break
		}
		quote := 0
		for c == ' ' || c == '\t' {
			c = r.getc()
		}
		if c != eof && c != '\n' && c != '#' {
			startLine = r.line
			for c != eof && c != '\n' && (quote != 0 || (c != ' ' && c != '\t')) {
				found = true
				switch {
				case quote != 0 && c == quote:
					quote = 0
				case quote == 0 && (c == '\'' || c == '"'):
					quote = c
				default:
					w = append(w, byte(c))
				}
				c = r.getc()
				if c == '(' && len(w) >= 6 && string(w[len(w)-6:]) == "active" {
					c = ' '
				}
			}
		}
		if c != eof {
			r.ungetc(c)
		}
	}
	if !found {
		return "", 0, false
	}
	if i := bytes.IndexByte(w, 0); i >= 0 {
		w = w[:i]
	}
	s := string(w)
	if s == "auto-read-only)" {
		s = "(auto-read-only)"
	}
	return s, startLine, true
}
