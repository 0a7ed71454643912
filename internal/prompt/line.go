package prompt

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Lines are the lines typed while no question is asked (Enter during a wait).
func (p *Plain) Lines() <-chan string { return p.lines }

// Plain asks line by line with numbered choices and writes no escape code at all: it
// is for serial consoles, TERM=dumb and logs of a session. One goroutine reads the input, so
// a prompt and a wait share it, and Ctrl-C (ctx) ends any prompt.
type Plain struct {
	ctx   context.Context
	out   io.Writer
	lines chan string
	ended chan struct{}
}

// NewPlain reads the operator's lines from in and asks on out until ctx ends.
func NewPlain(ctx context.Context, in io.Reader, out io.Writer) *Plain {
	p := &Plain{ctx: ctx, out: out, lines: make(chan string), ended: make(chan struct{})}
	go func() {
		r := bufio.NewReader(in)
		for {
			s, err := r.ReadString('\n')
			if s != "" || err == nil {
				select {
				case p.lines <- strings.TrimSpace(s):
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				close(p.ended)
				return
			}
		}
	}()
	return p
}

func (p *Plain) line(question string) (string, error) {
	fmt.Fprint(p.out, question)
	select {
	case s := <-p.lines:
		return s, nil
	case <-p.ended:
		select {
		case s := <-p.lines:
			return s, nil
		default:
		}
		return "", errors.New("no answer: the input ended")
	case <-p.ctx.Done():
		fmt.Fprintln(p.out)
		return "", ErrInterrupted
	}
}

// Confirm asks by the rule of Confirm (the function).
func (p *Plain) Confirm(question string, w Want) error {
	return Confirm(p.line, p.out, question, w)
}

func (p *Plain) Select(question string, options []string, def int) (int, error) {
	fmt.Fprintln(p.out, question)
	for i, o := range options {
		fmt.Fprintf(p.out, "  %d) %s\n", i+1, o)
	}
	for {
		s, err := p.line(fmt.Sprintf("number (1-%d) [%d]: ", len(options), def+1))
		if err != nil {
			return 0, err
		}
		if s == "" {
			return def, nil
		}
		if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= len(options) {
			return n - 1, nil
		}
		fmt.Fprintf(p.out, "give a number from 1 to %d\n", len(options))
	}
}

func (p *Plain) YesNo(question string, def bool) (bool, error) {
	hint := "[y/N]"
	if def {
		hint = "[Y/n]"
	}
	for {
		s, err := p.line(question + " " + hint + " ")
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
		fmt.Fprintln(p.out, "answer y or n")
	}
}
