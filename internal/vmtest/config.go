package vmtest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Disk is one virtio-blk disk of the guest.
type Disk struct {
	Serial            string // qemu serial= ; shows as /sys/block/vdX/serial and /dev/disk/by-id/virtio-SERIAL
	SizeBytes         int64  // image created sparse (in /dev/shm by default) when Image == ""
	Image             string // existing image file to attach instead (kept; not deleted)
	LogicalBlockSize  int    // 0 => 512
	PhysicalBlockSize int    // 0 => LogicalBlockSize
	// Unplugged creates the disk's image and QEMU block node but does not attach it at boot:
	// the guest plugs it in with `vmtest-hotplug plug SERIAL`, the way a replacement drive
	// is slid into a bay.
	Unplugged bool
}

// Config describes one VM run.
type Config struct {
	Disks    []Disk            // attached in order: vda, vdb, ...
	Script   string            // /bin/bash script run as root in the guest after udevd has settled; set -e is NOT implied
	Env      map[string]string // exported to Script
	Timeout  time.Duration     // whole VM, default 120s; QEMU is always killed at the end
	MemoryMB int               // default 1024
	Share    string            // host dir, writable in the guest at /mnt/share (default: a fresh temp dir)
	Udev     bool              // start systemd-udevd + trigger + settle before Script (default true via NoUdev=false)
	NoUdev   bool              // no udevd: no by-id links, no /run/udev/data, nothing runs mdadm -If (Udev itself is not read)
	// Dir is the guest working directory of Script (default /mnt/share).
	Dir string
	// ConsoleOut, when set, receives the serial console as it is produced (e.g. os.Stderr
	// for `vmrun -v`); Result.Console has it in any case.
	ConsoleOut io.Writer
	// Firmware is BIOS (SeaBIOS, the default) or UEFI (OVMF; the guest gets efivars).
	Firmware Firmware
	// UEFIVars is the OVMF variable store to use (see NewUEFIVars); it is written by the
	// guest and kept. Empty with UEFI: a fresh store for this run only.
	UEFIVars string
}

// Result is what a run left behind.
type Result struct {
	ExitCode int           // the Script's exit status
	Output   string        // the Script's stdout+stderr
	Console  string        // the whole serial console (kernel + init), for diagnosis
	Share    string        // host path of the share dir
	Duration time.Duration // QEMU start to QEMU gone
	// Boot is QEMU start to the moment Script started (kernel, 9p root, udev settled).
	Boot time.Duration
}

const (
	defaultTimeout  = 120 * time.Second
	defaultMemoryMB = 1024
	// maxDisks keeps every disk on its own slot of the i440fx root bus (0x08..0x1f).
	maxDisks      = 24
	firstDiskSlot = 0x08
	// serialMax is VIRTIO_BLK_ID_BYTES: longer serials are cut by the device.
	serialMax = 20
)

var (
	serialRe = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	envKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// validate checks cfg without touching the machine, so a bad config fails before QEMU runs.
func validate(cfg *Config) error {
	if len(cfg.Disks) > maxDisks {
		return fmt.Errorf("vmtest: %d disks; at most %d fit on the root PCI bus", len(cfg.Disks), maxDisks)
	}
	seen := map[string]bool{}
	for i, d := range cfg.Disks {
		if d.Serial == "" || len(d.Serial) > serialMax || !serialRe.MatchString(d.Serial) {
			return fmt.Errorf("vmtest: disk %d: serial %q must be 1-%d characters of [A-Za-z0-9._-]", i, d.Serial, serialMax)
		}
		if seen[d.Serial] {
			return fmt.Errorf("vmtest: disk %d: serial %q used twice", i, d.Serial)
		}
		seen[d.Serial] = true
		lbs, pbs := blockSizes(d)
		if !validBlockSize(lbs) || !validBlockSize(pbs) || pbs < lbs {
			return fmt.Errorf("vmtest: disk %s: block sizes %d/%d: want powers of two 512..65536, physical >= logical", d.Serial, lbs, pbs)
		}
		if d.Image == "" {
			if d.SizeBytes <= 0 || d.SizeBytes%int64(lbs) != 0 {
				return fmt.Errorf("vmtest: disk %s: size %d must be a positive multiple of the logical block size %d", d.Serial, d.SizeBytes, lbs)
			}
		} else if _, err := os.Stat(d.Image); err != nil {
			return fmt.Errorf("vmtest: disk %s: %w", d.Serial, err)
		}
	}
	for k := range cfg.Env {
		if !envKeyRe.MatchString(k) {
			return fmt.Errorf("vmtest: environment name %q is not a shell identifier", k)
		}
	}
	if cfg.Dir != "" && !filepath.IsAbs(cfg.Dir) {
		return fmt.Errorf("vmtest: Dir %q must be an absolute guest path", cfg.Dir)
	}
	if !cfg.Firmware.valid() {
		return fmt.Errorf("vmtest: firmware %q: want %q or %q", cfg.Firmware, BIOS, UEFI)
	}
	if cfg.Timeout < 0 || cfg.MemoryMB < 0 {
		return errors.New("vmtest: negative Timeout or MemoryMB")
	}
	return nil
}

func blockSizes(d Disk) (logical, physical int) {
	logical, physical = d.LogicalBlockSize, d.PhysicalBlockSize
	if logical == 0 {
		logical = 512
	}
	if physical == 0 {
		physical = logical
	}
	return logical, physical
}

func validBlockSize(n int) bool { return n >= 512 && n <= 65536 && n&(n-1) == 0 }

// shellQuote quotes s for bash as one word.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
