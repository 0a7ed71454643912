package identify

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/jaypipes/ghw"
	"github.com/jaypipes/ghw/pkg/block"

	"github.com/raidswap/raidswap/internal/host"
)

// Disk is one whole block device and what identifies it.
type Disk struct {
	Name               string   `json:"name"`
	Serial             string   `json:"serial"`
	Model              string   `json:"model"`
	Vendor             string   `json:"vendor,omitempty"`
	WWN                string   `json:"wwn"`
	SizeBytes          uint64   `json:"size_bytes"`
	LogicalSectorSize  int      `json:"logical_sector_size"`
	PhysicalSectorSize int      `json:"physical_sector_size"`
	Rotational         bool     `json:"rotational"`
	Transport          string   `json:"transport,omitempty"`
	ByID               []string `json:"by_id"`
	ByPath             []string `json:"by_path"`
	// Partitions are the kernel names of the disk's partitions, in order.
	Partitions []string `json:"partitions"`
	// DevNum is "major:minor".
	DevNum string `json:"devnum,omitempty"`
	// SerialSource says where Serial came from: udev, sysfs, vpd_pg80.
	SerialSource string `json:"serial_source,omitempty"`
}

// Label is how raidswap names a disk to a person: "sdb (WD-X9)".
func (d Disk) Label() string {
	if d.Serial == "" {
		return d.Name + " (serial unknown)"
	}
	return fmt.Sprintf("%s (%s)", d.Name, d.Serial)
}

// wholeDiskPrefixes are the kernel names of devices that are physical (or virtual) disks.
// Loop and device-mapper devices are disks only when they hold md members (drills, tests).
var wholeDiskPrefixes = []string{"sd", "vd", "hd", "xvd", "nvme", "mmcblk"}

// IsPhysicalName reports whether a kernel name is that of a disk rather than a loop,
// device-mapper, md, ram or optical device.
func IsPhysicalName(name string) bool {
	for _, p := range wholeDiskPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Disks returns every whole disk under root whose name passes keep. It uses ghw for the
// udev-backed identity and fills what ghw lacks (logical sector size, serials without a udev
// database, by-id links) from sysfs and /dev.
func Disks(root *host.Root, keep func(name string) bool) ([]Disk, error) {
	opts := []any{ghw.WithDisableWarnings(), ghw.WithDisableTools()}
	if !root.IsLive() {
		opts = append(opts, ghw.WithChroot(root.Dir()))
	}
	info, err := ghw.Block(opts...)
	if err != nil {
		return nil, fmt.Errorf("listing block devices: %w", err)
	}
	links := byLinks(root)
	var out []Disk
	for _, gd := range info.Disks {
		if !keep(gd.Name) {
			continue
		}
		recordGhwReads(root, gd)
		out = append(out, fromGhw(root, gd, links))
	}
	sort.Slice(out, func(i, j int) bool { return nameLess(out[i].Name, out[j].Name) })
	return out, nil
}

// ListBlock lists the kernel names in /sys/block.
func ListBlock(root *host.Root) ([]string, error) {
	ents, err := root.ReadDir("/sys/block")
	if err != nil {
		return nil, fmt.Errorf("listing /sys/block: %w", err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, nil
}

func nameLess(a, b string) bool {
	if len(a) != len(b) && strings.TrimRight(a, "0123456789") == strings.TrimRight(b, "0123456789") {
		return len(a) < len(b)
	}
	return a < b
}

func known(s string) string {
	if s == "unknown" {
		return ""
	}
	return s
}

func fromGhw(root *host.Root, gd *block.Disk, links map[string]devLinks) Disk {
	sys := "/sys/block/" + gd.Name
	d := Disk{
		Name:               gd.Name,
		Serial:             known(gd.SerialNumber),
		Model:              known(gd.Model),
		Vendor:             known(gd.Vendor),
		WWN:                known(gd.WWN),
		SizeBytes:          gd.SizeBytes,
		PhysicalSectorSize: int(gd.PhysicalBlockSizeBytes),
		Rotational:         gd.DriveType == block.DriveTypeHDD && readInt(root, sys+"/queue/rotational") == 1,
		Transport:          strings.ToLower(gd.StorageController.String()),
		ByID:               links[gd.Name].byID,
		ByPath:             links[gd.Name].byPath,
	}
	if d.Serial != "" {
		d.SerialSource = "udev"
	} else if s, src := sysfsSerial(root, gd.Name); s != "" {
		d.Serial, d.SerialSource = s, src
	}
	if d.Model == "" {
		d.Model, _ = root.ReadString(sys + "/device/model")
	}
	if d.WWN == "" {
		if w, err := root.ReadString(sys + "/device/wwid"); err == nil {
			d.WWN = w
		} else if w, err := root.ReadString(sys + "/wwid"); err == nil {
			d.WWN = w
		}
	}
	d.LogicalSectorSize = readInt(root, sys+"/queue/logical_block_size")
	d.DevNum, _ = root.ReadString(sys + "/dev")
	for _, p := range gd.Partitions {
		d.Partitions = append(d.Partitions, p.Name)
	}
	sort.Slice(d.Partitions, func(i, j int) bool { return nameLess(d.Partitions[i], d.Partitions[j]) })
	return d
}

// sysfsSerial reads the serial the kernel itself exposes: virtio's serial, NVMe's
// device/serial, SCSI's VPD page 0x80.
func sysfsSerial(root *host.Root, name string) (string, string) {
	sys := "/sys/block/" + name
	for _, p := range []string{sys + "/serial", sys + "/device/serial"} {
		if s, err := root.ReadString(p); err == nil && s != "" {
			return s, "sysfs"
		}
	}
	if b, err := root.ReadFile(sys + "/device/vpd_pg80"); err == nil {
		if s := ParseVPD80(b); s != "" {
			return s, "vpd_pg80"
		}
	}
	return "", ""
}

// ParseVPD80 extracts the unit serial number from a raw SCSI VPD page 0x80: a 4-byte header
// whose bytes 2..3 give the length, then ASCII padded with spaces or NULs.
func ParseVPD80(b []byte) string {
	if len(b) < 4 || b[1] != 0x80 {
		return ""
	}
	n := int(b[2])<<8 | int(b[3])
	if 4+n > len(b) {
		n = len(b) - 4
	}
	return strings.Trim(string(b[4:4+n]), " \x00")
}

func readInt(root *host.Root, p string) int {
	s, err := root.ReadString(p)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}

type devLinks struct{ byID, byPath []string }

// byLinks maps kernel names to their /dev/disk/by-id and by-path links.
func byLinks(root *host.Root) map[string]devLinks {
	out := map[string]devLinks{}
	for _, kind := range []string{"by-id", "by-path"} {
		dir := "/dev/disk/" + kind
		ents, err := root.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			t, err := root.ReadLink(dir + "/" + e.Name())
			if err != nil {
				continue
			}
			name := filepath.Base(t)
			l := out[name]
			if kind == "by-id" {
				l.byID = append(l.byID, dir+"/"+e.Name())
			} else {
				l.byPath = append(l.byPath, dir+"/"+e.Name())
			}
			out[name] = l
		}
	}
	return out
}

// recordGhwReads tells root's Recorder about the files ghw read for this disk, so that a
// snapshot captures them: ghw reads outside host.Root.
func recordGhwReads(root *host.Root, gd *block.Disk) {
	if root.Recorder == nil {
		return
	}
	sys := "/sys/block/" + gd.Name
	for _, f := range []string{"", "/dev", "/size", "/removable", "/queue/physical_block_size", "/queue/rotational", "/device/vendor", "/device/numa_node"} {
		root.Recorder(sys + f)
	}
	root.Recorder("/proc/mounts")
	if dn, err := root.ReadString(sys + "/dev"); err == nil {
		root.Recorder("/run/udev/data/b" + dn)
	}
	for _, p := range gd.Partitions {
		root.Recorder(sys + "/" + p.Name + "/dev")
		root.Recorder(sys + "/" + p.Name + "/size")
		if dn, err := root.ReadString(sys + "/" + p.Name + "/dev"); err == nil {
			root.Recorder("/run/udev/data/b" + dn)
		}
	}
}
