package drill

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/simulate"
)

const mib = int64(1) << 20

// Drill sizes. The /boot array gets room for GRUB's i386-pc modules (about 10 MiB) and a
// kernel-sized file; the others share a small budget in proportion to the host's sizes, so
// a drill's rebuild takes seconds.
const (
	bootArrayMiB  = 64
	minArrayMiB   = 32
	otherBudget   = 160 // MiB shared by the arrays that do not hold /boot
	drillSwapMiB  = 16
	tableSlackMiB = 2 // the GPT backup header and 1 MiB of alignment at the end
)

// Layout is a drill's disk layout: what simulate builds on each drill disk, how big each
// disk is, and where /boot lives on it.
type Layout struct {
	// Source says where the layout came from: "seed" or "host: sda (serial ...)".
	Source string
	// Options is what simulate.PlanSeed builds (table, arrays in partition order, swap,
	// bitmaps, canaries).
	Options simulate.Options
	// DiskSize is the size of each drill disk in bytes; SectorSize its logical sector size.
	DiskSize   int64
	SectorSize int
	// BootArray is the array whose file system holds /boot ("" when none does); BootOnRoot
	// says /boot is a directory on it rather than its own file system.
	BootArray  string
	BootOnRoot bool
	// Notes say what of the host's layout the drill does not copy, and why.
	Notes []string
}

// SeedLayout is the seed server's layout: GPT, BIOS boot, md0 (metadata 1.0, 64 MiB, ext4,
// /boot), 32 MiB swap, md1 (metadata 1.2, ext4, /) on the rest of a 256 MiB disk.
func SeedLayout() Layout {
	return Layout{
		Source:     "seed",
		Options:    simulate.Options{Table: simulate.GPT, Arrays: simulate.SeedArrays(), SwapSize: 32 * mib, Bitmap: "none", Canary: true},
		DiskSize:   256 * mib,
		SectorSize: 512,
		BootArray:  "md0",
	}
}

// ErrNoHostLayout is a host with no RAID1 array on physical disks to copy.
var ErrNoHostLayout = errors.New("this host has no RAID1 array on physical disks to copy (--like-host); the drill uses the seed's layout without it")

// LikeHost is this host's layout scaled down: the partition table type (GPT with a BIOS boot
// partition, or MBR), its RAID1 arrays in partition order with their md metadata versions,
// write-intent bitmaps and file system use (swap on md, an ESP on md), a swap partition when
// the host has one, the host disks' logical sector size, and where /boot lives. It copies
// the disk that holds members of the most RAID1 arrays; arrays are renamed from md0 up in
// partition order (the drill's names must not collide with the host's). What it leaves
// out is in Notes.
func LikeHost(sys *discover.System) (Layout, error) {
	if sys == nil {
		return Layout{}, ErrNoHostLayout
	}
	type part struct {
		num   int
		array *discover.Array
	}
	// The reference disk: the physical disk with the most RAID1 members.
	byDisk := map[string][]part{}
	var wholeDisk []string
	for i := range sys.Arrays {
		a := &sys.Arrays[i]
		if a.Level != "raid1" {
			continue
		}
		for _, m := range a.Members {
			if m.Disk == nil || m.Device == nil || !identify.IsPhysicalName(*m.Disk) {
				continue
			}
			n, ok := partNumber(*m.Device)
			if !ok {
				if *m.Device == *m.Disk && !slices.Contains(wholeDisk, a.Name) {
					wholeDisk = append(wholeDisk, a.Name)
				}
				continue
			}
			byDisk[*m.Disk] = append(byDisk[*m.Disk], part{num: n, array: a})
		}
	}
	if len(byDisk) == 0 {
		if len(wholeDisk) > 0 {
			return Layout{}, fmt.Errorf("this host's RAID1 arrays (%s) are built over whole disks, which --like-host does not copy (the drill's disks are partitioned); the drill uses the seed's layout without it", strings.Join(wholeDisk, ", "))
		}
		return Layout{}, ErrNoHostLayout
	}
	disks := make([]string, 0, len(byDisk))
	for d := range byDisk {
		disks = append(disks, d)
	}
	sort.Slice(disks, func(i, j int) bool {
		if len(byDisk[disks[i]]) != len(byDisk[disks[j]]) {
			return len(byDisk[disks[i]]) > len(byDisk[disks[j]])
		}
		return disks[i] < disks[j]
	})
	ref := disks[0]
	parts := byDisk[ref]
	sort.Slice(parts, func(i, j int) bool { return parts[i].num < parts[j].num })

	l := Layout{Options: simulate.Options{Table: simulate.GPT, SwapSize: -1, Bitmap: "none", Canary: true}, SectorSize: 512}
	l.Source = "host: " + ref
	d := sys.Disk(ref)
	if d != nil {
		if d.Serial != "" {
			l.Source += " (serial " + d.Serial + ")"
		}
		if d.LogicalSectorSize == 4096 {
			l.SectorSize = 4096
		}
	}
	var label string
	for _, bd := range sys.Host.Boot.Disks {
		if bd.Name == ref {
			label = bd.Label
		}
	}
	switch label {
	case "dos":
		l.Options.Table = simulate.MBR
	case "gpt", "":
		if label == "" {
			l.Notes = append(l.Notes, "the partition table type of "+ref+" could not be read; the drill uses GPT")
		}
	}
	if l.SectorSize == 4096 && l.Options.Table == simulate.MBR {
		l.Notes = append(l.Notes, "MBR on 4Kn disks is copied as it is: the drill's disks have 4096-byte sectors too")
	}
	for _, bd := range sys.Host.Boot.Disks {
		if bd.Name == ref && bd.ESP != nil {
			l.Notes = append(l.Notes, "the host's EFI system partition is not copied: the drill's layout boots through BIOS (GRUB i386-pc), which needs no firmware of its own")
		}
	}
	// Swap partitions on the reference disk (not on md): one drill swap partition.
	if d != nil && len(d.Swap) > 0 {
		l.Options.SwapSize = drillSwapMiB * mib
		if len(parts) > 1 {
			l.Notes = append(l.Notes, "the swap partition is placed after the first array (the host's is "+strings.Join(d.Swap, ", ")+")")
		}
	}
	boot := sys.Host.Boot.Boot
	var total int64
	for _, p := range parts {
		if p.array.Name != boot.Array {
			total += p.array.SizeKiB
		}
	}
	others := 0
	for _, p := range parts {
		if p.array.Name != boot.Array {
			others++
		}
	}
	used := int64(1) // the first MiB (GPT header, MBR gap)
	if l.Options.Table == simulate.GPT {
		used++ // BIOS boot partition
	}
	if l.Options.SwapSize > 0 {
		used += l.Options.SwapSize / mib
	}
	for i, p := range parts {
		a := p.array
		name := fmt.Sprintf("md%d", i)
		spec := simulate.ArraySpec{Name: name, Metadata: a.Metadata, FS: "ext4", Label: name, Bitmap: "none"}
		if spec.Metadata == "" {
			spec.Metadata = "1.2"
			l.Notes = append(l.Notes, a.Name+": metadata version unknown, the drill uses 1.2")
		}
		switch spec.Metadata {
		case "0.90", "1.0", "1.1", "1.2":
		default:
			l.Notes = append(l.Notes, fmt.Sprintf("%s: metadata %q is copied as 1.2", a.Name, spec.Metadata))
			spec.Metadata = "1.2"
		}
		if a.Bitmap != "" && a.Bitmap != "none" {
			spec.Bitmap = "internal"
		}
		switch {
		case a.Swap:
			spec.FS = "none"
		case hasMount(a.Mountpoints, "/boot/efi"):
			spec.FS = "vfat"
		}
		size := int64(minArrayMiB)
		switch {
		case a.Name == boot.Array:
			size = bootArrayMiB
			l.BootArray, l.BootOnRoot = name, boot.OnRoot
			if boot.OnRoot {
				size = bootArrayMiB + minArrayMiB
			}
		case total > 0:
			share := int64(float64(otherBudget) * float64(a.SizeKiB) / float64(total))
			if share > size {
				size = share
			}
		default:
			size = otherBudget / int64(max(others, 1))
		}
		spec.Size = size * mib
		used += size
		l.Options.Arrays = append(l.Options.Arrays, spec)
		if len(a.Members) > 2 {
			l.Notes = append(l.Notes, fmt.Sprintf("%s has %d members; the drill mirrors two disks", a.Name, len(a.Members)))
		}
	}
	if l.BootArray == "" {
		why := "/boot is on no array of this host"
		if boot.Array != "" {
			why = "/boot's array " + boot.Array + " is not on " + ref
		}
		for _, a := range l.Options.Arrays {
			if a.FS == "ext4" {
				l.BootArray = a.Name
				break
			}
		}
		if l.BootArray == "" {
			return Layout{}, fmt.Errorf("%s, and no array of %s holds a file system GRUB could boot from: --like-host cannot copy it", why, ref)
		}
		l.Notes = append(l.Notes, why+"; the drill's disks get GRUB with /boot on "+l.BootArray)
	}
	for _, name := range wholeDisk {
		l.Notes = append(l.Notes, name+" is built over whole disks (no partition table): not copied; the drill's disks are partitioned")
	}
	for _, a := range sys.Arrays {
		if a.Level != "raid1" && a.Level != "" {
			l.Notes = append(l.Notes, fmt.Sprintf("%s is %s, not RAID1: not copied", a.Name, a.Level))
		}
	}
	if l.Options.Table == simulate.MBR {
		// simulate writes primary partitions only: four at most.
		if len(l.Options.Arrays) > 4 {
			for _, a := range l.Options.Arrays[4:] {
				used -= a.Size / mib
			}
			l.Notes = append(l.Notes, fmt.Sprintf("an MBR drill disk holds 4 primary partitions: the last %d arrays are not copied", len(l.Options.Arrays)-4))
			l.Options.Arrays = l.Options.Arrays[:4]
		}
		if l.Options.SwapSize > 0 && len(l.Options.Arrays) == 4 {
			used -= l.Options.SwapSize / mib
			l.Options.SwapSize = -1
			l.Notes = append(l.Notes, "an MBR drill disk holds 4 primary partitions: the swap partition is not copied")
		}
	}
	l.DiskSize = (used + tableSlackMiB) * mib
	return l, nil
}

// partNumber is a partition's number from its kernel name: sda2 → 2, nvme0n1p3 → 3,
// loop0p1 → 1. A whole disk (sda, nvme0n1) has none.
func partNumber(dev string) (int, bool) {
	i := len(dev)
	for i > 0 && dev[i-1] >= '0' && dev[i-1] <= '9' {
		i--
	}
	if i == len(dev) || i == 0 {
		return 0, false
	}
	prefix := dev[:i]
	if strings.HasPrefix(prefix, "nvme") || strings.HasPrefix(prefix, "mmcblk") || strings.HasPrefix(prefix, "loop") {
		if !strings.HasSuffix(prefix, "p") {
			return 0, false
		}
	}
	n, err := strconv.Atoi(dev[i:])
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

func hasMount(mps []string, mp string) bool {
	for _, m := range mps {
		if m == mp {
			return true
		}
	}
	return false
}
