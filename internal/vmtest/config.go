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

// Disk is one disk of the guest, on the bus Bus (virtio-blk unless said otherwise).
type Disk struct {
	Serial            string // qemu serial= ; /sys/block/vdX/serial, /dev/disk/by-id/virtio-SERIAL (other buses: see Bus)
	SizeBytes         int64  // image created sparse (in /dev/shm by default) when Image == ""
	Image             string // existing image file to attach instead (kept; not deleted)
	LogicalBlockSize  int    // 0 => 512
	PhysicalBlockSize int    // 0 => LogicalBlockSize
	// Unplugged creates the disk's image and QEMU block node but does not attach it at boot:
	// the guest plugs it in with `vmtest-hotplug plug SERIAL`, the way a replacement drive
	// is slid into a bay.
	Unplugged bool

	// Bus is how the disk is attached (see the package doc for names, serial sources and
	// hot-plug per bus): BusVirtio ("" means virtio), BusSATA, BusSCSI, BusSAS or BusNVMe.
	Bus string
	// Model is the ATA model (sata, up to 40 characters) or the SCSI product (scsi and sas,
	// up to 16). virtio-blk has no model, and QEMU's nvme always says "QEMU NVMe Ctrl".
	Model string
	// Vendor is the SCSI vendor (scsi and sas, up to 8 characters); ATA disks show "ATA".
	Vendor string
	// WWN is the disk's world wide name, "0x" and 16 hex digits as Linux prints it
	// (ID_WWN): the ATA IDENTIFY WWN for sata (NAA 5), the NAA designator of VPD page 0x83
	// for scsi and sas. virtio-blk and QEMU's nvme controller carry none.
	WWN string
	// RotationRate is the reported medium rotation rate (sata, scsi, sas): 0 not reported
	// (Linux then assumes a spinning disk), 1 a non-rotating medium (SSD), else RPM.
	RotationRate int
}

// Disk buses.
const (
	BusVirtio = "virtio" // virtio-blk-pci: vdX
	BusSATA   = "sata"   // ide-hd on an ich9-ahci controller: sdX
	BusSCSI   = "scsi"   // scsi-hd on virtio-scsi-pci: sdX
	BusSAS    = "sas"    // scsi-hd on an emulated LSI SAS1068 HBA (mptsas1068): sdX
	BusNVMe   = "nvme"   // nvme controller with one namespace: nvmeNn1
)

// Per-controller limits of the emulated hardware.
const (
	ahciPorts  = 6   // ich9-ahci
	sasTargets = 8   // mptsas1068: MPTSAS_NUM_PORTS
	scsiIDMax  = 255 // virtio-scsi targets per channel
)

// Config describes one VM run.
type Config struct {
	Disks    []Disk            // attached in order: vda, vdb, ... (per bus; see Disk.Bus)
	Script   string            // /bin/bash script run as root in the guest after udevd has settled; set -e is NOT implied
	Env      map[string]string // exported to Script
	Timeout  time.Duration     // whole VM, default 120s; QEMU is always killed at the end
	MemoryMB int               // default 1024
	Share    string            // host dir, writable in the guest at /mnt/share (default: a fresh temp dir)
	Udev     bool              // start systemd-udevd + trigger + settle before Script (default true via NoUdev=false)
	NoUdev   bool              // no udevd: no by-id links, no /run/udev/data, nothing runs mdadm -If (Udev itself is not read)
	// Dir is the guest working directory of Script (default /mnt/share).
	Dir string
	// DuplicateSerials lets disks share a serial, as drives behind cheap USB bridges or
	// cloned virtual disks do. Such twins cannot be Unplugged or hot-plugged: vmtest-hotplug
	// names disks by serial.
	DuplicateSerials bool
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
	// maxDisks keeps every disk on its own slot of the i440fx root bus (0x08..0x1e; 0x1f
	// is the SAS HBA's).
	maxDisks      = 23
	firstDiskSlot = 0x08
	// serialMax is VIRTIO_BLK_ID_BYTES: longer serials are cut by the device.
	serialMax = 20
)

var (
	// serialRe: real drives' serials hold spaces, '/' and '+' too (QEMU's serial= carries
	// them); a space at either end is not kept by every bus, so it is refused there.
	serialRe = regexp.MustCompile(`^[A-Za-z0-9._/+-]([A-Za-z0-9._ /+-]*[A-Za-z0-9._/+-])?$`)
	envKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// validate checks cfg without touching the machine, so a bad config fails before QEMU runs.
func validate(cfg *Config) error {
	if len(cfg.Disks) > maxDisks {
		return fmt.Errorf("vmtest: %d disks; at most %d fit on the root PCI bus", len(cfg.Disks), maxDisks)
	}
	seen := map[string]bool{}
	perBus := map[string]int{}
	for i, d := range cfg.Disks {
		if err := validateBus(d, i); err != nil {
			return err
		}
		perBus[bus(d)]++
		if d.Serial == "" || len(d.Serial) > serialMax || !serialRe.MatchString(d.Serial) {
			return fmt.Errorf("vmtest: disk %d: serial %q must be 1-%d characters of [A-Za-z0-9._/+-] and inner spaces", i, d.Serial, serialMax)
		}
		if seen[d.Serial] && !cfg.DuplicateSerials {
			return fmt.Errorf("vmtest: disk %d: serial %q used twice (Config.DuplicateSerials allows it)", i, d.Serial)
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
	if cfg.DuplicateSerials {
		count := map[string]int{}
		for _, d := range cfg.Disks {
			count[d.Serial]++
		}
		for _, d := range cfg.Disks {
			if count[d.Serial] > 1 && d.Unplugged {
				return fmt.Errorf("vmtest: disk %s: a serial two disks share cannot be Unplugged (vmtest-hotplug names disks by serial)", d.Serial)
			}
		}
	}
	if n := perBus[BusSATA]; n > ahciPorts {
		return fmt.Errorf("vmtest: %d sata disks; the ich9-ahci controller has %d ports", n, ahciPorts)
	}
	if n := perBus[BusSAS]; n > sasTargets {
		return fmt.Errorf("vmtest: %d sas disks; the mptsas1068 HBA has %d ports", n, sasTargets)
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

var (
	wwnRe   = regexp.MustCompile(`^0x[0-9a-f]{16}$`)
	asciiRe = regexp.MustCompile(`^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$`) // printable, no edge blanks
)

// bus is d.Bus with the default filled in.
func bus(d Disk) string {
	if d.Bus == "" {
		return BusVirtio
	}
	return d.Bus
}

// validateBus refuses what the disk's bus cannot carry: QEMU would drop it silently or
// refuse to start, and a test would then prove something about a disk it did not get.
func validateBus(d Disk, i int) error {
	b := bus(d)
	name := fmt.Sprintf("disk %d (%s)", i, d.Serial)
	refuse := func(what string) error {
		return fmt.Errorf("vmtest: %s: bus %s cannot carry %s", name, b, what)
	}
	textField := func(what, v string, max int) error {
		if v != "" && (len(v) > max || !asciiRe.MatchString(v) || strings.Contains(v, ",")) {
			return fmt.Errorf("vmtest: %s: %s %q must be 1-%d printable ASCII characters without commas or edge blanks", name, what, v, max)
		}
		return nil
	}
	switch b {
	case BusVirtio, BusSATA, BusSCSI, BusSAS, BusNVMe:
	default:
		return fmt.Errorf("vmtest: %s: unknown bus %q (want %s, %s, %s, %s or %s)", name, d.Bus, BusVirtio, BusSATA, BusSCSI, BusSAS, BusNVMe)
	}
	if d.WWN != "" && !wwnRe.MatchString(d.WWN) {
		return fmt.Errorf("vmtest: %s: WWN %q must be 0x and 16 lower-case hex digits", name, d.WWN)
	}
	if d.RotationRate < 0 || d.RotationRate > 0xfffe || (d.RotationRate > 1 && d.RotationRate < 0x401) {
		return fmt.Errorf("vmtest: %s: rotation rate %d: want 0, 1 (SSD) or 1025-65534 RPM", name, d.RotationRate)
	}
	switch b {
	case BusVirtio, BusNVMe:
		switch {
		case d.Model != "":
			return refuse("a model")
		case d.Vendor != "":
			return refuse("a vendor")
		case d.WWN != "":
			return refuse("a WWN")
		case d.RotationRate != 0:
			return refuse("a rotation rate")
		}
	case BusSATA:
		if d.Vendor != "" {
			return refuse("a vendor (ATA disks show vendor \"ATA\")")
		}
		if d.WWN != "" && d.WWN[2] != '5' {
			return fmt.Errorf("vmtest: %s: an ATA WWN is NAA 5 (0x5...), not %s", name, d.WWN)
		}
		if lbs, _ := blockSizes(d); lbs != 512 {
			return refuse(fmt.Sprintf("a %d-byte logical block (ide-hd is 512 only)", lbs))
		}
		if d.Unplugged {
			return refuse("an unplugged disk: QEMU's AHCI ports do not hot-plug")
		}
		return textField("model", d.Model, 40)
	case BusSCSI, BusSAS:
		if d.WWN == "0x0000000000000000" {
			return fmt.Errorf("vmtest: %s: WWN 0 means none to QEMU; leave WWN empty", name)
		}
		if b == BusSAS && d.WWN == "" {
			// Measured: mptsas1068 does not report a target without one (no sdX appears).
			return fmt.Errorf("vmtest: %s: a sas disk needs a WWN (its SAS address)", name)
		}
		if b == BusSAS && d.Unplugged {
			return refuse("an unplugged disk: QEMU's mptsas1068 does not hot-plug")
		}
		if err := textField("vendor", d.Vendor, 8); err != nil {
			return err
		}
		return textField("model (SCSI product)", d.Model, 16)
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
