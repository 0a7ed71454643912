package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Prompter asks the operator. Commands ask only through it, so that tests (and the drill)
// answer with a fake; the terminal one reads lines from the command's input.
type Prompter interface {
	// ConfirmTyped shows question and goes ahead only when the operator types want (a disk's
	// serial): anything else is a *DeclinedError.
	ConfirmTyped(question, want string) error
	// Select shows question and the options, numbered from 1, and returns the index chosen;
	// an empty answer takes def.
	Select(question string, options []string, def int) (int, error)
	// YesNo asks a yes/no question; an empty answer takes def.
	YesNo(question string, def bool) (bool, error)
}

// DeclinedError is an operator's answer that does not let raidswap go ahead.
type DeclinedError struct{ Typed, Want string }

func (e *DeclinedError) Error() string {
	return fmt.Sprintf("you typed %q, not %q: nothing was done", e.Typed, e.Want)
}

// Prompter returns the Factory's prompter: the one set, or one reading lines from IO.In.
func (f *Factory) Prompter() Prompter {
	if f.prompter == nil {
		f.prompter = &linePrompter{in: bufio.NewReader(f.IO.In), out: f.IO.Out}
	}
	return f.prompter
}

// SetPrompter makes every question go to p.
func (f *Factory) SetPrompter(p Prompter) { f.prompter = p }

// linePrompter asks on a line-oriented terminal (a serial console, ssh).
type linePrompter struct {
	in  *bufio.Reader
	out io.Writer
}

func (l *linePrompter) line(question string) (string, error) {
	fmt.Fprint(l.out, question)
	s, err := l.in.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the answer: %w", err)
	}
	if err != nil && s == "" {
		return "", errors.New("no answer: the input ended")
	}
	return strings.TrimSpace(s), nil
}

func (l *linePrompter) ConfirmTyped(question, want string) error {
	s, err := l.line(question)
	if err != nil {
		return err
	}
	if s != want {
		return &DeclinedError{Typed: s, Want: want}
	}
	return nil
}

func (l *linePrompter) Select(question string, options []string, def int) (int, error) {
	fmt.Fprintln(l.out, question)
	for i, o := range options {
		mark := " "
		if i == def {
			mark = "*"
		}
		fmt.Fprintf(l.out, " %s %d) %s\n", mark, i+1, o)
	}
	for {
		s, err := l.line(fmt.Sprintf("number [%d]: ", def+1))
		if err != nil {
			return 0, err
		}
		if s == "" {
			return def, nil
		}
		if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= len(options) {
			return n - 1, nil
		}
		fmt.Fprintf(l.out, "give a number from 1 to %d\n", len(options))
	}
}

func (l *linePrompter) YesNo(question string, def bool) (bool, error) {
	hint := "[y/N]"
	if def {
		hint = "[Y/n]"
	}
	for {
		s, err := l.line(question + " " + hint + " ")
		if err != nil {
			return false, err
		}
		switch strings.ToLower(s) {
		case "":
			return def, nil
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		fmt.Fprintln(l.out, "answer y or n")
	}
}
