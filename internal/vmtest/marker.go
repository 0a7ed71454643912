package vmtest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// busybox is busybox-static's binary: the marker initramfs's only program.
const busybox = "/bin/busybox"

// WriteMarkerInitramfs writes an uncompressed newc initramfs to path whose /init prints
// marker on the console and powers the machine off. A boot proof installs it (with the VM
// kernel, Assets().BzImage) in the guest's /boot; reaching the marker under BootDisk shows
// that firmware, boot code and /boot worked from that disk. The marker must be one line
// of printable ASCII.
func WriteMarkerInitramfs(path, marker string) error {
	if marker == "" || strings.ContainsFunc(marker, func(r rune) bool { return r < 0x20 || r > 0x7e || r == '\'' }) {
		return fmt.Errorf("vmtest: marker %q must be one line of printable ASCII without quotes", marker)
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("vmtest: the marker initramfs needs busybox-static: %w", err)
	}
	init := "#!/bin/busybox sh\n" +
		"/bin/busybox mount -t proc proc /proc\n" +
		"/bin/busybox echo '" + marker + "'\n" +
		"/bin/busybox echo \"vmtest-marker cmdline: $(/bin/busybox cat /proc/cmdline)\"\n" +
		"/bin/busybox sync\n" +
		"/bin/busybox poweroff -f\n"
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	w := bufio.NewWriter(f)
	c := cpioWriter{w: w}
	for _, e := range []cpioEntry{
		{name: ".", mode: 0o40755},
		{name: "bin", mode: 0o40755},
		{name: "dev", mode: 0o40755},
		{name: "proc", mode: 0o40755},
		// The kernel opens /dev/console for init's stdio before anything can mount devtmpfs.
		{name: "dev/console", mode: 0o20600, rdevMajor: 5, rdevMinor: 1},
		{name: "bin/busybox", mode: 0o100755, data: bb},
		{name: "init", mode: 0o100755, data: []byte(init)},
	} {
		c.write(e)
	}
	c.write(cpioEntry{name: "TRAILER!!!"})
	if c.err == nil {
		c.err = w.Flush()
	}
	if cerr := f.Close(); c.err == nil {
		c.err = cerr
	}
	if c.err != nil {
		return fmt.Errorf("vmtest: writing %s: %w", filepath.Base(path), c.err)
	}
	return nil
}

type cpioEntry struct {
	name                 string
	mode                 uint32
	rdevMajor, rdevMinor uint32
	data                 []byte
}

// cpioWriter writes the "newc" format the kernel unpacks (Documentation/driver-api/early-userspace).
type cpioWriter struct {
	w   *bufio.Writer
	ino uint32
	err error
}

func (c *cpioWriter) write(e cpioEntry) {
	if c.err != nil {
		return
	}
	c.ino++
	name := e.name + "\x00"
	nlink := 1
	if e.mode&0o170000 == 0o40000 {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.ino, e.mode, 0, 0, nlink, 0, len(e.data), 0, 0, e.rdevMajor, e.rdevMinor, len(name), 0)
	if _, c.err = c.w.WriteString(hdr + name); c.err != nil {
		return
	}
	c.pad(len(hdr) + len(name))
	if _, c.err = c.w.Write(e.data); c.err != nil {
		return
	}
	c.pad(len(e.data))
}

func (c *cpioWriter) pad(n int) {
	if c.err == nil && n%4 != 0 {
		_, c.err = c.w.Write(make([]byte, 4-n%4))
	}
}
