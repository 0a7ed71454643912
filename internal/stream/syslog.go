package stream

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// DefaultSyslog is the local syslog socket (journald listens on it too).
const DefaultSyslog = "/dev/log"

// Syslog facility (daemon) and each level's priority.
const facilityDaemon = 3 << 3

var syslogPrio = map[Level]int{Info: 6, Warning: 4, Error: 3, Critical: 2}

// Syslog is the sink of the local syslog socket at socket (a path on the system the caller
// reads: the hook's tests give one below a temporary root). It keeps md's events, the run's
// start, resume, refusals, failures, step ends and finish, and any record at Warning or
// above; one line each, prefixed with prefix ("plan 4f2a…: "). A socket that is not there
// (no /dev/log, as in a VM without a syslog) is no error.
func Syslog(socket, prefix string) Sink { return syslogSink{socket, prefix} }

type syslogSink struct{ socket, prefix string }

// syslogKinds are the kinds syslog keeps at every level.
var syslogKinds = map[Kind]bool{
	Plan: true, Resume: true, Stale: true, Done: true, Skipped: true, Refused: true,
	Failed: true, Interrupted: true, Raced: true, Finished: true, MDEvent: true,
}

func (s syslogSink) Put(rec Record) error {
	switch rec.Kind {
	case Recalled, Waiting, Rebuild:
		return nil
	}
	if !syslogKinds[rec.Kind] && rec.Level < Warning {
		return nil
	}
	msg := message(rec)
	if rec.Step != "" {
		msg = "step " + rec.Step + ": " + msg
	}
	if rec.Err != nil {
		msg += ": " + rec.Err.Error()
	}
	if rec.MD != nil && len(rec.MD.Problems) > 0 {
		msg += "; problems: " + strings.Join(rec.MD.Problems, "; ")
	}
	err := sendSyslog(s.socket, syslogPrio[rec.Level], s.prefix+msg)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("syslog: %w", err)
	}
	return nil
}

// syslogBound is how long a full syslog socket is waited for: a wedged syslog must not hold
// up mdadm for long, and a busy one (a burst of events) must still get every line.
const syslogBound = 5 * time.Second

// sendSyslog sends one message to the local syslog socket (journald's /dev/log), in the
// format the C library's syslog(3) uses. The datagram is always tried at least once, however
// late this process got the CPU; only a socket whose queue stays full is waited for, up to
// syslogBound. A missing socket is an error wrapping os.ErrNotExist.
func sendSyslog(socket string, prio int, msg string) error {
	if _, err := os.Stat(socket); err != nil {
		return err
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	msg = strings.ReplaceAll(msg, "\n", " ")
	b := []byte(fmt.Sprintf("<%d>%s raidswap[%d]: %s", facilityDaemon|prio, time.Now().Format(time.Stamp), os.Getpid(), msg))
	to := &syscall.SockaddrUnix{Name: socket}
	deadline := time.Now().Add(syslogBound)
	for {
		err := syscall.Sendto(fd, b, syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, to)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.ENOBUFS) && !errors.Is(err, syscall.EINTR):
			return fmt.Errorf("%s: %w", socket, err)
		case time.Now().After(deadline):
			return fmt.Errorf("%s: its queue stayed full for %s", socket, syslogBound)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
