package vmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Harness errors. A script that fails is not one of them: that is Result.ExitCode.
var (
	// ErrTimeout: the VM ran past Config.Timeout (or the context ended); QEMU was killed.
	ErrTimeout = errors.New("vmtest: VM timed out")
	// ErrNoResult: QEMU ended without the script having finished (boot failure, guest
	// panic, or the script powered the VM off itself).
	ErrNoResult = errors.New("vmtest: VM ended without a script result")
)

// shutdownGrace is how long the guest gets to power itself off after the script ended.
const shutdownGrace = 20 * time.Second

// Available says why VMs cannot run here (qemu or assets missing), or nil.
func Available() error {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return fmt.Errorf("vmtest needs linux/amd64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	if os.Geteuid() != 0 {
		return errors.New("vmtest needs root: the host's / is exported to the guest with 9p passthrough")
	}
	if _, err := findQEMU(); err != nil {
		return err
	}
	if _, err := findAssets(); err != nil {
		return err
	}
	return nil
}

// Require skips the test with the reason from Available, except under CI=true where it fails it.
func Require(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("VM tests cannot run: %v", err)
		}
		t.Skipf("VM tests cannot run: %v", err)
	}
}

// RunT is Run for tests: Require, logs Console on failure, fails the test if the harness fails.
// Share defaults to a t.TempDir.
func RunT(t testing.TB, cfg Config) *Result {
	t.Helper()
	Require(t)
	if cfg.Share == "" {
		cfg.Share = t.TempDir()
	}
	res, err := Run(t.Context(), cfg)
	if res != nil {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("VM console:\n%s", res.Console)
				t.Logf("VM script output (exit %d):\n%s", res.ExitCode, res.Output)
			}
		})
	}
	if err != nil {
		t.Fatalf("VM run failed: %v", err)
	}
	t.Logf("VM: boot-to-script %.1fs, total %.1fs, exit %d", res.Boot.Seconds(), res.Duration.Seconds(), res.ExitCode)
	return res
}

// Run boots a VM, runs cfg.Script, powers off, and returns. Errors only for harness failures
// (boot failed, timeout); a non-zero script exit is Result.ExitCode. With an error, the Result
// (when not nil) still carries Console and Output for diagnosis.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := validate(&cfg); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.MemoryMB == 0 {
		cfg.MemoryMB = defaultMemoryMB
	}
	if cfg.Dir == "" {
		cfg.Dir = GuestShare
	}
	qemu, err := findQEMU()
	if err != nil {
		return nil, err
	}
	a, err := findAssets()
	if err != nil {
		return nil, err
	}

	runDir, err := os.MkdirTemp(tempBase(), "vmtest-")
	if err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	defer os.RemoveAll(runDir)
	if cfg.Share == "" {
		if cfg.Share, err = os.MkdirTemp("", "vmtest-share-"); err != nil {
			return nil, fmt.Errorf("vmtest: %w", err)
		}
	}
	if cfg.Share, err = filepath.Abs(cfg.Share); err != nil {
		return nil, err
	}
	p := vmPlan{
		QEMU: qemu, Assets: a, RunDir: runDir,
		Control: filepath.Join(runDir, "ctl"), Share: cfg.Share,
		QMP: filepath.Join(runDir, "qmp.sock"), MemoryMB: cfg.MemoryMB,
		Disks: planDisks(cfg.Disks, runDir), Firmware: cfg.Firmware,
	}
	if p.UEFIVars, err = uefiVarsFor(cfg.Firmware, cfg.UEFIVars, runDir); err != nil {
		return nil, err
	}
	if err := checkModules(a, p.guestModules()); err != nil {
		return nil, err
	}
	if err := prepare(p, cfg); err != nil {
		return nil, err
	}
	release, err := acquireSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return boot(ctx, p, cfg)
}

// tempBase is where per-run dirs (with the disk images) go: memory, when there is /dev/shm.
func tempBase() string {
	if d := os.Getenv("VMTEST_TMPDIR"); d != "" {
		return d
	}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// prepare writes the disk images and the control dir.
func prepare(p vmPlan, cfg Config) error {
	for _, d := range p.Disks {
		if d.Image != "" {
			continue
		}
		f, err := os.OpenFile(d.Path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("vmtest: disk %s: %w", d.Serial, err)
		}
		err = f.Truncate(d.SizeBytes)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("vmtest: disk %s: %w", d.Serial, err)
		}
	}
	env := map[string]string{"RAIDSWAP_IN_VM": "1", "VMTEST_SHARE": GuestShare}
	for k, v := range cfg.Env {
		env[k] = v
	}
	files := []struct {
		name string
		body string
		mode os.FileMode
	}{
		{"stage2", stage2(!cfg.NoUdev, cfg.Dir, p.guestModules()), 0o755},
		{"disks", bootSerials(p.Disks), 0o644},
		{"bin/vmtest-disk", diskHelper, 0o755},
		{"script", cfg.Script, 0o644},
		{"env", envFile(env), 0o644},
		{"bin/vmtest-hotplug", hotplugHelper, 0o755},
	}
	for _, dir := range []string{"bin", "req"} {
		if err := os.MkdirAll(filepath.Join(p.Control, dir), 0o755); err != nil {
			return fmt.Errorf("vmtest: %w", err)
		}
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(p.Control, f.name), []byte(f.body), f.mode); err != nil {
			return fmt.Errorf("vmtest: %w", err)
		}
	}
	return nil
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// boot runs QEMU until the script's exit file appears and the guest powers off, or until the
// timeout. QEMU runs in its own process group, which is killed whenever it is still there.
func boot(ctx context.Context, p vmPlan, cfg Config) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	var console syncBuffer
	var stderr syncBuffer
	cmd := exec.Command(p.QEMU, qemuArgs(p)...)
	cmd.Stdin = nil
	cmd.Stdout = io.Writer(&console)
	if cfg.ConsoleOut != nil {
		cmd.Stdout = io.MultiWriter(&console, cfg.ConsoleOut)
	}
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	res := &Result{Share: p.Share}
	start := time.Now()
	// Pdeathsig follows the thread that forked: keep it alive for QEMU's lifetime.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("vmtest: starting qemu: %w", err)
	}
	pid := cmd.Process.Pid

	// exited is closed once QEMU has exited but before it is reaped, so the process group
	// id cannot have been reused while we may still signal it.
	exited := make(chan struct{})
	go func() {
		var info unix.Siginfo
		for {
			err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
			if err != unix.EINTR {
				break
			}
		}
		close(exited)
	}()
	var killOnce sync.Once
	kill := func() {
		killOnce.Do(func() { syscall.Kill(-pid, syscall.SIGKILL) })
	}

	hp := newHotplug(p)
	defer hp.close()
	exitFile := filepath.Join(p.Control, "exit")
	startedFile := filepath.Join(p.Control, "started")
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var harnessErr error
	var scriptDone time.Time
loop:
	for {
		select {
		case <-exited:
			break loop
		case <-ctx.Done():
			harnessErr = fmt.Errorf("%w after %s (%v)", ErrTimeout, time.Since(start).Round(time.Millisecond), context.Cause(ctx))
			kill()
			<-exited
			break loop
		case <-tick.C:
			hp.poll()
			if scriptDone.IsZero() {
				if _, err := os.Stat(exitFile); err == nil {
					scriptDone = time.Now()
				}
			} else if time.Since(scriptDone) > shutdownGrace {
				// The result is in; a guest that does not power off is not the script's fault.
				kill()
				<-exited
				break loop
			}
		}
	}
	kill()
	waitErr := cmd.Wait()
	res.Duration = time.Since(start)
	res.Console = console.String()
	if st, err := os.Stat(startedFile); err == nil {
		res.Boot = st.ModTime().Sub(start)
	}
	if b, err := os.ReadFile(filepath.Join(p.Control, "output")); err == nil {
		res.Output = string(b)
	}
	if harnessErr != nil {
		return res, harnessErr
	}
	b, err := os.ReadFile(exitFile)
	if err != nil {
		return res, fmt.Errorf("%w (qemu: %v; %s)%s", ErrNoResult, waitErr, strings.TrimSpace(stderr.String()), consoleTail(res.Console))
	}
	res.ExitCode, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return res, fmt.Errorf("vmtest: bad exit file %q: %w", b, err)
	}
	return res, nil
}

// consoleTail is the end of the console, for error messages.
func consoleTail(c string) string {
	lines := strings.Split(strings.TrimRight(c, "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "\nconsole tail:\n" + strings.Join(lines, "\n")
}

// bootSerials lists the serials of the disks attached at boot, one a line: stage2 waits
// for each of them.
func bootSerials(disks []diskPlan) string {
	var b strings.Builder
	for _, d := range disks {
		if !d.Unplugged {
			b.WriteString(d.Serial + "\n")
		}
	}
	return b.String()
}
