package event

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Syslog priorities (facility daemon) of mdadm's events.
const (
	facilityDaemon = 3 << 3
	prioCrit       = 2
	prioWarning    = 4
	prioInfo       = 6
)

// sendSyslog sends one message to the local syslog socket (journald's /dev/log), in the
// format the C library's syslog(3) uses. It waits at most a second: a wedged syslog must not
// hold up mdadm. A missing socket is an error wrapping os.ErrNotExist.
func sendSyslog(socket string, prio int, msg string) error {
	if _, err := os.Stat(socket); err != nil {
		return err
	}
	c, err := net.DialTimeout("unixgram", socket, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetWriteDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	msg = strings.ReplaceAll(msg, "\n", " ")
	_, err = fmt.Fprintf(c, "<%d>%s raidswap[%d]: %s", facilityDaemon|prio, time.Now().Format(time.Stamp), os.Getpid(), msg)
	return err
}
