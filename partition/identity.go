package partition

import (
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/host"
)

// DiskID names a disk for the operator and for the checks: the path given, the kernel name,
// and the serial number. Image files have only a path.
type DiskID struct {
	Path   string `json:"path"`
	Name   string `json:"name,omitempty"`
	Serial string `json:"serial,omitempty"`
}

func (id DiskID) String() string {
	if id.Serial != "" {
		return fmt.Sprintf("%s (%s)", id.Path, id.Serial)
	}
	return id.Path
}

// Identify names an open disk: for a block device its kernel name (through
// /sys/dev/block/MAJ:MIN) and serial; for an image file its absolute path.
func Identify(root *host.Root, d *Disk) (DiskID, error) {
	id := DiskID{Path: d.Path()}
	if !d.IsBlockDevice() {
		if abs, err := filepath.Abs(d.Path()); err == nil {
			id.Path = abs
		}
		return id, nil
	}
	maj, min := d.DevNumber()
	name, err := KernelName(root, maj, min)
	if err != nil {
		return id, err
	}
	id.Name = name
	id.Serial = Serial(root, name)
	if err := staleByID(id.Path, name, id.Serial); err != nil {
		return id, err
	}
	return id, nil
}

// staleByID refuses a /dev/disk/by-id link whose name carries one serial while the disk it
// points at carries another: udev renames its links a moment after a hot-swap, and until it
// has, the link of the disk that left may point at the disk that came (or the reverse).
// Links whose names carry no serial (wwn-, nvme-eui., scsi-3…) are not judged.
func staleByID(path, name, serial string) error {
	dir, base := filepath.Split(path)
	if filepath.Clean(dir) != "/dev/disk/by-id" || serial == "" {
		return nil
	}
	says := ""
	switch {
	case strings.HasPrefix(base, "virtio-"):
		if strings.TrimPrefix(base, "virtio-") == serial {
			return nil
		}
		says = strings.TrimPrefix(base, "virtio-")
	case strings.HasPrefix(base, "ata-"), strings.HasPrefix(base, "usb-"),
		strings.HasPrefix(base, "nvme-") && !strings.HasPrefix(base, "nvme-eui.") && !strings.HasPrefix(base, "nvme-nvme."):
		if strings.Contains(base, serial) {
			return nil
		}
		says = base[strings.LastIndex(base, "_")+1:]
	default:
		return nil
	}
	return &RefusedError{Kind: RefuseInUse, Device: path, Serial: serial, Reason: fmt.Sprintf(
		"the link names serial %s but points at /dev/%s, whose serial is %s: udev's links are stale (a disk was just swapped?); run `udevadm settle` and try again, or name the disk by its serial's current device", says, name, serial)}
}

// KernelName is the kernel's name for block device MAJ:MIN ("sdb", "nvme0n1p2").
func KernelName(root *host.Root, major, minor uint32) (string, error) {
	t, err := root.ResolveLink(fmt.Sprintf("/sys/dev/block/%d:%d", major, minor))
	if err != nil {
		return "", fmt.Errorf("finding block device %d:%d in sysfs: %w", major, minor, err)
	}
	return path.Base(t), nil
}

// Serial is a whole disk's serial number; "" when none is known. It is identify.Serial, so a
// refusal here names a disk exactly as status and the plan do.
func Serial(root *host.Root, name string) string { return identify.Serial(root, name) }

// BlockGeometry reads a whole disk's geometry from sysfs, for planning from discovery
// without opening the disk.
func BlockGeometry(root *host.Root, name string) (Geometry, error) {
	sys := "/sys/block/" + name
	num := func(p string) (int64, error) {
		s, err := root.ReadString(sys + p)
		if err != nil {
			return 0, err
		}
		return strconv.ParseInt(s, 10, 64)
	}
	sectors, err := num("/size")
	if err != nil {
		return Geometry{}, fmt.Errorf("reading size of %s: %w", name, err)
	}
	l, err := num("/queue/logical_block_size")
	if err != nil {
		return Geometry{}, fmt.Errorf("reading logical block size of %s: %w", name, err)
	}
	p, err := num("/queue/physical_block_size")
	if err != nil {
		return Geometry{}, fmt.Errorf("reading physical block size of %s: %w", name, err)
	}
	return Geometry{Size: sectors * 512, LogicalSectorSize: int(l), PhysicalSectorSize: int(p)}, nil
}
