package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/raidswap/raidswap/internal/progress"
	"github.com/raidswap/raidswap/internal/prompt"
	"github.com/raidswap/raidswap/internal/view"
)

// signalHelperEnv makes the test binary a front end on a terminal (signalFrontEnd) instead
// of running the tests: TestStopSignalsOnPty starts it on a pseudo-terminal.
const signalHelperEnv = "RAIDSWAP_SIGNAL_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(signalHelperEnv); mode != "" {
		os.Exit(signalFrontEnd(mode))
	}
	os.Exit(m.Run())
}

// signalFrontEnd is a front end at one of the points a stop signal can reach it, wired as
// the commands are (stopOnSignals): a survey prompt in raw mode (which the context does not
// reach), the wizard's plain prompt, a wait with progress bars drawing, and a step stuck
// while bars draw (as the run was in issue 18).
func signalFrontEnd(mode string) int {
	err := func() error {
		ctx, stop := stopOnSignals(context.Background(), os.Stderr, resumeHint)
		defer stop()
		switch mode {
		case "confirm-survey", "confirm-plain":
			// The Factory's wizard prompter on the process's own streams (issue 19: survey
			// read os.Stdin itself): the confirmation rule on a real terminal.
			f := &Factory{IO: &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, Interactive: true}}
			p, _ := f.wizardPrompter(ctx, mode == "confirm-plain")
			if err := p.Confirm("READY: type its last 4 characters: ", prompt.Want{Answer: "B002", Keep: []string{"WD-WCC4N1KPA001"}}); err != nil {
				return WithCode(ExitRefused, err)
			}
			fmt.Println("CONFIRMED")
			os.Exit(ExitOK)
		case "survey":
			_, err := prompt.NewSurvey(os.Stdin, os.Stdout, os.Stderr).YesNo("READY: go ahead?", false)
			return err
		case "plain":
			_, err := prompt.NewPlain(ctx, os.Stdin, os.Stdout).YesNo("READY: go ahead?", false)
			if se := stoppedBy(ctx); se != nil {
				return interruptedError(se)
			}
			return err
		case "bars", "stuck":
			run := view.NewRun(os.Stdout, true)
			defer run.Close()
			go func() {
				for i := 0; ; i = (i + 1) % 100 {
					run.Rebuild([]progress.Array{{Array: "md0", State: "rebuilding", Percent: float64(i)}, {Array: "md1", State: "waiting"}})
					time.Sleep(5 * time.Millisecond)
				}
			}()
			run.Say("READY: waiting for md0 to rebuild")
			if mode == "stuck" {
				select {} // a step that never sees the context
			}
			<-ctx.Done()
			return interruptedError(stoppedBy(ctx))
		}
		return fmt.Errorf("unknown mode %q", mode)
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "raidswap:", err)
	}
	return exitCode(err)
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// openPty opens a 100x30 pseudo-terminal, closed when the test ends (skips without one).
func openPty(t *testing.T) (ptm, tty *os.File) {
	t.Helper()
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptm.Close(); tty.Close() })
	_ = pty.Setsize(ptm, &pty.Winsize{Rows: 30, Cols: 100})
	return ptm, tty
}

// startFrontEnd starts the test binary as the front end mode on the terminal tty.
func startFrontEnd(t *testing.T, self, mode string, tty *os.File) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), signalHelperEnv+"="+mode, "TERM=xterm-256color")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestConfirmOnPty: the wizard's prompters (survey and plain) on a pseudo-terminal follow
// the one confirmation rule: the survivor's last 4 typed is called the disk to KEEP and asked
// again, an empty line asks again, the right answer in lower case goes ahead; three wrong
// answers end with the declined exit code, never showing the expected answer.
func TestConfirmOnPty(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		mode  string
		typed []string
		code  int
		shows []string
	}{
		{mode: "confirm-survey", typed: []string{"a001", "", "b002"}, code: ExitOK, shows: []string{"that is the disk you must KEEP", "nothing typed", "CONFIRMED"}},
		{mode: "confirm-plain", typed: []string{"a001", "", "b002"}, code: ExitOK, shows: []string{"that is the disk you must KEEP", "nothing typed", "CONFIRMED"}},
		{mode: "confirm-plain", typed: []string{"x", "y", "z"}, code: ExitRefused, shows: []string{"try 3 of 3", "3 answers did not match"}},
	} {
		t.Run(fmt.Sprintf("%s-%s", tt.mode, strings.Join(tt.typed, ",")), func(t *testing.T) {
			ptm, tty := openPty(t)
			cmd := startFrontEnd(t, self, tt.mode, tty)
			var screen lockedBuf
			go func() {
				// survey asks the terminal where the cursor is (ESC[6n): answer as one would.
				buf := make([]byte, 4096)
				for {
					n, err := ptm.Read(buf)
					if n > 0 {
						_, _ = screen.Write(buf[:n])
						for i := strings.Count(string(buf[:n]), "\x1b[6n"); i > 0; i-- {
							_, _ = ptm.Write([]byte("\x1b[1;1R"))
						}
					}
					if err != nil {
						return
					}
				}
			}()
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			// Each answer is typed once the question is on screen again (survey drops what
			// was typed before it asks, and shows each question twice: asked, then answered).
			per := 1
			if tt.mode == "confirm-survey" {
				per = 2
			}
			for i, a := range tt.typed {
				deadline := time.After(hangBound)
				for strings.Count(screen.String(), "READY") <= per*i {
					select {
					case <-deadline:
						_ = cmd.Process.Kill()
						t.Fatalf("question %d never shown:\n%s", i+1, screen.String())
					case err := <-exited:
						t.Fatalf("ended early (%v):\n%s", err, screen.String())
					case <-time.After(10 * time.Millisecond):
					}
				}
				if _, err := ptm.Write([]byte(a + "\r")); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case <-exited:
			case <-time.After(hangBound):
				_ = cmd.Process.Kill()
				t.Fatalf("still asking:\n%s", screen.String())
			}
			done := func() bool { return strings.Contains(screen.String(), tt.shows[len(tt.shows)-1]) }
			for wait := time.Now().Add(5 * time.Second); !done() && time.Now().Before(wait); {
				time.Sleep(20 * time.Millisecond)
			}
			out := screen.String()
			if got := cmd.ProcessState.ExitCode(); got != tt.code {
				t.Errorf("exit %d, want %d:\n%s", got, tt.code, out)
			}
			for _, w := range tt.shows {
				if !strings.Contains(out, w) {
					t.Errorf("no %q on screen:\n%s", w, out)
				}
			}
			if strings.Contains(strings.ToUpper(out), "B002") && tt.code != ExitOK {
				t.Errorf("the expected answer was shown:\n%s", out)
			}
		})
	}
}

// TestStopSignalsOnPty (issue 18): on a pseudo-terminal, a stop signal at a prompt (raw-mode
// survey, plain), during a wait with bars drawing, and with a step stuck under the bars ends
// the front end with the signal's exit code and the resume hint, and leaves the terminal as
// it was (not raw). The bars are drawn on the terminal before the signal. Ctrl-C is typed (the terminal sends SIGINT), SIGTERM and SIGHUP are sent
// with kill. The bound is a hang detector; the times are logged.
func TestStopSignalsOnPty(t *testing.T) {
	tests := []struct {
		mode   string
		ctrlC  bool
		sig    syscall.Signal
		code   int
		forced bool // ended by stopOnSignals, the front end being stuck
	}{
		{mode: "survey", sig: syscall.SIGTERM, code: 143, forced: true},
		{mode: "plain", ctrlC: true, sig: syscall.SIGINT, code: 130},
		{mode: "plain", sig: syscall.SIGHUP, code: 129},
		{mode: "bars", ctrlC: true, sig: syscall.SIGINT, code: 130},
		{mode: "bars", sig: syscall.SIGTERM, code: 143},
		{mode: "stuck", ctrlC: true, sig: syscall.SIGINT, code: 130, forced: true},
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s-%s", tt.mode, tt.sig), func(t *testing.T) {
			ptm, tty := openPty(t)
			before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			cmd := startFrontEnd(t, self, tt.mode, tty)
			var screen lockedBuf
			go func() { _, _ = io.Copy(&screen, ptm) }()
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			ready := []string{"READY"}
			if tt.mode == "bars" || tt.mode == "stuck" {
				// mpb draws on the terminal: md1's bar and its text.
				ready = append(ready, "md1", "waiting (md rebuilds one array at a time)")
			}
			shows := func() bool {
				for _, s := range ready {
					if !strings.Contains(screen.String(), s) {
						return false
					}
				}
				return true
			}
			deadline := time.After(hangBound)
			for !shows() {
				select {
				case <-deadline:
					_ = cmd.Process.Kill()
					t.Fatalf("the front end never got ready:\n%s", screen.String())
				case err := <-exited:
					t.Fatalf("the front end ended early (%v):\n%s", err, screen.String())
				case <-time.After(10 * time.Millisecond):
				}
			}
			start := time.Now()
			if tt.ctrlC {
				_, err = ptm.Write([]byte{0x03})
			} else {
				err = cmd.Process.Signal(tt.sig)
			}
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-time.After(hangBound):
				_ = cmd.Process.Kill()
				t.Fatalf("still running %s after %s:\n%s", tt.sig, hangBound, screen.String())
			}
			took := time.Since(start)
			hint := func(out string) bool {
				return strings.Contains(out, "`raidswap resume` continues the replacement") && strings.Contains(out, "raidswap: interrupted ("+signalName(tt.sig)+")")
			}
			// The last output still crosses the pty after the exit; under load that takes a
			// while: wait for it (bounded), rather than a fixed sleep that a busy machine outruns.
			for wait := time.Now().Add(5 * time.Second); !hint(screen.String()) && time.Now().Before(wait); {
				time.Sleep(20 * time.Millisecond)
			}
			out := screen.String()
			t.Logf("%s at %s: ended in %s with exit %d", tt.sig, tt.mode, took.Round(time.Millisecond), cmd.ProcessState.ExitCode())
			if got := cmd.ProcessState.ExitCode(); got != tt.code {
				t.Errorf("exit %d, want %d:\n%s", got, tt.code, out)
			}
			if !hint(out) {
				t.Errorf("no resume hint naming %s:\n%s", signalName(tt.sig), out)
			}
			after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			if after.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != before.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) {
				t.Errorf("the terminal was left changed: lflag %#x, was %#x", after.Lflag, before.Lflag)
			}
		})
	}
}

// hangBound is a hang detector, not a timing assertion.
const hangBound = 20 * time.Second
