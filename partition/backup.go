package partition

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const backupEnds = 1 << 20

// Backup saves a disk's partition table, raw and as text, into a new directory
// base/<serial>-<time>/ (the kernel name or file name stands in for a missing serial):
// head.bin (the first MiB: MBR, primary GPT, the boot loader gap), tail.bin (the last MiB:
// backup GPT, whole-disk md 0.90/1.0 superblocks), one file per EBR, table.sfdisk (restorable
// with sfdisk) and README.txt with the offsets and restore commands. t is the table read from
// the disk, or nil when it has none. It returns the directory.
func Backup(base string, d Device, id DiskID, t *Table, now time.Time) (string, error) {
	label := id.Serial
	if label == "" {
		label = id.Name
	}
	if label == "" {
		label = filepath.Base(id.Path)
	}
	dir, err := NewBackupDir(base, label, now)
	if err != nil {
		return "", err
	}
	g := d.Geometry()
	headLen := min(g.Size, backupEnds)
	tailOff := max(0, g.Size-backupEnds)
	var readme strings.Builder
	fmt.Fprintf(&readme, "raidswap partition table backup\n\ndevice: %s\nkernel name: %s\nserial: %s\ngeometry: %s\ntaken: %s\n\n",
		id.Path, orNone(id.Name), orNone(id.Serial), g, now.UTC().Format(time.RFC3339))
	fmt.Fprintf(&readme, "files (raw bytes of the disk):\n")
	files := &syncBatch{}
	defer files.close()
	save := func(name string, off, n int64, what string) error {
		b := make([]byte, n)
		if _, err := d.ReadAt(b, off); err != nil {
			return fmt.Errorf("reading %d bytes at %d of %s: %w", n, off, d.Path(), err)
		}
		if err := files.write(filepath.Join(dir, name), b); err != nil {
			return err
		}
		fmt.Fprintf(&readme, "  %-24s bytes %d to %d: %s\n", name, off, off+n-1, what)
		return nil
	}
	if err := save("head.bin", 0, headLen, "MBR, primary GPT, boot loader gap"); err != nil {
		return dir, err
	}
	if err := save("tail.bin", tailOff, g.Size-tailOff, "backup GPT, whole-disk md 0.90/1.0 superblocks"); err != nil {
		return dir, err
	}
	ebrs := []string{}
	if t != nil {
		for _, p := range t.Logicals() {
			name := fmt.Sprintf("ebr-%d.bin", p.EBR)
			if err := save(name, p.EBR, int64(g.LogicalSectorSize), fmt.Sprintf("EBR of partition %d", p.Number)); err != nil {
				return dir, err
			}
			ebrs = append(ebrs, name)
		}
	}
	text := "# no partition table\n"
	if t != nil {
		text = Dump(*t, id.Path)
	}
	if err := files.write(filepath.Join(dir, "table.sfdisk"), []byte(text)); err != nil {
		return dir, err
	}
	fmt.Fprintf(&readme, "  %-24s the table as `sfdisk --dump` prints it\n\n", "table.sfdisk")
	fmt.Fprintf(&readme, "restore the raw sectors (onto this same disk only):\n")
	fmt.Fprintf(&readme, "  dd if=head.bin of=%s bs=1M conv=notrunc,fsync\n", id.Path)
	fmt.Fprintf(&readme, "  dd if=tail.bin of=%s bs=1M oflag=seek_bytes seek=%d conv=notrunc,fsync\n", id.Path, tailOff)
	for i, p := range t.logicalsOrNil() {
		fmt.Fprintf(&readme, "  dd if=%s of=%s bs=%d oflag=seek_bytes seek=%d conv=notrunc,fsync\n", ebrs[i], id.Path, g.LogicalSectorSize, p.EBR)
	}
	fmt.Fprintf(&readme, "then make the kernel re-read it: partx -u %s (or blockdev --rereadpt)\n", id.Path)
	fmt.Fprintf(&readme, "or restore the table only: sfdisk %s < table.sfdisk\n", id.Path)
	if err := files.write(filepath.Join(dir, "README.txt"), []byte(readme.String())); err != nil {
		return dir, err
	}
	if err := files.sync(dir); err != nil {
		return dir, err
	}
	return dir, nil
}

func (t *Table) logicalsOrNil() []Partition {
	if t == nil {
		return nil
	}
	return t.Logicals()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// NewBackupDir makes a new, private directory base/<label>-<time>/ (with -2, -3, ... when
// that exists), the label made safe for a file name; every backup raidswap takes (tables,
// the survivor's boot code) goes into one of its own.
func NewBackupDir(base, label string, now time.Time) (string, error) {
	stamp := now.UTC().Format("20060102T150405Z")
	dir := filepath.Join(base, sanitize(label)+"-"+stamp)
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", fmt.Errorf("creating backup directory: %w", err)
	}
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, os.ErrExist) || i > 100 {
			return "", fmt.Errorf("creating backup directory: %w", err)
		}
		dir = filepath.Join(base, fmt.Sprintf("%s-%s-%d", sanitize(label), stamp, i))
	}
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// syncBatch writes files and syncs them together at the end: one journal commit for the
// whole backup instead of one per file.
type syncBatch struct{ open []*os.File }

func (s *syncBatch) write(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing backup: %w", err)
	}
	s.open = append(s.open, f)
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// sync makes every file and the directory durable.
func (s *syncBatch) sync(dir string) error {
	for _, f := range s.open {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("syncing %s: %w", f.Name(), err)
		}
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

func (s *syncBatch) close() {
	for _, f := range s.open {
		f.Close()
	}
}
