package prompt

import (
	"errors"
	"strings"

	"github.com/AlecAivazis/survey/v2"
	"github.com/AlecAivazis/survey/v2/terminal"
	"golang.org/x/sys/unix"
)

// Survey asks with survey/v2 on a capable terminal (arrow-key selection), on the streams it
// is given. survey writes escape codes whatever its output is, so it is used only on a
// terminal.
type Survey struct {
	in   terminal.FileReader
	out  terminal.FileWriter
	errw terminal.FileWriter
}

// NewSurvey asks on the terminal in, out (and errw for survey's errors).
func NewSurvey(in terminal.FileReader, out, errw terminal.FileWriter) *Survey {
	return &Survey{in: in, out: out, errw: errw}
}

func surveyErr(err error) error {
	if errors.Is(err, terminal.InterruptErr) {
		return ErrInterrupted
	}
	return err
}

func (s *Survey) stdio() survey.AskOpt { return survey.WithStdio(s.in, s.out, s.errw) }

// flushInput drops what was typed before the question (an Enter pressed while the wizard
// waited for the pull), so that it cannot answer it.
func (s *Survey) flushInput() { _ = unix.IoctlSetInt(int(s.in.Fd()), unix.TCFLSH, unix.TCIFLUSH) }

func (s *Survey) ask(question string) (string, error) {
	var a string
	s.flushInput()
	if err := survey.AskOne(&survey.Input{Message: strings.TrimSpace(question)}, &a, s.stdio()); err != nil {
		return "", surveyErr(err)
	}
	return a, nil
}

// Confirm asks by the rule of Confirm (the function).
func (s *Survey) Confirm(question string, w Want) error {
	return Confirm(s.ask, s.out, question, w)
}

// Select asks with an arrow-key list.
func (s *Survey) Select(question string, options []string, def int) (int, error) {
	var i int
	s.flushInput()
	q := &survey.Select{Message: strings.TrimSpace(question), Options: options, Default: options[def]}
	if err := survey.AskOne(q, &i, s.stdio()); err != nil {
		return 0, surveyErr(err)
	}
	return i, nil
}

// YesNo asks a yes/no question.
func (s *Survey) YesNo(question string, def bool) (bool, error) {
	var b bool
	s.flushInput()
	if err := survey.AskOne(&survey.Confirm{Message: strings.TrimSpace(question), Default: def}, &b, s.stdio()); err != nil {
		return false, surveyErr(err)
	}
	return b, nil
}
