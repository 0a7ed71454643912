package bootloader

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/partition"
)

// Each disk's boot facts: its sector 0, partition table, BIOS boot partition and ESP.

// readAt reads n bytes at off of a device (or a disk image in a fixture tree) through the
// Root's path mapping.
func readAt(root *host.Root, dev string, off int64, n int) ([]byte, error) {
	d, err := openDisk(root, dev)
	if err != nil {
		return nil, err
	}
	defer d.f.Close()
	return d.read(off, n)
}

// openedDisk is a device (or a disk image in a fixture tree) opened once through the Root
// for the several reads a partition table and a boot check take.
type openedDisk struct {
	f    *os.File
	dev  string
	size int64
}

func openDisk(root *host.Root, dev string) (*openedDisk, error) {
	f, err := os.Open(root.Path(dev))
	if err != nil {
		return nil, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("size of %s: %w", dev, err)
	}
	return &openedDisk{f: f, dev: dev, size: size}, nil
}

// read reads n bytes at off (a ReadFunc).
func (d *openedDisk) read(off int64, n int) ([]byte, error) {
	b := make([]byte, n)
	got, err := d.f.ReadAt(b, off)
	if err != nil && !(errors.Is(err, io.EOF) && got == n) {
		return nil, fmt.Errorf("reading %d bytes at %d of %s: %w", n, off, d.dev, err)
	}
	return b, nil
}

// ReadLabel reads sector 0 and the partition table of /dev/NAME; ss is its logical sector
// size.
func ReadLabel(root *host.Root, name string, ss int) (sector0 []byte, t partition.Table, err error) {
	d, err := openDisk(root, "/dev/"+name)
	if err != nil {
		return nil, t, err
	}
	defer d.f.Close()
	if sector0, err = d.read(0, 512); err != nil {
		return nil, t, err
	}
	t, err = ReadTable(d.read, d.size, ss)
	return sector0, t, err
}

func detectDisk(root *host.Root, in DiskIn, all Input) Disk {
	d := Disk{Name: in.Name, Serial: in.Serial, MBRCode: MBRUnknown, SectorSize: in.SectorSize}
	if d.SectorSize <= 0 {
		d.SectorSize = 512
	}
	sector0, t, err := ReadLabel(root, in.Name, d.SectorSize)
	if sector0 != nil {
		d.MBRCode = ParseMBRCode(sector0)
	}
	if err != nil {
		if !errors.Is(err, partition.ErrNoTable) {
			d.ReadError = err.Error()
		}
		return d
	}
	d.Label = string(t.Scheme)
	d.FirstPartitionLBA = t.FirstLBA()
	if t.Scheme == partition.MBR && d.FirstPartitionLBA > 1 {
		d.GapSectors = d.FirstPartitionLBA - 1
	}
	for _, p := range t.Partitions {
		if p.Kind == partition.KindExtended {
			continue
		}
		typ := partType(p)
		part := &Partition{Name: blockstack.PartitionName(in.Name, p.Number), Number: p.Number, PARTUUID: t.PARTUUID(p), Type: typ,
			SizeBytes: p.Size}
		part.MDArray = all.Members[part.Name]
		if part.MDArray != "" {
			part.MDState = all.MemberStates[part.Name]
		}
		fillFS(root, part)
		switch {
		case t.Scheme == partition.GPT && typ == TypeBIOSBoot && d.BIOSBoot == nil:
			d.BIOSBoot = part
		case (typ == TypeESP || typ == TypeMBRESP) && d.ESP == nil:
			d.ESP = part
		}
	}
	return d
}

// fillFS fills a partition's file system type, label and UUID from udev's database, when
// udev knows the partition.
func fillFS(root *host.Root, p *Partition) {
	dev, err := root.ReadString("/sys/class/block/" + p.Name + "/dev")
	if err != nil {
		return
	}
	b, err := root.ReadFile("/run/udev/data/b" + dev)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "E:"), "=")
		if !ok || !strings.HasPrefix(line, "E:") {
			continue
		}
		switch k {
		case "ID_FS_TYPE":
			p.FSType = v
		case "ID_FS_LABEL":
			p.FSLabel = v
		case "ID_FS_UUID":
			p.FSUUID = v
		case "ID_FS_VERSION":
			p.FSVersion = v
		}
	}
}
