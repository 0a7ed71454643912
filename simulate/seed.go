package simulate

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/host"
)

// Partition tables BuildSeed writes.
const (
	GPT = "gpt"
	MBR = "mbr"
)

const mib = 1 << 20

// ArraySpec is one array of a layout (RAID1 unless Level says otherwise); each disk gets one
// partition for it.
type ArraySpec struct {
	Name string // md device: "md0" means /dev/md0
	// Level is mdadm's --level: "1" (default), "5", "6", "10", "4", "0".
	Level string
	// Layout is mdadm's --layout ("n2", "f2", "o2" for raid10); "" is mdadm's default.
	Layout string
	// Spares is how many of the last disks hold a spare of the array instead of a member.
	Spares   int
	Metadata string // "1.0", "1.2" (default) or "0.90"
	Size     int64  // member partition size in bytes, a multiple of 1 MiB; 0 = rest of the disk (last array only); for a whole-disk array (PlanWholeDisk) mdadm's --size, 0 = the whole disk
	FS       string // "ext4" (default), "vfat" or "none"
	Label    string // filesystem label (default: the array name)
	Bitmap   string // "none" or "internal"; "" = Options.Bitmap
}

// Options shape BuildSeed's layout.
type Options struct {
	Table string // GPT (default) or MBR
	// Arrays in partition order; nil means SeedArrays().
	Arrays []ArraySpec
	// SwapSize is the swap partition's size (not RAID, like the seed), placed after the first
	// array; 0 means 32 MiB, negative means no swap partition.
	SwapSize int64
	// Bitmap is the write-intent bitmap of arrays that do not say: "none" (default) or
	// "internal". Without one, a returning member gets a full recovery (--re-add is refused).
	Bitmap string
	// Canary puts a file CanaryFile holding CanaryText(array) on each ext4 array.
	Canary bool
	// NoWait returns without waiting for the initial resync.
	NoWait bool
	// AssumeClean creates the arrays with --assume-clean: no initial resync. Only true of
	// members that read alike, such as fresh sparse files (all zeros): the drill's disks.
	AssumeClean bool
	// DMMembers builds every RAID member on a dm linear device "rs-<partition>" over the
	// partition, so KillDM can later make every I/O to the disk fail.
	DMMembers bool
	// DMDisks builds the members of only these disks on dm linear devices, as DMMembers
	// does for every disk (a drill's disk that must later vanish or fail reads).
	DMDisks []string
	// Root is where kernel state is read (default the live "/").
	Root *host.Root

	mbrID func(disk string) string
}

// CanaryFile is the canary's name at the root of each ext4 array's filesystem.
const CanaryFile = "CANARY"

// CanaryText is what the canary of array holds; a test reads it back after a swap.
func CanaryText(array string) string {
	return fmt.Sprintf("raidswap canary of %s: this file was written by simulate.BuildSeed\n", mdName(array))
}

// SeedArrays is the seed server's layout: md0 (64 MiB, metadata 1.0, ext4, /boot) and md1
// (rest of the disk, metadata 1.2, ext4, /).
func SeedArrays() []ArraySpec {
	return []ArraySpec{
		{Name: "md0", Metadata: "1.0", Size: 64 * mib, FS: "ext4", Label: "boot"},
		{Name: "md1", Metadata: "1.2", FS: "ext4", Label: "root"},
	}
}

// Part is one partition of the layout, identical on every disk.
type Part struct {
	Number   int
	Kind     string // "bios" (ef02), "raid" (fd00 / 0xfd), "swap" (8200 / 0x82)
	StartMiB int64
	SizeMiB  int64 // 0 = to the end of the disk
	Array    string
}

// Array is one array as it will be created.
type Array struct {
	Spec    ArraySpec
	Device  string   // /dev/md0
	Members []string // /dev/vda2 ... (or /dev/mapper/rs-vda2 with DMMembers)
}

// Seed is BuildSeed's plan: which partitions, which arrays on which members.
type Seed struct {
	// Whole: the one array is built over the whole disks, with no partition table
	// (PlanWholeDisk).
	Whole  bool
	Table  string
	Disks  []string
	Parts  []Part
	Arrays []Array
	Swaps  []string
	opts   Options
}

// PlanSeed decides the layout without touching anything.
func PlanSeed(disks []string, opts Options) (*Seed, error) {
	if len(disks) == 0 {
		return nil, errors.New("no disks")
	}
	if opts.Table == "" {
		opts.Table = GPT
	}
	if opts.Table != GPT && opts.Table != MBR {
		return nil, fmt.Errorf("unknown partition table %q: use gpt or mbr", opts.Table)
	}
	if opts.Bitmap == "" {
		opts.Bitmap = "none"
	}
	if opts.Arrays == nil {
		opts.Arrays = SeedArrays()
	}
	if len(opts.Arrays) == 0 {
		return nil, errors.New("no arrays")
	}
	swapMiB := int64(32)
	if opts.SwapSize < 0 {
		swapMiB = 0
	} else if opts.SwapSize > 0 {
		if opts.SwapSize%mib != 0 {
			return nil, fmt.Errorf("swap size %d is not a multiple of 1 MiB", opts.SwapSize)
		}
		swapMiB = opts.SwapSize / mib
	}
	s := &Seed{Table: opts.Table, opts: opts}
	for _, d := range disks {
		s.Disks = append(s.Disks, devPath(d))
	}
	start := int64(1) // every partition starts on a 1 MiB boundary
	add := func(kind string, size int64, array string) {
		s.Parts = append(s.Parts, Part{Number: len(s.Parts) + 1, Kind: kind, StartMiB: start, SizeMiB: size, Array: array})
		start += size
	}
	if opts.Table == GPT {
		add("bios", 1, "")
	}
	names := map[string]bool{}
	for i, a := range opts.Arrays {
		a.Name = mdName(a.Name)
		if !strings.HasPrefix(a.Name, "md") || a.Name == "md" || names[a.Name] {
			return nil, fmt.Errorf("array %d: name %q must be md<N> and unique", i, a.Name)
		}
		names[a.Name] = true
		a, err := normalize(a, opts, len(disks))
		if err != nil {
			return nil, err
		}
		if a.Size == 0 && (i != len(opts.Arrays)-1) {
			return nil, fmt.Errorf("array %s: only the last array may take the rest of the disk", a.Name)
		}
		opts.Arrays[i] = a
		add("raid", a.Size/mib, a.Name)
		arr := Array{Spec: a, Device: "/dev/" + a.Name}
		for _, d := range s.Disks {
			m := partDev(d, len(s.Parts))
			if s.dmOn(d) {
				m = "/dev/mapper/" + dmName(m)
			}
			arr.Members = append(arr.Members, m)
		}
		s.Arrays = append(s.Arrays, arr)
		if i == 0 && swapMiB > 0 {
			add("swap", swapMiB, "")
			for _, d := range s.Disks {
				s.Swaps = append(s.Swaps, partDev(d, len(s.Parts)))
			}
		}
	}
	if opts.Table == MBR && len(s.Parts) > 4 {
		return nil, fmt.Errorf("an MBR holds 4 primary partitions; this layout needs %d", len(s.Parts))
	}
	return s, nil
}

// PlanWholeDisk decides one array built over whole disks, with no partition table: its
// members are the disks themselves (md0 over /dev/vdc and /dev/vdd, as DigitalOcean's and the
// Debian Administrator's Handbook's guides build data arrays). a.Size, when set, is mdadm's
// --size (the component size); DM members are not supported.
func PlanWholeDisk(disks []string, a ArraySpec, opts Options) (*Seed, error) {
	if len(disks) == 0 {
		return nil, errors.New("no disks")
	}
	if opts.DMMembers || len(opts.DMDisks) > 0 {
		return nil, errors.New("whole-disk members on dm devices are not supported")
	}
	if opts.Bitmap == "" {
		opts.Bitmap = "none"
	}
	a.Name = mdName(a.Name)
	if !strings.HasPrefix(a.Name, "md") || a.Name == "md" {
		return nil, fmt.Errorf("array name %q must be md<N>", a.Name)
	}
	a, err := normalize(a, opts, len(disks))
	if err != nil {
		return nil, err
	}
	s := &Seed{Whole: true, opts: opts}
	arr := Array{Spec: a, Device: "/dev/" + a.Name}
	for _, d := range disks {
		s.Disks = append(s.Disks, devPath(d))
		arr.Members = append(arr.Members, devPath(d))
	}
	s.Arrays = []Array{arr}
	return s, nil
}

// normalize fills an array spec's defaults and checks it, for an array over n disks.
func normalize(a ArraySpec, opts Options, n int) (ArraySpec, error) {
	if a.Metadata == "" {
		a.Metadata = "1.2"
	}
	switch a.Metadata {
	case "0.90", "1.0", "1.1", "1.2":
	default:
		return a, fmt.Errorf("array %s: unknown metadata %q", a.Name, a.Metadata)
	}
	if a.FS == "" {
		a.FS = "ext4"
	}
	if a.FS != "ext4" && a.FS != "vfat" && a.FS != "none" {
		return a, fmt.Errorf("array %s: unknown filesystem %q: use ext4, vfat or none", a.Name, a.FS)
	}
	if a.Label == "" {
		a.Label = a.Name
	}
	if a.Bitmap == "" {
		a.Bitmap = opts.Bitmap
	}
	if a.Bitmap != "none" && a.Bitmap != "internal" {
		return a, fmt.Errorf("array %s: bitmap %q: use none or internal", a.Name, a.Bitmap)
	}
	if a.Level == "" {
		a.Level = "1"
	}
	switch a.Level {
	case "0", "1", "4", "5", "6", "10":
	default:
		return a, fmt.Errorf("array %s: unknown level %q", a.Name, a.Level)
	}
	if a.Spares < 0 || a.Spares >= n {
		return a, fmt.Errorf("array %s: %d spares on %d disks", a.Name, a.Spares, n)
	}
	if a.Size%mib != 0 || a.Size < 0 {
		return a, fmt.Errorf("array %s: size %d is not a multiple of 1 MiB", a.Name, a.Size)
	}
	return a, nil
}

// mbrID is the MBR disk signature for disk: random, unless Options.mbrID fixes it (tests).
func (s *Seed) mbrID(disk string) string {
	if s.opts.mbrID != nil {
		return s.opts.mbrID(disk)
	}
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("0x%02x%02x%02x%02x", b[0], b[1], b[2], b[3])
}

// dmOn reports whether disk's members go on dm linear devices (DMMembers or DMDisks).
func (s *Seed) dmOn(disk string) bool {
	if s.opts.DMMembers {
		return true
	}
	for _, d := range s.opts.DMDisks {
		if devPath(d) == devPath(disk) {
			return true
		}
	}
	return false
}

// dmName is the dm device simulate puts over a member partition.
func dmName(part string) string { return "rs-" + kname(part) }

// sgdiskArgs partitions one disk (a fresh GPT).
func (s *Seed) sgdiskArgs(disk string) []string {
	argv := []string{host.Sgdisk, "--clear"}
	for _, p := range s.Parts {
		end := fmt.Sprintf("+%dM", p.SizeMiB)
		if p.SizeMiB == 0 {
			end = "0"
		}
		code, name := map[string]string{"bios": "ef02", "raid": "fd00", "swap": "8200"}[p.Kind], p.Kind
		if p.Array != "" {
			name = p.Array
		}
		argv = append(argv,
			fmt.Sprintf("--new=%d:%dM:%s", p.Number, p.StartMiB, end),
			fmt.Sprintf("--typecode=%d:%s", p.Number, code),
			fmt.Sprintf("--change-name=%d:%s", p.Number, name))
	}
	return append(argv, disk)
}

// BuildSeed partitions every disk alike, creates the arrays (over all disks, the last
// Spares of them as spares), swap and
// filesystems, and waits for the initial resync unless opts.NoWait.
func BuildSeed(ctx context.Context, r host.Runner, disks []string, opts Options) error {
	s, err := PlanSeed(disks, opts)
	if err != nil {
		return err
	}
	return s.Build(ctx, r)
}

// Build carries out the plan.
func (s *Seed) Build(ctx context.Context, r host.Runner) error {
	root := s.opts.Root
	if root == nil {
		root = host.NewRoot("/")
	}
	for _, d := range s.Disks {
		if err := checkIdle(root, d); err != nil {
			return err
		}
	}
	for _, d := range s.Disks {
		if s.Whole {
			if _, err := run(ctx, r, "wiping "+d, host.Flock, d, host.Wipefs, "--all", "--quiet", d); err != nil {
				return err
			}
			continue
		}
		if err := s.partition(ctx, r, root, d); err != nil {
			return err
		}
	}
	for _, a := range s.Arrays {
		argv := []string{host.Mdadm, "--create", a.Device, "--run", "--level=" + a.Spec.Level,
			"--raid-devices=" + strconv.Itoa(len(a.Members)-a.Spec.Spares), "--metadata=" + a.Spec.Metadata}
		if a.Spec.Level != "0" {
			argv = append(argv, "--bitmap="+a.Spec.Bitmap)
		}
		if a.Spec.Layout != "" {
			argv = append(argv, "--layout="+a.Spec.Layout)
		}
		if s.Whole && a.Spec.Size > 0 {
			argv = append(argv, fmt.Sprintf("--size=%dK", a.Spec.Size/1024))
		}
		if a.Spec.Spares > 0 {
			argv = append(argv, "--spare-devices="+strconv.Itoa(a.Spec.Spares))
		}
		if s.opts.AssumeClean {
			argv = append(argv, "--assume-clean")
		}
		if _, err := run(ctx, r, "creating "+a.Device, append(argv, a.Members...)...); err != nil {
			return err
		}
	}
	for _, sw := range s.Swaps {
		if _, err := run(ctx, r, "making swap on "+sw, host.Mkswap, "--label", "swap-"+kname(sw), sw); err != nil {
			return err
		}
	}
	for _, a := range s.Arrays {
		if err := s.mkfs(ctx, r, a); err != nil {
			return err
		}
	}
	if s.opts.NoWait || s.opts.AssumeClean {
		return nil
	}
	argv := []string{host.Mdadm, "--wait"}
	for _, a := range s.Arrays {
		argv = append(argv, a.Device)
	}
	// --wait exits 1 when there was nothing to wait for.
	if _, err := r.Run(ctx, argv...); err != nil {
		var ee *host.ExitError
		if !errors.As(err, &ee) || ee.Result.ExitCode != 1 {
			return fmt.Errorf("waiting for the initial resync: %w", err)
		}
	}
	return nil
}

// partition writes one disk's table, makes the kernel (and udev) see it, and clears old
// signatures from the new partitions so mdadm and mkfs start from nothing.
func (s *Seed) partition(ctx context.Context, r host.Runner, root *host.Root, disk string) error {
	// flock: udevd does not probe a disk while someone holds its lock, so it cannot race
	// sgdisk and partx for the partition table.
	if _, err := run(ctx, r, "wiping "+disk, host.Flock, disk, host.Wipefs, "--all", "--quiet", disk); err != nil {
		return err
	}
	if _, err := run(ctx, r, "partitioning "+disk, append([]string{host.Flock, disk}, s.sgdiskArgs(disk)...)...); err != nil {
		return err
	}
	if s.Table == MBR {
		nums := make([]string, len(s.Parts))
		for i, p := range s.Parts {
			nums[i] = strconv.Itoa(p.Number)
		}
		if _, err := run(ctx, r, "converting "+disk+" to MBR", host.Flock, disk, host.Sgdisk, "--gpttombr="+strings.Join(nums, ":"), disk); err != nil {
			return err
		}
		// sgdisk leaves the disk signature 0; installers write a random one.
		if _, err := run(ctx, r, "setting "+disk+"'s MBR signature", host.Flock, disk, host.Sfdisk, "--disk-id", disk, s.mbrID(disk)); err != nil {
			return err
		}
	}
	// The kernel may not have re-read the table (BLKRRPART fails on a busy disk, and some
	// kernels do not parse tables at all): partx adds what is missing through BLKPG.
	if _, err := run(ctx, r, "telling the kernel about "+disk+"'s partitions", host.Flock, disk, host.Partx, "--update", disk); err != nil {
		return err
	}
	if _, err := run(ctx, r, "waiting for udev", host.Udevadm, "settle", "--timeout=60"); err != nil {
		return err
	}
	for _, p := range s.Parts {
		dev := partDev(disk, p.Number)
		if err := waitFor(ctx, 10*time.Second, dev, func() bool { return root.Exists(dev) }); err != nil {
			return err
		}
		if _, err := run(ctx, r, "wiping "+dev, host.Wipefs, "--all", "--quiet", dev); err != nil {
			return err
		}
		if s.dmOn(disk) && p.Kind == "raid" {
			if err := dmLinear(ctx, r, root, dev); err != nil {
				return err
			}
		}
	}
	return nil
}

// dmLinear puts a dm linear device "rs-<part>" over part.
func dmLinear(ctx context.Context, r host.Runner, root *host.Root, part string) error {
	sectors, err := root.ReadString("/sys/class/block/" + kname(part) + "/size")
	if err != nil {
		return err
	}
	name := dmName(part)
	table := fmt.Sprintf("0 %s linear %s 0", sectors, part)
	if _, err := run(ctx, r, "creating dm "+name, host.Dmsetup, "create", name, "--table", table); err != nil {
		return err
	}
	// Without udev, libdevmapper leaves /dev/mapper to us.
	if _, err := run(ctx, r, "creating /dev/mapper/"+name, host.Dmsetup, "mknodes", name); err != nil {
		return err
	}
	return waitFor(ctx, 10*time.Second, "/dev/mapper/"+name, func() bool { return root.Exists("/dev/mapper/" + name) })
}

func (s *Seed) mkfs(ctx context.Context, r host.Runner, a Array) error {
	switch a.Spec.FS {
	case "none":
		return nil
	case "vfat":
		label := strings.ToUpper(a.Spec.Label)
		if len(label) > 11 {
			label = label[:11]
		}
		_, err := run(ctx, r, "making vfat on "+a.Device, host.MkfsVfat, "-n", label, a.Device)
		return err
	}
	argv := []string{host.MkfsExt4, "-q", "-F", "-L", a.Spec.Label}
	if s.opts.Canary {
		dir, err := os.MkdirTemp("", "simulate-canary-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := os.WriteFile(filepath.Join(dir, CanaryFile), []byte(CanaryText(a.Spec.Name)), 0o644); err != nil {
			return err
		}
		argv = append(argv, "-d", dir)
	}
	_, err := run(ctx, r, "making ext4 on "+a.Device, append(argv, a.Device)...)
	return err
}
