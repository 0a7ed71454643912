package exec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/partition"
)

// maxBootCodeBytes bounds what is saved of a BIOS boot partition or post-MBR gap: GRUB's
// core.img needs well under 1 MiB; a larger region is saved up to this much.
const maxBootCodeBytes = 16 << 20

// saveSurvivorBootCode saves what grub-install overwrites on the survivor d before it runs:
// sector 0 (the MBR's boot code, bytes 0–439, with the table after it) and, on GPT, the whole
// BIOS boot partition, or, on a DOS label, the gap between the MBR and the first partition.
// It writes a new directory <backups>/<serial>-bootcode-<time>/ holding mbr.bin, bios-boot.bin
// or gap.bin, and README.txt with the dd commands that put them back; every byte is read
// with O_DIRECT (the disk, not a cache). It returns the directory.
func (r *run) saveSurvivorBootCode(d *discover.Disk) (string, error) {
	var bd *bootloader.Disk
	for i := range r.w.sys.Host.Boot.Disks {
		if b := &r.w.sys.Host.Boot.Disks[i]; b.Serial == d.Serial && d.Serial != "" {
			bd = b
		}
	}
	if bd == nil {
		return "", fmt.Errorf("the boot facts do not name %s", d.Label())
	}
	dr := r.disks()
	disk := "/dev/" + d.Name
	ss := int64(d.LogicalSectorSize)
	if ss <= 0 {
		ss = 512
	}
	mbr, err := dr.ReadAt(disk, 0, int(ss))
	if err != nil {
		return "", err
	}
	type file struct {
		name, what, restore string
		data                []byte
	}
	files := []file{{"mbr.bin", fmt.Sprintf("sector 0 of %s (%d bytes): the MBR's boot code (bytes 0–439) and, after it, the partition table", disk, ss),
		fmt.Sprintf("dd if=mbr.bin of=%s bs=440 count=1 conv=notrunc,fsync   # the boot code only; the table stays as it is", disk), mbr}}
	switch {
	case bd.Label == "gpt" && bd.BIOSBoot != nil:
		part := "/dev/" + blockstack.PartitionName(d.Name, bd.BIOSBoot.Number)
		n := bd.BIOSBoot.SizeBytes
		if n <= 0 || n%ss != 0 {
			return "", fmt.Errorf("its BIOS boot partition %s has a size of %d bytes", part, n)
		}
		n = min(n, maxBootCodeBytes)
		b, err := dr.ReadAt(part, 0, int(n))
		if err != nil {
			return "", err
		}
		files = append(files, file{"bios-boot.bin", fmt.Sprintf("the BIOS boot partition %s (its first %d bytes): GRUB's core.img", part, n),
			fmt.Sprintf("dd if=bios-boot.bin of=%s conv=notrunc,fsync", part), b})
	case bd.Label == "dos" && bd.GapSectors > 0:
		n := min(bd.GapSectors*ss, maxBootCodeBytes)
		b, err := dr.ReadAt(disk, ss, int(n))
		if err != nil {
			return "", err
		}
		files = append(files, file{"gap.bin", fmt.Sprintf("the gap after the MBR on %s (sectors 1–%d, %d bytes): GRUB's core.img", disk, n/ss, n),
			fmt.Sprintf("dd if=gap.bin of=%s bs=%d seek=1 conv=notrunc,fsync", disk, ss), b})
	}
	base := r.o.Paths.Backups
	label := d.Serial
	if label == "" {
		label = d.Name
	}
	now := time.Now()
	dir, err := partition.NewBackupDir(base, label+"-bootcode", now)
	if err != nil {
		return "", err
	}
	var readme strings.Builder
	fmt.Fprintf(&readme, "raidswap: the boot code of the survivor %s, saved before GRUB was reinstalled on it (%s)\n\n", d.Label(), now.UTC().Format(time.RFC3339))
	fmt.Fprintf(&readme, "Check that %s still has serial %s (lsblk -o NAME,SERIAL) before writing anything back.\n\n", disk, d.Serial)
	for _, f := range files {
		if err := writeSynced(filepath.Join(dir, f.name), f.data); err != nil {
			return "", err
		}
		fmt.Fprintf(&readme, "%s: %s\n  restore: %s\n\n", f.name, f.what, f.restore)
	}
	if err := writeSynced(filepath.Join(dir, "README.txt"), []byte(readme.String())); err != nil {
		return "", err
	}
	return dir, nil
}

// writeSynced writes a new file (never over an existing one) and syncs it.
func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
