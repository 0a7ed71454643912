package drill

import (
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/simulate"
)

func sp(s string) *string { return &s }

// host is a system with RAID1 arrays on sda/sdb: each array a member partition on both.
func host(label string, arrays ...discover.Array) *discover.System {
	sys := &discover.System{Arrays: arrays}
	for _, d := range []string{"sda", "sdb"} {
		sys.Disks = append(sys.Disks, discover.Disk{Name: d, Serial: "S-" + d, LogicalSectorSize: 512, Present: true})
		sys.Host.Boot.Disks = append(sys.Host.Boot.Disks, bootloader.Disk{Name: d, Label: label})
	}
	return sys
}

func arr(name, meta, bitmap string, kib int64, part int) discover.Array {
	a := discover.Array{Name: name, Level: "raid1", Metadata: meta, Bitmap: bitmap, SizeKiB: kib}
	for _, d := range []string{"sda", "sdb"} {
		a.Members = append(a.Members, discover.Member{Device: sp(d + string(rune('0'+part))), Disk: sp(d)})
	}
	return a
}

func TestLikeHostCopiesOrderMetadataBitmapsBoot(t *testing.T) {
	// Partition order differs from array names: sda1 = md2 (/boot), sda2 = md0 (/), sda3 = md1.
	sys := host("gpt",
		arr("md0", "1.2", "internal", 900<<20, 2),
		arr("md1", "1.2", "none", 100<<20, 3),
		arr("md2", "1.0", "none", 1<<20, 1),
	)
	sys.Host.Boot.Boot = bootloader.BootDir{Array: "md2", Mountpoint: "/boot"}
	l, err := LikeHost(sys)
	if err != nil {
		t.Fatal(err)
	}
	if l.Options.Table != simulate.GPT || l.SectorSize != 512 || l.BootArray != "md0" || l.BootOnRoot {
		t.Fatalf("layout = %+v", l)
	}
	got := []string{}
	for _, a := range l.Options.Arrays {
		got = append(got, a.Name+":"+a.Metadata+":"+a.Bitmap)
	}
	if want := "md0:1.0:none md1:1.2:internal md2:1.2:none"; strings.Join(got, " ") != want {
		t.Fatalf("arrays = %v, want %s", got, want)
	}
	if l.Options.Arrays[0].Size != bootArrayMiB*mib || l.Options.Arrays[1].Size <= l.Options.Arrays[2].Size {
		t.Fatalf("sizes not scaled in proportion: %+v", l.Options.Arrays)
	}
	if !strings.HasPrefix(l.Source, "host: sda (serial S-sda)") {
		t.Fatalf("source = %q", l.Source)
	}
	// The layout must be one simulate can build, and fit the disk.
	seed, err := simulate.PlanSeed([]string{"loop0", "loop1"}, l.Options)
	if err != nil {
		t.Fatalf("PlanSeed: %v", err)
	}
	var end int64
	for _, p := range seed.Parts {
		end = p.StartMiB + p.SizeMiB
	}
	if end*mib > l.DiskSize-mib {
		t.Fatalf("partitions end at %d MiB, disk is %d MiB", end, l.DiskSize/mib)
	}
}

func TestLikeHostMBRBootOnRootSwap4Kn(t *testing.T) {
	sys := host("dos", arr("md0", "0.90", "none", 50<<20, 1))
	sys.Host.Boot.Boot = bootloader.BootDir{Array: "md0", OnRoot: true, Mountpoint: "/"}
	sys.Disks[0].Swap = []string{"sda2"}
	sys.Disks[0].LogicalSectorSize = 4096
	l, err := LikeHost(sys)
	if err != nil {
		t.Fatal(err)
	}
	if l.Options.Table != simulate.MBR || !l.BootOnRoot || l.SectorSize != 4096 || l.Options.SwapSize != drillSwapMiB*mib {
		t.Fatalf("layout = %+v", l)
	}
	if l.Options.Arrays[0].Metadata != "0.90" {
		t.Fatalf("metadata = %q", l.Options.Arrays[0].Metadata)
	}
	if _, err := simulate.PlanSeed([]string{"loop0", "loop1"}, l.Options); err != nil {
		t.Fatalf("PlanSeed: %v", err)
	}
}

func TestLikeHostMBRKeepsFourPrimaries(t *testing.T) {
	var as []discover.Array
	for i := 1; i <= 5; i++ {
		as = append(as, arr("md"+string(rune('0'+i)), "1.2", "none", 10<<20, i))
	}
	sys := host("dos", as...)
	sys.Disks[0].Swap = []string{"sda6"}
	l, err := LikeHost(sys)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Options.Arrays) != 4 || l.Options.SwapSize >= 0 {
		t.Fatalf("arrays %d, swap %d", len(l.Options.Arrays), l.Options.SwapSize)
	}
	if _, err := simulate.PlanSeed([]string{"loop0", "loop1"}, l.Options); err != nil {
		t.Fatalf("PlanSeed: %v", err)
	}
	if !strings.Contains(strings.Join(l.Notes, "\n"), "4 primary partitions") {
		t.Fatalf("notes = %v", l.Notes)
	}
}

func TestLikeHostNothingToCopy(t *testing.T) {
	// Only arrays on loop devices (a drill, a test): nothing physical to copy.
	a := discover.Array{Name: "md0", Level: "raid1", Members: []discover.Member{{Device: sp("loop0p2"), Disk: sp("loop0")}}}
	for _, sys := range []*discover.System{nil, {}, {Arrays: []discover.Array{a}}} {
		if _, err := LikeHost(sys); err != ErrNoHostLayout {
			t.Fatalf("err = %v", err)
		}
	}
}

// An array over whole disks is not copied, and the drill says so (it used to vanish from
// the copy unsaid).
func TestLikeHostSaysWholeDiskArraysAreNotCopied(t *testing.T) {
	whole := discover.Array{Name: "md5", Level: "raid1", Metadata: "1.2", SizeKiB: 1 << 20}
	for _, d := range []string{"sdc", "sdd"} {
		whole.Members = append(whole.Members, discover.Member{Device: sp(d), Disk: sp(d)})
	}
	sys := host("gpt", arr("md0", "1.0", "none", 1<<20, 1), whole)
	sys.Host.Boot.Boot = bootloader.BootDir{Array: "md0", Mountpoint: "/boot"}
	l, err := LikeHost(sys)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(l.Notes, "\n"), "md5 is built over whole disks (no partition table): not copied") {
		t.Errorf("notes = %v", l.Notes)
	}
	if _, err := LikeHost(&discover.System{Arrays: []discover.Array{whole}}); err == nil || !strings.Contains(err.Error(), "(md5) are built over whole disks") {
		t.Errorf("only whole-disk arrays: err = %v", err)
	}
}

func TestPartNumber(t *testing.T) {
	for dev, want := range map[string]int{"sda2": 2, "nvme0n1p3": 3, "loop0p1": 1, "vdb12": 12, "sda": 0, "nvme0n1": 0, "loop0": 0, "md0": 0} {
		n, _ := partNumber(dev)
		if dev == "md0" {
			continue // not a disk's partition, and never asked
		}
		if n != want {
			t.Errorf("partNumber(%s) = %d, want %d", dev, n, want)
		}
	}
}

func TestRealCost(t *testing.T) {
	sys := host("gpt", arr("md0", "1.0", "none", 1<<20, 1), arr("md1", "1.2", "none", 99<<20, 2))
	// 100 GiB at 100 MiB/s = 1024 s.
	d, text := RealCost(sys, 100*float64(mib), 0)
	if d != 1024*time.Second {
		t.Fatalf("d = %v (%s)", d, text)
	}
	if !strings.Contains(text, "rebuilding md0 1.0 GiB + md1 99.0 GiB at 100.0 MiB/s") {
		t.Fatalf("text = %s", text)
	}
	// speed_limit_max caps it: 51200 KiB/s = 50 MiB/s → twice as long.
	d, text = RealCost(sys, 100*float64(mib), 51200)
	if d != 2048*time.Second || !strings.Contains(text, "speed_limit_max") {
		t.Fatalf("capped: %v %s", d, text)
	}
	if d, text := RealCost(&discover.System{}, 1e8, 0); d != 0 || !strings.Contains(text, "rebuilds nothing") {
		t.Fatalf("empty host: %v %s", d, text)
	}
	if d, _ := RealCost(sys, 0, 0); d != 0 {
		t.Fatalf("no speed: %v", d)
	}
}
