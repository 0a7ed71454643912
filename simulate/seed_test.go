package simulate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/host/hosttest"
)

func TestPlanSeedRefuses(t *testing.T) {
	tests := []struct {
		name  string
		disks []string
		opts  Options
		want  string
	}{
		{"no disks", nil, Options{}, "no disks"},
		{"bad table", []string{"vda"}, Options{Table: "apm"}, "unknown partition table"},
		{"rest not last", []string{"vda"}, Options{Arrays: []ArraySpec{{Name: "md0"}, {Name: "md1", Size: mib}}}, "only the last"},
		{"unaligned size", []string{"vda"}, Options{Arrays: []ArraySpec{{Name: "md0", Size: mib + 512}}}, "multiple of 1 MiB"},
		{"duplicate name", []string{"vda"}, Options{Arrays: []ArraySpec{{Name: "md0", Size: mib}, {Name: "md0"}}}, "unique"},
		{"bad name", []string{"vda"}, Options{Arrays: []ArraySpec{{Name: "boot"}}}, "md<N>"},
		{"bad metadata", []string{"vda"}, Options{Arrays: []ArraySpec{{Name: "md0", Metadata: "2.0"}}}, "metadata"},
		{"bad bitmap", []string{"vda"}, Options{Bitmap: "external"}, "bitmap"},
		{"mbr too many", []string{"vda"}, Options{Table: MBR, Arrays: []ArraySpec{
			{Name: "md0", Size: mib}, {Name: "md1", Size: mib}, {Name: "md2", Size: mib}, {Name: "md3"}}}, "4 primary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PlanSeed(tt.disks, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPlanSeedNames(t *testing.T) {
	s, err := PlanSeed([]string{"nvme0n1", "/dev/sdb"}, Options{DMMembers: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Arrays[1].Members; got[0] != "/dev/mapper/rs-nvme0n1p4" || got[1] != "/dev/mapper/rs-sdb4" {
		t.Errorf("md1 members %q", got)
	}
	if got := s.Swaps; got[0] != "/dev/nvme0n1p3" || got[1] != "/dev/sdb3" {
		t.Errorf("swaps %q", got)
	}
}

// fixture makes a Root with two idle disks; partx "creates" their partition nodes.
func fixture(t *testing.T, disks ...string) *host.Root {
	dir := t.TempDir()
	for _, d := range disks {
		must(t, os.MkdirAll(filepath.Join(dir, "sys/block", d), 0o755))
	}
	must(t, os.MkdirAll(filepath.Join(dir, "proc/self"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "proc/self/mounts"), []byte("/dev/vdz1 / ext4 rw 0 0\n"), 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "dev"), 0o755))
	return host.NewRoot(dir)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mkParts(t *testing.T, root *host.Root, disk string, n int) func() {
	return func() {
		for i := 1; i <= n; i++ {
			must(t, os.WriteFile(root.Path(partDev(disk, i)), nil, 0o644))
		}
	}
}

func TestBuildSeedCommands(t *testing.T) {
	root := fixture(t, "vda", "vdb")
	var exp []hosttest.Expect
	for _, d := range []string{"/dev/vda", "/dev/vdb"} {
		exp = append(exp,
			hosttest.Expect{Argv: []string{host.Flock, d, host.Wipefs, "--all", "--quiet", d}},
			hosttest.Expect{Argv: []string{host.Flock, d, host.Sgdisk, "--clear",
				"--new=1:1M:+1M", "--typecode=1:ef02", "--change-name=1:bios",
				"--new=2:2M:+64M", "--typecode=2:fd00", "--change-name=2:md0",
				"--new=3:66M:+32M", "--typecode=3:8200", "--change-name=3:swap",
				"--new=4:98M:0", "--typecode=4:fd00", "--change-name=4:md1", d}},
			hosttest.Expect{Argv: []string{host.Flock, d, host.Partx, "--update", d}, Do: mkParts(t, root, d, 4)},
			hosttest.Expect{Argv: []string{host.Udevadm, "settle", "--timeout=60"}},
		)
		for i := 1; i <= 4; i++ {
			exp = append(exp, hosttest.Expect{Argv: []string{host.Wipefs, "--all", "--quiet", partDev(d, i)}})
		}
	}
	exp = append(exp,
		hosttest.Expect{Argv: []string{host.Mdadm, "--create", "/dev/md0", "--run", "--level=1", "--raid-devices=2", "--metadata=1.0", "--bitmap=none", "/dev/vda2", "/dev/vdb2"}},
		hosttest.Expect{Argv: []string{host.Mdadm, "--create", "/dev/md1", "--run", "--level=1", "--raid-devices=2", "--metadata=1.2", "--bitmap=none", "/dev/vda4", "/dev/vdb4"}},
		hosttest.Expect{Argv: []string{host.Mkswap, "--label", "swap-vda3", "/dev/vda3"}},
		hosttest.Expect{Argv: []string{host.Mkswap, "--label", "swap-vdb3", "/dev/vdb3"}},
		hosttest.Expect{Argv: []string{host.MkfsExt4, "-q", "-F", "-L", "boot", "/dev/md0"}},
		hosttest.Expect{Argv: []string{host.MkfsExt4, "-q", "-F", "-L", "root", "/dev/md1"}},
		hosttest.Expect{Argv: []string{host.Mdadm, "--wait", "/dev/md0", "/dev/md1"}, Exit: 1}, // nothing to wait for
	)
	r := hosttest.NewFakeRunner(t, exp...)
	if err := BuildSeed(t.Context(), r, []string{"vda", "/dev/vdb"}, Options{Root: root}); err != nil {
		t.Fatal(err)
	}
}

func TestBuildSeedMBR(t *testing.T) {
	root := fixture(t, "vda")
	d := "/dev/vda"
	r := hosttest.NewFakeRunner(t,
		hosttest.Expect{Argv: []string{host.Flock, d, host.Wipefs, "--all", "--quiet", d}},
		hosttest.Expect{Argv: []string{host.Flock, d, host.Sgdisk, "--clear",
			"--new=1:1M:+64M", "--typecode=1:fd00", "--change-name=1:md0",
			"--new=2:65M:0", "--typecode=2:fd00", "--change-name=2:md1", d}},
		hosttest.Expect{Argv: []string{host.Flock, d, host.Sgdisk, "--gpttombr=1:2", d}},
		hosttest.Expect{Argv: []string{host.Flock, d, host.Sfdisk, "--disk-id", d, "0x0badcafe"}},
		hosttest.Expect{Argv: []string{host.Flock, d, host.Partx, "--update", d}, Do: mkParts(t, root, d, 2)},
		hosttest.Expect{Argv: []string{host.Udevadm, "settle", "--timeout=60"}},
		hosttest.Expect{Argv: []string{host.Wipefs, "--all", "--quiet", "/dev/vda1"}},
		hosttest.Expect{Argv: []string{host.Wipefs, "--all", "--quiet", "/dev/vda2"}},
		hosttest.Expect{Argv: []string{host.Mdadm, "--create", "/dev/md0", "--run", "--level=1", "--raid-devices=1", "--metadata=1.0", "--bitmap=internal", "/dev/vda1"}},
		hosttest.Expect{Argv: []string{host.Mdadm, "--create", "/dev/md1", "--run", "--level=1", "--raid-devices=1", "--metadata=1.2", "--bitmap=internal", "/dev/vda2"}},
	)
	opts := Options{Root: root, Table: MBR, SwapSize: -1, Bitmap: "internal", NoWait: true,
		Arrays: []ArraySpec{{Name: "md0", Metadata: "1.0", Size: 64 * mib, FS: "none"}, {Name: "md1", FS: "none"}},
		mbrID:  func(string) string { return "0x0badcafe" }}
	if err := BuildSeed(t.Context(), r, []string{"vda"}, opts); err != nil {
		t.Fatal(err)
	}
}

func TestBuildSeedRefusesBusyDisk(t *testing.T) {
	root := fixture(t, "vda", "vdb")
	must(t, os.MkdirAll(root.Path("/sys/block/vdb/vdb2"), 0o755))
	must(t, os.MkdirAll(root.Path("/sys/class/block/vdb2/holders/md0"), 0o755))
	r := hosttest.NewFakeRunner(t)
	err := BuildSeed(t.Context(), r, []string{"vda", "vdb"}, Options{Root: root})
	if err == nil || !strings.Contains(err.Error(), "refusing /dev/vdb: vdb2 is held by md0") {
		t.Fatalf("err %v", err)
	}
	must(t, os.WriteFile(root.Path("/proc/self/mounts"), []byte("/dev/vda1 /boot ext4 rw 0 0\n"), 0o644))
	err = BuildSeed(t.Context(), r, []string{"vda"}, Options{Root: root})
	if err == nil || !strings.Contains(err.Error(), "refusing /dev/vda: it holds vda1, mounted at /boot") {
		t.Fatalf("err %v", err)
	}
}

// sysfsMembers lays out md0 with members vda2 (partition) and dm-1 (over vdb2).
func sysfsMembers(t *testing.T) *host.Root {
	root := fixture(t)
	ln := func(target, link string) {
		must(t, os.MkdirAll(filepath.Dir(root.Path(link)), 0o755))
		must(t, os.Symlink(target, root.Path(link)))
	}
	for _, p := range []string{"/sys/devices/pci0000:00/0000:00:08.0/virtio2/block/vda/vda2", "/sys/devices/pci0000:00/0000:00:09.0/virtio3/block/vdb/vdb2", "/sys/devices/virtual/block/dm-1/slaves/vdb2", "/sys/block/md0/md/dev-vda2", "/sys/block/md0/md/dev-dm-1", "/sys/bus/pci"} {
		must(t, os.MkdirAll(root.Path(p), 0o755))
	}
	must(t, os.WriteFile(root.Path("/sys/devices/pci0000:00/0000:00:08.0/virtio2/block/vda/vda2/partition"), []byte("2\n"), 0o644))
	must(t, os.WriteFile(root.Path("/sys/devices/pci0000:00/0000:00:09.0/virtio3/block/vdb/vdb2/partition"), []byte("2\n"), 0o644))
	must(t, os.WriteFile(root.Path("/sys/devices/pci0000:00/0000:00:08.0/remove"), nil, 0o644))
	must(t, os.WriteFile(root.Path("/sys/block/md0/md/dev-vda2/state"), []byte("in_sync\n"), 0o644))
	must(t, os.WriteFile(root.Path("/sys/block/md0/md/dev-dm-1/state"), []byte("faulty\n"), 0o644))
	ln("../../devices/pci0000:00/0000:00:08.0/virtio2/block/vda/vda2", "/sys/class/block/vda2")
	ln("../../devices/pci0000:00/0000:00:09.0/virtio3/block/vdb/vdb2", "/sys/class/block/vdb2")
	ln("../../devices/virtual/block/dm-1", "/sys/class/block/dm-1")
	ln("../devices/pci0000:00/0000:00:08.0/virtio2/block/vda", "/sys/block/vda")
	ln("../../../bus/pci", "/sys/devices/pci0000:00/0000:00:08.0/subsystem")
	return root
}

func TestMembers(t *testing.T) {
	root := sysfsMembers(t)
	ms, err := Members(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []Member{{"md0", "dm-1", "vdb", "faulty"}, {"md0", "vda2", "vda", "in_sync"}}
	if len(ms) != 2 || ms[0] != want[0] || ms[1] != want[1] {
		t.Errorf("Members = %+v, want %+v", ms, want)
	}
}

func TestVanishPCIRemoveFindsDevice(t *testing.T) {
	root := sysfsMembers(t)
	p, err := pciDevice(root, "vda")
	if err != nil || p != "/sys/devices/pci0000:00/0000:00:08.0" {
		t.Fatalf("pciDevice = %q, %v", p, err)
	}
}

func TestFailDisk(t *testing.T) {
	root := sysfsMembers(t)
	r := hosttest.NewFakeRunner(t, hosttest.Expect{Argv: []string{host.Mdadm, "/dev/md0", "--fail", "/dev/vda2"}})
	ms, err := FailDisk(t.Context(), r, root, "/dev/vda")
	if err != nil || len(ms) != 1 || ms[0].Device != "vda2" {
		t.Fatalf("FailDisk = %+v, %v", ms, err)
	}
	if _, err := FailDisk(t.Context(), r, root, "vdc"); err == nil {
		t.Error("FailDisk on a disk without members succeeded")
	}
}

func TestPokeRefusesMounted(t *testing.T) {
	root := fixture(t)
	must(t, os.WriteFile(root.Path("/proc/self/mounts"), []byte("/dev/md0 /boot ext4 rw 0 0\n"), 0o644))
	err := Poke(t.Context(), hosttest.NewFakeRunner(t), root, "md0")
	if err == nil || !strings.Contains(err.Error(), "mounted on /boot") {
		t.Fatalf("err %v", err)
	}
}

func TestSetRebuildSpeed(t *testing.T) {
	root := fixture(t)
	must(t, os.MkdirAll(root.Path("/sys/block/md1/md"), 0o755))
	must(t, SetRebuildSpeed(root, "/dev/md1", 500))
	for _, f := range []string{"sync_speed_min", "sync_speed_max"} {
		b, _ := os.ReadFile(root.Path("/sys/block/md1/md/" + f))
		if string(b) != "500" {
			t.Errorf("%s = %q", f, b)
		}
	}
}

func TestIsPartition(t *testing.T) {
	for _, tt := range []struct {
		name, disk string
		want       bool
	}{
		{"vda2", "vda", true}, {"vda", "vda", false}, {"vdab", "vda", false}, {"vdaa1", "vda", false},
		{"nvme0n1p3", "nvme0n1", true}, {"nvme0n12", "nvme0n1", false}, {"loop0p1", "loop0", true},
	} {
		if got := isPartition(tt.name, tt.disk); got != tt.want {
			t.Errorf("isPartition(%q, %q) = %v", tt.name, tt.disk, got)
		}
	}
}

// AssumeClean: arrays over fresh (all-zero) disks are created --assume-clean, and there is
// no resync to wait for.
func TestBuildSeedAssumeClean(t *testing.T) {
	root := fixture(t, "vda", "vdb")
	var exp []hosttest.Expect
	for _, d := range []string{"/dev/vda", "/dev/vdb"} {
		exp = append(exp,
			hosttest.Expect{Argv: []string{host.Flock, d, host.Wipefs, "--all", "--quiet", d}},
			hosttest.Expect{Argv: []string{host.Flock, d, host.Sgdisk, "--clear",
				"--new=1:1M:+1M", "--typecode=1:ef02", "--change-name=1:bios",
				"--new=2:2M:0", "--typecode=2:fd00", "--change-name=2:md0", d}},
			hosttest.Expect{Argv: []string{host.Flock, d, host.Partx, "--update", d}, Do: mkParts(t, root, d, 2)},
			hosttest.Expect{Argv: []string{host.Udevadm, "settle", "--timeout=60"}},
			hosttest.Expect{Argv: []string{host.Wipefs, "--all", "--quiet", partDev(d, 1)}},
			hosttest.Expect{Argv: []string{host.Wipefs, "--all", "--quiet", partDev(d, 2)}},
		)
	}
	exp = append(exp,
		hosttest.Expect{Argv: []string{host.Mdadm, "--create", "/dev/md0", "--run", "--level=1", "--raid-devices=2", "--metadata=1.2", "--bitmap=none", "--assume-clean", "/dev/vda2", "/dev/vdb2"}},
		hosttest.Expect{Argv: []string{host.MkfsExt4, "-q", "-F", "-L", "md0", "/dev/md0"}},
	)
	r := hosttest.NewFakeRunner(t, exp...)
	o := Options{Root: root, Arrays: []ArraySpec{{Name: "md0"}}, SwapSize: -1, AssumeClean: true}
	if err := BuildSeed(t.Context(), r, []string{"vda", "vdb"}, o); err != nil {
		t.Fatal(err)
	}
}

// CopyBootCode copies boot.img and core.img (GPT: partition 1; MBR: the gap to 1 MiB).
func TestCopyBootCode(t *testing.T) {
	gpt := hosttest.NewFakeRunner(t,
		hosttest.Expect{Argv: []string{host.Dd, "if=/dev/loop0", "of=/dev/loop1", "bs=440", "count=1", "conv=notrunc,fsync", "status=none"}},
		hosttest.Expect{Argv: []string{host.Dd, "if=/dev/loop0p1", "of=/dev/loop1p1", "bs=1M", "conv=notrunc,fsync", "status=none"}})
	must(t, CopyBootCode(t.Context(), gpt, GPT, 512, "loop0", "/dev/loop1"))
	mbr := hosttest.NewFakeRunner(t,
		hosttest.Expect{Argv: []string{host.Dd, "if=/dev/vda", "of=/dev/vdb", "bs=440", "count=1", "conv=notrunc,fsync", "status=none"}},
		hosttest.Expect{Argv: []string{host.Dd, "if=/dev/vda", "of=/dev/vdb", "bs=4096", "skip=1", "seek=1", "count=255", "conv=notrunc,fsync", "status=none"}})
	must(t, CopyBootCode(t.Context(), mbr, MBR, 4096, "vda", "vdb"))
	if err := CopyBootCode(t.Context(), hosttest.NewFakeRunner(t), GPT, 512, "vda", "/dev/vda"); err == nil {
		t.Error("copying onto itself was not refused")
	}
}
