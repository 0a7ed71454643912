package cli

import (
	"context"

	"github.com/AlecAivazis/survey/v2/terminal"

	"github.com/raidswap/raidswap/internal/prompt"
)

// Prompter returns the Factory's prompter: the one set, or the line prompter reading IO.In.
// Commands ask only through it, so that tests (and the drill) answer with a fake.
func (f *Factory) Prompter() prompt.Prompter {
	if f.prompter == nil {
		f.prompter = prompt.NewPlain(context.Background(), f.IO.In, f.IO.Out)
	}
	return f.prompter
}

// SetPrompter makes every question go to p.
func (f *Factory) SetPrompter(p prompt.Prompter) { f.prompter = p }

// wizardPrompter is the wizard's prompter: the one set (tests), the plain line prompter
// (TERM=dumb, a serial console, --plain, streams that are not a terminal), or survey's on a
// capable terminal, on the Factory's streams. The plain one also gives the lines typed while
// the wizard waits (Enter), which survey's raw mode cannot share.
func (f *Factory) wizardPrompter(ctx context.Context, plain bool) (prompt.Prompter, <-chan string) {
	if f.prompter != nil {
		return f.prompter, nil
	}
	in, iok := f.IO.In.(terminal.FileReader)
	out, ook := f.IO.Out.(terminal.FileWriter)
	errw, eok := f.IO.ErrOut.(terminal.FileWriter)
	if plain || !iok || !ook || !eok {
		p := prompt.NewPlain(ctx, f.IO.In, f.IO.Out)
		return p, p.Lines()
	}
	return prompt.NewSurvey(in, out, errw), nil
}
