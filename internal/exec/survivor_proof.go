package exec

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
)

// This file is the survivor proof: the regions a bootloader step must leave as they were,
// read before and compared after.

// region is a stretch of the survivor that the bootloader step must leave as it was.
type region struct {
	what string // "partition table (MBR bytes 440–511)", "vda2 first MiB"
	dev  string // /dev/vda or /dev/vda2
	off  int64
	data []byte
	// array and dataOff/dataLen: the region lies on a member of array, whose data the
	// member holds at [dataOff, dataOff+dataLen); changes md wrote there through the array
	// are the file system's, not the boot code's.
	array            string
	dataOff, dataLen int64
}

// survivorRegions reads the survivor's partition table (MBR bytes 440–511; with a GPT both
// headers and entry arrays) and the first and last MiB of each of its md members.
func (r *run) survivorRegions(d *discover.Disk) (_ []region, err error) {
	defer func() { err = nameSurvivor(err, d) }()
	dr := r.disks()
	disk := "/dev/" + d.Name
	ss := int64(d.LogicalSectorSize)
	if ss <= 0 {
		ss = 512
	}
	s0, err := dr.ReadAt(disk, 0, 512)
	if err != nil {
		return nil, err
	}
	out := []region{{what: "partition table (MBR bytes 440–511)", dev: disk, off: 440, data: slices.Clone(s0[440:512])}}
	size, err := dr.Size(disk)
	if err != nil {
		return nil, fmt.Errorf("size of %s: %w", disk, err)
	}
	t, err := bootloader.ReadTable(func(off int64, n int) ([]byte, error) { return dr.ReadAt(disk, off, n) }, size, int(ss))
	if err != nil {
		return nil, fmt.Errorf("the survivor's partition table: %w", err)
	}
	type span struct {
		what string
		off  int64
		size int
	}
	var tableRegions []span
	if pl := t.Placement; pl != nil {
		tableRegions = append(tableRegions, []span{
			{"GPT header", pl.HeaderLBA * ss, int(ss)}, {"GPT entries", pl.EntriesLBA * ss, pl.EntryBytes},
			{"backup GPT header", pl.BackupHeaderLBA * ss, int(ss)}, {"backup GPT entries", pl.BackupEntriesLBA * ss, pl.EntryBytes},
		}...)
	}
	for _, p := range t.Partitions {
		if p.EBR > 0 {
			tableRegions = append(tableRegions, span{fmt.Sprintf("extended boot record of partition %d (bytes 440–511)", p.Number), p.EBR + 440, 72})
		}
	}
	for _, g := range tableRegions {
		b, err := dr.ReadAt(disk, g.off, g.size)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", g.what, err)
		}
		out = append(out, region{what: g.what, dev: disk, off: g.off, data: b})
	}
	const mib = 1 << 20
	for _, m := range d.Members {
		part := "/dev/" + m.Device
		size, err := dr.Size(part)
		if err != nil {
			return nil, fmt.Errorf("size of %s: %w", part, err)
		}
		dataOff, dataLen, err := dr.MemberData(m.Array, m.Device)
		if err != nil {
			return nil, fmt.Errorf("where %s keeps data on %s: %w", m.Array, m.Device, err)
		}
		for _, g := range []struct {
			what string
			off  int64
		}{{"first MiB", 0}, {"last MiB", max(size-mib, 0)}} {
			n := int(min(mib, size))
			b, err := dr.ReadAt(part, g.off, n)
			if err != nil {
				return nil, err
			}
			out = append(out, region{what: m.Device + " (" + m.Array + " member) " + g.what, dev: part, off: g.off, data: b,
				array: m.Array, dataOff: dataOff, dataLen: dataLen})
		}
	}
	return out, nil
}

// SurvivorChangedError is a survivor region that the bootloader step changed: the loud
// failure of the byte-identity proof.
type SurvivorChangedError struct {
	Step, Device, Serial, Region string
	At                           int64
}

func (e *SurvivorChangedError) Error() string {
	return fmt.Sprintf("step %s: THE SURVIVOR %s (%s) CHANGED where boot code must not write: %s differs at byte %d of %s after the bootloader step; stop and inspect the disk before anything else (`raidswap status`, compare with the backup under /var/lib/raidswap/backups)",
		e.Step, e.Device, e.Serial, e.Region, e.At, e.Device)
}

// proveSurvivor reads the regions again and compares them with before. A member region may
// differ only where md itself wrote the array's data (the same bytes read through the array)
// or md's own metadata outside the data area; any other difference is a SurvivorChangedError.
func (r *run) proveSurvivor(s plan.Step, d *discover.Disk, before []region) (_ string, err error) {
	defer func() { err = nameSurvivor(err, d) }()
	dr := r.disks()
	if err := dr.Sync(); err != nil {
		return "", err
	}
	identical, viaMD := 0, 0
	for _, b := range before {
		same, err := compareRegion(dr, b)
		if err != nil {
			var ce *SurvivorChangedError
			if !errors.As(err, &ce) {
				return "", err
			}
			// The array may have moved on between the two reads (a live file system): look
			// once more after another flush.
			if err := dr.Sync(); err != nil {
				return "", err
			}
			if same, err = compareRegion(dr, b); err != nil {
				if errors.As(err, &ce) {
					ce.Step, ce.Device, ce.Serial = s.ID, "/dev/"+d.Name, d.Serial
				}
				return "", err
			}
		}
		if same {
			identical++
		} else {
			viaMD++
		}
	}
	msg := fmt.Sprintf("survivor %s: %d regions (partition table, first and last MiB of each md member) byte-identical after the step", d.Label(), identical)
	if viaMD > 0 {
		msg += fmt.Sprintf("; %d changed only where md wrote its array's data or metadata (the files grub-install put in /boot/grub, md's superblock)", viaMD)
	}
	return msg, nil
}

// compareRegion reads b again: same when byte-identical; otherwise nil when every change is
// md's (see proveSurvivor), else a *SurvivorChangedError naming where.
func compareRegion(dr DiskReader, b region) (same bool, err error) {
	const block = 4096
	after, err := dr.ReadAt(b.dev, b.off, len(b.data))
	if err != nil {
		return false, fmt.Errorf("reading %s again: %w", b.what, err)
	}
	if b.data != nil && bytes.Equal(after, b.data) {
		return true, nil
	}
	changed := func(at int64) error { return &SurvivorChangedError{Region: b.what, At: at} }
	if b.data == nil && b.array == "" {
		return false, changed(b.off)
	}
	for i := 0; i < len(after); i += block {
		j := min(i+block, len(after))
		if b.data != nil && bytes.Equal(after[i:j], b.data[i:j]) {
			continue
		}
		at := b.off + int64(i)
		if b.array == "" && b.data != nil {
			for k := i; k < j; k++ {
				if after[k] != b.data[k] {
					return false, changed(b.off + int64(k))
				}
			}
		}
		if at < b.dataOff || at >= b.dataOff+b.dataLen {
			continue // md's superblock or bitmap: md's own writes
		}
		// The array's view of the same bytes: equal means md wrote them, for the array.
		arr, err := dr.ReadAt("/dev/"+b.array, at-b.dataOff, j-i)
		if err != nil {
			return false, fmt.Errorf("reading /dev/%s to explain a change of %s: %w", b.array, b.what, err)
		}
		if !bytes.Equal(arr, after[i:j]) {
			return false, changed(at)
		}
	}
	return false, nil
}

// firstHashes are the survivor's region hashes the first run of step journalled, or nil.
func (r *run) firstHashes(step string) map[string]string {
	for _, rec := range r.j.Records {
		if rec.Step != step || rec.Event != journal.EventNote {
			continue
		}
		for k := range rec.Data {
			if strings.HasPrefix(k, "survivor_sha256 ") {
				return rec.Data
			}
		}
	}
	return nil
}

func hashRegions(rs []region) map[string]string {
	out := map[string]string{}
	for _, g := range rs {
		out["survivor_sha256 "+g.what] = fmt.Sprintf("%x", sha256.Sum256(g.data))
	}
	return out
}
