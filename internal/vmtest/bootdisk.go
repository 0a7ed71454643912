package vmtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ErrNoMarker: a disk boot ended (timeout, or the machine stopped) without the marker on
// the console: the disk did not boot alone.
var ErrNoMarker = errors.New("vmtest: the boot did not reach the marker")

// defaultBootTimeout is short on purpose: a disk without boot code hangs in the firmware
// rather than failing fast (measured: SeaBIOS and OVMF both wait).
const defaultBootTimeout = 60 * time.Second

// BootConfig is one boot of disk images with no -kernel: firmware, boot code, /boot and
// the kernel all come from the disks, which is what "this disk boots alone" means.
type BootConfig struct {
	// Disks are attached in order (Image required) with snapshot=on: the boot's writes are
	// discarded, so one image can be booted several ways. The first disk is bootindex 1,
	// and -boot strict=on keeps the firmware from trying anything else.
	Disks    []Disk
	Firmware Firmware
	// UEFIVars is the OVMF variable store (kept; the firmware writes to it). Empty with
	// UEFI: a fresh, empty store, so only the removable-media fallback path can boot.
	UEFIVars string
	// Marker is the console line that proves the boot reached the marker initramfs.
	Marker     string
	Timeout    time.Duration // default 60s
	MemoryMB   int           // default 1024
	ConsoleOut io.Writer
}

// BootResult is what a disk boot showed.
type BootResult struct {
	Console  string
	Duration time.Duration // QEMU start to the marker (or to the end)
	Reached  bool
}

// BootDisk boots the disks and waits for the marker. It returns ErrNoMarker (with the
// result, for its console) when the marker did not come.
func BootDisk(ctx context.Context, cfg BootConfig) (*BootResult, error) {
	if len(cfg.Disks) == 0 {
		return nil, errors.New("vmtest: BootDisk needs a disk")
	}
	for _, d := range cfg.Disks {
		if d.Image == "" {
			return nil, fmt.Errorf("vmtest: BootDisk: disk %s has no Image", d.Serial)
		}
		if d.Unplugged {
			return nil, fmt.Errorf("vmtest: BootDisk: disk %s cannot start unplugged", d.Serial)
		}
	}
	if err := validate(&Config{Disks: cfg.Disks, Firmware: cfg.Firmware, MemoryMB: cfg.MemoryMB}); err != nil {
		return nil, err
	}
	if cfg.Marker == "" {
		return nil, errors.New("vmtest: BootDisk needs a Marker")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultBootTimeout
	}
	if cfg.MemoryMB == 0 {
		cfg.MemoryMB = defaultMemoryMB
	}
	qemu, err := findQEMU()
	if err != nil {
		return nil, err
	}
	runDir, err := os.MkdirTemp(tempBase(), "vmboot-")
	if err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	defer os.RemoveAll(runDir)
	vars, err := uefiVarsFor(cfg.Firmware, cfg.UEFIVars, runDir)
	if err != nil {
		return nil, err
	}
	args := []string{
		"-accel", "tcg", "-machine", "pc", "-smp", "1", "-m", fmt.Sprint(cfg.MemoryMB),
		"-nodefaults", "-no-user-config", "-display", "none", "-vga", "none",
		"-serial", "stdio", "-no-reboot", "-boot", "strict=on",
	}
	args = append(args, firmwareArgs(cfg.Firmware, vars)...)
	disks := planDisks(cfg.Disks, runDir)
	args = append(args, controllerArgs(vmPlan{Disks: disks}.buses())...)
	for i, d := range disks {
		args = append(args, "-drive", "if=none,format=raw,snapshot=on,id="+d.Node+",file="+qemuOpt(d.Path),
			"-device", d.deviceArg(fmt.Sprintf("bootindex=%d", i+1)))
	}

	release, err := acquireSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	var console syncBuffer
	cmd := exec.Command(qemu, args...)
	cmd.Stdout = io.Writer(&console)
	if cfg.ConsoleOut != nil {
		cmd.Stdout = io.MultiWriter(&console, cfg.ConsoleOut)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("vmtest: starting qemu: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	res := &BootResult{}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var waitErr error
	exited := false
loop:
	for {
		select {
		case waitErr = <-done:
			exited = true
			break loop
		case <-ctx.Done():
			break loop
		case <-tick.C:
			if strings.Contains(console.String(), cfg.Marker) {
				res.Reached = true
				break loop
			}
		}
	}
	res.Duration = time.Since(start)
	if !exited {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	res.Console = console.String()
	if !res.Reached && strings.Contains(res.Console, cfg.Marker) {
		res.Reached = true
	}
	if res.Reached {
		return res, nil
	}
	why := fmt.Sprintf("after %s", res.Duration.Round(time.Millisecond))
	if exited {
		why = fmt.Sprintf("qemu ended after %s (%v; %s)", res.Duration.Round(time.Millisecond), waitErr, strings.TrimSpace(stderr.String()))
	}
	return res, fmt.Errorf("%w: %s, booting %s%s", ErrNoMarker, why, filepath.Base(cfg.Disks[0].Image), consoleTail(res.Console))
}

// BootDiskT is BootDisk for tests: Require, and the boot logged. It returns the result and
// error so the test decides what a missing marker means.
func BootDiskT(t testing.TB, cfg BootConfig) (*BootResult, error) {
	t.Helper()
	Require(t)
	res, err := BootDisk(t.Context(), cfg)
	if res != nil {
		t.Logf("boot of %s (%s): %.1fs, marker reached: %v", cfg.Disks[0].Serial, firmwareName(cfg.Firmware), res.Duration.Seconds(), res.Reached)
	}
	return res, err
}

func firmwareName(f Firmware) string {
	if f == "" {
		return string(BIOS)
	}
	return string(f)
}

// Assets names the VM kernel files, for tests that install the kernel into a guest's /boot.
func Assets() (kernel string, err error) {
	a, err := findAssets()
	if err != nil {
		return "", err
	}
	return a.BzImage, nil
}
