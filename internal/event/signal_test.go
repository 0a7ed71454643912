package event_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/testbin"
)

// TestSignalEndsEventLogged (issue 18): `raidswap event` stopped by SIGTERM while discovery
// waits on a file (here a FIFO where the kernel's hostname is read) still writes its one
// audit line, saying it gave up, and leaves no temporary file.
func TestSignalEndsEventLogged(t *testing.T) {
	in, err := os.Open(filepath.Join("..", "discover", "testdata", "fixtures", "failed.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dir := t.TempDir()
	if _, err := capture.Unpack(in, dir); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "proc", "sys", "kernel", "hostname")
	if err := os.MkdirAll(filepath.Dir(fifo), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(fifo)
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testbin.Raidswap(t), "--root", dir, "event", "--syslog", "-", "--timeout", "1h", "Fail", "/dev/md0", "/dev/vdb2")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Opening the FIFO for writing returns once raidswap has opened it to read: it is then
	// inside discovery, past setting up its signal handling.
	opened := make(chan *os.File, 1)
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
		}
		opened <- w
	}()
	var w *os.File
	select {
	case w = <-opened:
	case err := <-exited:
		t.Fatalf("raidswap exited before reading the FIFO: %v\n%s", err, out.String())
	}
	defer w.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = <-exited
	// Killed by the signal, the exit code would be -1: raidswap ends on its own, failed.
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() <= 0 {
		t.Errorf("exit %v, want an exit code of raidswap's own (the event failed):\n%s", err, out.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "var", "lib", "raidswap", "audit.jsonl"))
	if err != nil {
		t.Fatalf("no audit log after SIGTERM: %v\n%s", err, out.String())
	}
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "gave up after") {
		t.Errorf("audit log after SIGTERM:\n%s", b)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "var", "lib", "prometheus", "node-exporter", ".raidswap.prom.*"))
	if len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}
