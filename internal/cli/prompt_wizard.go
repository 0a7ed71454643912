package cli

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/AlecAivazis/survey/v2"
	"github.com/AlecAivazis/survey/v2/terminal"
	"golang.org/x/sys/unix"

	"github.com/raidswap/raidswap/internal/wizard"
)

// wizardPrompter is the wizard's prompter: the one set (tests), the plain line prompter (TERM=dumb, a
// serial console, --plain), or survey's on a capable terminal. The plain one also gives the
// lines typed while the wizard waits (Enter), which survey's raw mode cannot share.
func (f *Factory) wizardPrompter(ctx context.Context, plain bool) (wizard.Prompter, <-chan string) {
	if f.prompter != nil {
		return f.prompter, nil
	}
	if plain {
		p := wizard.NewPlain(ctx, f.IO.In, f.IO.Out)
		return p, p.Lines()
	}
	return &surveyPrompter{}, nil
}

// surveyPrompter asks with survey/v2 on a capable terminal (arrow-key selection). survey
// writes escape codes whatever its output is, so it is used only on a terminal.
type surveyPrompter struct{}

func surveyErr(err error) error {
	if errors.Is(err, terminal.InterruptErr) {
		return wizard.ErrInterrupted
	}
	return err
}

var stdio = survey.WithStdio(os.Stdin, os.Stdout, os.Stderr)

// flushInput drops what was typed before the question (an Enter pressed while the wizard
// waited for the pull), so that it cannot answer it.
func flushInput() { _ = unix.IoctlSetInt(int(os.Stdin.Fd()), unix.TCFLSH, unix.TCIFLUSH) }

func (surveyPrompter) ConfirmTyped(question, want string) error {
	var s string
	flushInput()
	if err := survey.AskOne(&survey.Input{Message: strings.TrimSpace(question)}, &s, stdio); err != nil {
		return surveyErr(err)
	}
	if s = strings.TrimSpace(s); s != want {
		return &wizard.DeclinedError{Typed: s, Want: want}
	}
	return nil
}

func (surveyPrompter) Select(question string, options []string, def int) (int, error) {
	var i int
	flushInput()
	q := &survey.Select{Message: strings.TrimSpace(question), Options: options, Default: options[def]}
	if err := survey.AskOne(q, &i, stdio); err != nil {
		return 0, surveyErr(err)
	}
	return i, nil
}

func (surveyPrompter) YesNo(question string, def bool) (bool, error) {
	var b bool
	flushInput()
	if err := survey.AskOne(&survey.Confirm{Message: strings.TrimSpace(question), Default: def}, &b, stdio); err != nil {
		return false, surveyErr(err)
	}
	return b, nil
}
