package event

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// Syslog priorities (facility daemon) of mdadm's events.
const (
	facilityDaemon = 3 << 3
	prioCrit       = 2
	prioWarning    = 4
	prioInfo       = 6
)

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
