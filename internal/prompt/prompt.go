// Package prompt is how raidswap asks the operator: the Prompter interface, the one rule for
// a typed confirmation (Confirm), the refusal it ends with (DeclinedError), the line prompter
// (serial consoles, TERM=dumb, pipes) and the survey prompter (capable terminals). cli, the
// wizard, resume and the drill ask only through it.
package prompt

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Prompter asks the operator; the line and survey prompters, the drill's trainees and the
// tests' fakes satisfy it.
type Prompter interface {
	// Confirm shows question and goes ahead only when the operator types w.Answer, by the
	// rule of Confirm (the function); a final refusal is a *DeclinedError.
	Confirm(question string, w Want) error
	// Select shows question and the options, numbered from 1, and returns the index chosen;
	// an empty answer takes def.
	Select(question string, options []string, def int) (int, error)
	// YesNo asks a yes/no question; an empty answer takes def.
	YesNo(question string, def bool) (bool, error)
}

// ErrInterrupted is what a prompter returns when the operator pressed Ctrl-C.
var ErrInterrupted = errors.New("interrupted")

// MaxTries is how many wrong answers a typed confirmation takes before it refuses.
const MaxTries = 3

// Want is what a typed confirmation expects.
type Want struct {
	// Answer is what goes ahead (a serial's last 4 characters, a serial, a kernel name).
	Answer string
	// Keep are the serials of the disks that must stay (the survivor): an answer that
	// matches one of them is warned about loudly.
	Keep []string
	// Missed, when set, hears every wrong answer (the drill's score card).
	Missed func(Miss)
	// Asides are answers that confirm nothing (the wizard's `t`, the ticket for remote
	// hands): typing one runs it, and the question is asked again. It is not a wrong answer.
	Asides []Aside
}

// Aside is an answer a typed confirmation takes besides the expected one.
type Aside struct {
	// Keys are what the operator types for it, compared case-insensitively: "t", "ticket".
	Keys []string
	// Do runs when one is typed, writing to the prompter's output; an error ends the
	// confirmation with it.
	Do func(out io.Writer) error
}

// Matches reports whether typed is one of the aside's keys.
func (a Aside) Matches(typed string) bool {
	for _, k := range a.Keys {
		if strings.EqualFold(strings.TrimSpace(typed), k) {
			return true
		}
	}
	return false
}

// aside is the aside typed answers, nil when none.
func (w Want) aside(typed string) *Aside {
	for i, a := range w.Asides {
		if a.Matches(typed) {
			return &w.Asides[i]
		}
	}
	return nil
}

// Miss is one wrong answer.
type Miss struct {
	Typed string
	// Keep is the serial of the disk that must stay which the answer matched ("" if none):
	// a serious mistake.
	Keep string
}

// DeclinedError is a typed confirmation refused after MaxTries wrong answers: nothing goes
// ahead. It never says what the expected answer was.
type DeclinedError struct {
	// Typed is the last answer; Keep is the serial of a disk that must stay that any answer
	// matched.
	Typed, Keep string
	// Detached says the failed disk was already taken out of its arrays (the wizard's
	// phase-2 confirmation): the run waits in its journal.
	Detached bool
}

func (e *DeclinedError) Error() string {
	s := fmt.Sprintf("%d answers did not match the disk's label (last: %q)", MaxTries, e.Typed)
	if e.Keep != "" {
		s += fmt.Sprintf("; one matched %s, a disk you must KEEP", e.Keep)
	}
	if e.Detached {
		return s + ": nothing was written to the new disk. The failed disk is already out of its arrays; `raidswap resume` continues from there"
	}
	return s + ": nothing was done"
}

// KeptMatch is the serial of the disk in keep that typed matches ("" if none): typed
// (case-insensitive, at least 3 characters) is part of its serial, or holds its last 4
// characters.
func KeptMatch(typed string, keep []string) string {
	t := strings.ToUpper(strings.TrimSpace(typed))
	if len(t) < 3 {
		return ""
	}
	for _, k := range keep {
		u := strings.ToUpper(k)
		if u == "" {
			continue
		}
		if strings.Contains(u, t) || strings.Contains(t, Last4(u)) {
			return k
		}
	}
	return ""
}

// Last4 is what an operator types to confirm a disk: the serial's last 4 characters (the
// whole serial when shorter).
func Last4(serial string) string {
	if len(serial) <= 4 {
		return serial
	}
	return serial[len(serial)-4:]
}

// Confirm is the one rule of a typed confirmation, for every prompter: ask reads one answer
// to question; the answer is compared case-insensitively; an empty line asks again, and so
// does an aside (w.Asides) once it ran; a wrong answer is told on out (never with the expected answer) and asked again, MaxTries times in
// all; an answer matching a disk in w.Keep gets a loud warning. The last refusal is a
// *DeclinedError.
func Confirm(ask func(question string) (string, error), out io.Writer, question string, w Want) error {
	var last, kept string
	for tries := 0; tries < MaxTries; {
		s, err := ask(question)
		if err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			fmt.Fprintln(out, "nothing typed; read the label and type it.")
			continue
		}
		if strings.EqualFold(s, w.Answer) {
			return nil
		}
		if a := w.aside(s); a != nil {
			if err := a.Do(out); err != nil {
				return err
			}
			continue
		}
		tries++
		last = s
		k := KeptMatch(s, w.Keep)
		if k != "" {
			kept = k
			fmt.Fprintf(out, "!!! STOP: %q matches %s: that is the disk you must KEEP. Do not pull it. !!!\n", s, k)
		} else {
			fmt.Fprintf(out, "%q does not match the label of the disk asked for.\n", s)
		}
		if w.Missed != nil {
			w.Missed(Miss{Typed: s, Keep: k})
		}
		if tries < MaxTries {
			fmt.Fprintf(out, "Look again (try %d of %d).\n", tries+1, MaxTries)
		}
	}
	return &DeclinedError{Typed: last, Keep: kept}
}
