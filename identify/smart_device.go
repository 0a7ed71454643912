package identify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	smart "github.com/anatol/smart.go"

	"github.com/raidswap/raidswap/internal/host"
)

// This file reads SMART from devices, through smart.go, behind the SMARTReader seam.

// SMARTReader reads one whole disk's SMART health. Discovery calls it for every present
// disk; tests give it recorded pages instead of devices.
type SMARTReader interface {
	// ReadSMART never fails: what it cannot read it says in Health (unavailable, unknown).
	ReadSMART(ctx context.Context, name string) Health
}

// DefaultSMARTTimeout bounds one disk's SMART read. A disk that does not answer in time is
// "unknown" and the read is abandoned, so a hung disk cannot hang `raidswap status`.
const DefaultSMARTTimeout = 3 * time.Second

// DeviceSMART reads SMART from /dev/NAME under Root, read-only, with smart.go: ATA through
// SCSI/ATA translation (SATA disks behind libata, and SAT bridges), NVMe through the admin
// passthrough. Nothing is written: the commands are IDENTIFY, SMART READ DATA, SMART READ
// THRESHOLDS and GET LOG PAGE 02h. Reading SMART wakes a disk in standby.
type DeviceSMART struct {
	Root *host.Root
	// Timeout bounds each disk's read (DefaultSMARTTimeout when 0).
	Timeout time.Duration
}

// ReadSMART reads the disk's health, or says why it could not within the timeout.
func (d DeviceSMART) ReadSMART(ctx context.Context, name string) Health {
	if strings.ContainsAny(name, "/\x00") || name == "" || name == "." || name == ".." {
		return unknown("", "%q is not a kernel disk name", name)
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultSMARTTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	path := d.Root.Path("/dev/" + name)
	// A hung device holds its ioctl in the kernel; the goroutine is abandoned to it (it
	// ends with the device's own command timeout, or with the process).
	done := make(chan Health, 1)
	go func() { done <- readDevice(path) }()
	select {
	case h := <-done:
		return h
	case <-ctx.Done():
		return unknown("", "the SMART read of /dev/%s did not finish within %s", name, timeout)
	}
}

// readDevice opens the device with smart.go and reads and judges its record.
func readDevice(path string) Health {
	var dev smart.Device
	var err error
	if strings.HasPrefix(filepath.Base(path), "nvme") {
		// smart.Open would first IDENTIFY the controller and every namespace it may have
		// (256 on QEMU's: 0.2 s under TCG); the health log needs none of that.
		dev, err = smart.OpenNVMe(path)
	} else {
		dev, err = smart.Open(path)
	}
	if err != nil {
		return openError(path, err)
	}
	defer dev.Close()
	switch t := dev.(type) {
	case *smart.SataDevice:
		return readATA(t)
	case *smart.NVMeDevice:
		l, err := t.ReadSMART()
		if err != nil {
			return unknown("nvme", "reading the NVMe health log of %s: %v", path, err)
		}
		return judgeNVMe(l)
	default:
		return unavailable("%s answers as a %s device; raidswap reads SMART from ATA and NVMe disks only", path, dev.Type())
	}
}

func readATA(d *smart.SataDevice) Health {
	page, err := d.ReadSMARTData()
	if err != nil {
		return unknown("ata", "SMART READ DATA failed (SMART disabled, or the disk did not answer): %v", err)
	}
	var attrs []ataAttr
	for _, a := range page.Attrs {
		attrs = append(attrs, ataAttr{id: a.Id, flags: a.Flags, current: a.Current, worst: a.Worst, vendor: a.VendorBytes, name: a.Name, typ: a.Type})
	}
	var thr map[uint8]uint8
	t, thrErr := d.ReadSMARTThresholds()
	if thrErr == nil {
		thr = t.Thresholds
	} else {
		thrErr = fmt.Errorf("SMART READ THRESHOLDS failed: %w", thrErr)
	}
	return judgeATA(attrs, thr, thrErr)
}

// unavailableErrnos are what a block device without SMART passthrough answers (virtio-blk,
// loop, zram, device-mapper): the ioctl is not for it.
var unavailableErrnos = []syscall.Errno{syscall.ENOTTY, syscall.EINVAL, syscall.EOPNOTSUPP, syscall.ENOSYS, syscall.ENXIO}

func openError(path string, err error) Health {
	switch {
	case errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		e := syscall.EACCES
		if errors.Is(err, syscall.EPERM) {
			e = syscall.EPERM
		}
		hint := "SMART is read as root"
		if os.Geteuid() == 0 {
			hint = "denied to root: a container or security policy keeps raw device commands out"
		}
		h := unknown("", "%s could not be opened: %v (%s)", path, e, hint)
		h.Denied = true
		return h
	case errors.Is(err, syscall.ENOENT):
		return unknown("", "%s does not exist (no device node to read SMART through)", path)
	}
	for _, e := range unavailableErrnos {
		if errors.Is(err, e) {
			return unavailable("the device answers no SMART command: %v", e)
		}
	}
	return unknown("", "%s answered no SMART command: %v", path, err)
}
