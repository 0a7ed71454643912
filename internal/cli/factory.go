// Package cli holds raidswap's commands. Each command is an Options struct, a constructor that
// wires flags, and a run function; IO streams, the Root and the Runner are injected through
// Factory so every command runs in tests without a TTY. Commands gather input and render
// output; they never write to a disk themselves.
package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/mattn/go-isatty"

	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/paths"
	"github.com/raidswap/raidswap/internal/prompt"
)

// IOStreams are the command's standard streams.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// Interactive is true when stdin and stdout are terminals.
	Interactive bool
}

// SystemIO returns the process's own streams.
func SystemIO() *IOStreams {
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		Interactive: isatty.IsTerminal(os.Stdin.Fd()) && isatty.IsTerminal(os.Stdout.Fd()),
	}
}

// Factory carries what commands share. RootDir is the global --root flag.
type Factory struct {
	IO      *IOStreams
	RootDir string
	// NewRunner returns the Runner for external commands. With --root set it refuses every
	// command: a capture is read, never acted on.
	NewRunner func() host.Runner
	// KeyPath is the host's plan key (paths.Host's when empty; tests move it).
	KeyPath string
	// prompter asks the operator (see Prompter).
	prompter prompt.Prompter
}

// Env is the engine for a command, reading through root.
func (f *Factory) Env(root *host.Root) *engine.Env {
	return &engine.Env{Root: root, Runner: f.Runner(), Version: Version, Paths: paths.Paths{Key: f.KeyPath}, Notes: f.IO.ErrOut}
}

// Root returns the Root for discovery.
func (f *Factory) Root() *host.Root { return host.NewRoot(f.RootDir) }

// Live reports whether the command acts on the running system, not on a capture (--root):
// the one answer every command asks (the Root's own rule, so "/./" is live too).
func (f *Factory) Live() bool { return f.Root().IsLive() }

// Runner returns the Runner, or one that refuses everything when --root is set.
func (f *Factory) Runner() host.Runner {
	if !f.Live() {
		return host.NoRunner{Reason: "--root reads a captured tree; no command runs"}
	}
	if f.NewRunner != nil {
		return f.NewRunner()
	}
	return host.ExecRunner{}
}

// DiscoveryRoot returns the Root to discover from: "/" by default, the --root directory, or a
// capture file unpacked into a temporary directory that cleanup removes.
func (f *Factory) DiscoveryRoot() (*host.Root, func(), error) {
	noop := func() {}
	if f.Live() {
		return host.NewRoot("/"), noop, nil
	}
	fi, err := os.Stat(f.RootDir)
	if err != nil {
		return nil, noop, fmt.Errorf("--root %s: %w", f.RootDir, err)
	}
	if fi.IsDir() {
		return host.NewRoot(f.RootDir), noop, nil
	}
	in, err := os.Open(f.RootDir)
	if err != nil {
		return nil, noop, fmt.Errorf("--root %s: %w", f.RootDir, err)
	}
	defer in.Close()
	dir, err := os.MkdirTemp("", "raidswap-capture-")
	if err != nil {
		return nil, noop, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	if _, err := capture.Unpack(in, dir); err != nil {
		cleanup()
		return nil, noop, fmt.Errorf("--root %s: %w", f.RootDir, err)
	}
	return host.NewRoot(dir), cleanup, nil
}
