package partition

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

// fixture builds a sysfs/procfs tree under a temp dir: files map path → content; a content
// starting with "->" makes a symlink.
func fixture(t *testing.T, files map[string]string) *host.Root {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasPrefix(c, "->"):
			err = os.Symlink(strings.TrimPrefix(c, "->"), full)
		case strings.HasSuffix(p, "/"):
			err = os.MkdirAll(full, 0o755)
		default:
			err = os.WriteFile(full, []byte(c), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return host.NewRoot(dir)
}

// sdb is a SATA disk with three partitions, as sysfs shows it; its serial is in VPD page 0x80.
func sdb() map[string]string {
	return map[string]string{
		"/sys/block/sdb/dev":                       "8:16\n",
		"/sys/block/sdb/ro":                        "0\n",
		"/sys/block/sdb/holders/":                  "",
		"/sys/block/sdb/device/vpd_pg80":           "\x00\x80\x00\x05WD-X9",
		"/sys/block/sdb/sdb1/partition":            "1\n",
		"/sys/block/sdb/sdb1/dev":                  "8:17\n",
		"/sys/block/sdb/sdb1/start":                "2048\n",
		"/sys/block/sdb/sdb1/size":                 "2048\n",
		"/sys/block/sdb/sdb1/holders/":             "",
		"/sys/block/sdb/sdb2/partition":            "2\n",
		"/sys/block/sdb/sdb2/dev":                  "8:18\n",
		"/sys/block/sdb/sdb2/start":                "4096\n",
		"/sys/block/sdb/sdb2/size":                 "8192\n",
		"/sys/block/sdb/sdb2/holders/":             "",
		"/sys/block/sdb/sdb3/partition":            "3\n",
		"/sys/block/sdb/sdb3/dev":                  "8:19\n",
		"/sys/block/sdb/sdb3/start":                "12288\n",
		"/sys/block/sdb/sdb3/size":                 "100000\n",
		"/sys/block/sdb/sdb3/holders/":             "",
		"/sys/block/sdb/queue/logical_block_size":  "512\n",
		"/sys/block/sdb/queue/physical_block_size": "4096\n",
		"/sys/block/sdb/size":                      "209715200\n",
		"/proc/self/mountinfo":                     "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n",
		"/proc/swaps":                              "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n",
	}
}

func with(base map[string]string, extra map[string]string) map[string]string {
	for k, v := range extra {
		base[k] = v
	}
	return base
}

func TestCheckTarget(t *testing.T) {
	id := DiskID{Path: "/dev/sdb", Name: "sdb", Serial: "WD-X9"}
	tests := []struct {
		name  string
		files map[string]string
		want  string // "" means allowed
	}{
		{"idle disk", sdb(), ""},
		{"active md member", with(sdb(), map[string]string{
			"/sys/block/sdb/sdb3/holders/md1":  "->../../../md1",
			"/sys/block/md1/md/dev-sdb3/state": "in_sync\n",
		}), "refusing to write /dev/sdb (WD-X9): it holds md1 member sdb3 (in_sync)"},
		{"md member of an array that holds no reference (inactive)", with(sdb(), map[string]string{
			"/sys/block/md127/md/dev-sdb2/block": "->../../../sdb/sdb2",
			"/sys/block/md127/md/dev-sdb2/state": "spare\n",
		}), "refusing to write /dev/sdb (WD-X9): it holds md127 member sdb2 (spare)"},
		{"device-mapper holder", with(sdb(), map[string]string{
			"/sys/block/sdb/sdb2/holders/dm-0": "->../../../dm-0",
			"/sys/block/dm-0/dm/name":          "vg-root\n",
		}), "refusing to write /dev/sdb (WD-X9): sdb2 is held by device-mapper device dm-0 (vg-root)"},
		{"mounted partition", with(sdb(), map[string]string{
			"/proc/self/mountinfo": "22 1 254:0 / / rw - ext4 /dev/vda rw\n40 22 8:17 / /boot/efi\\040x rw - vfat /dev/sdb1 rw\n",
		}), "refusing to write /dev/sdb (WD-X9): it holds sdb1, mounted at /boot/efi x"},
		{"whole disk mounted", with(sdb(), map[string]string{
			"/proc/self/mountinfo": "40 22 8:16 / /mnt rw - ext4 /dev/sdb rw\n",
		}), "it holds sdb, mounted at /mnt"},
		{"active swap", with(sdb(), map[string]string{
			"/proc/swaps": "Filename\tType\tSize\tUsed\tPriority\n/dev/sdb2                               partition\t4194300\t0\t-2\n",
		}), "refusing to write /dev/sdb (WD-X9): it holds sdb2, which is active swap"},
		{"read-only", with(sdb(), map[string]string{"/sys/block/sdb/ro": "1\n"}), "the kernel has it read-only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTarget(fixture(t, tt.files), id)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused an idle disk: %v", err)
				}
				return
			}
			if k, ok := IsRefusal(err); !ok || k != RefuseInUse || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want an in-use refusal containing %q", err, tt.want)
			}
		})
	}
	t.Run("a partition instead of a disk", func(t *testing.T) {
		root := fixture(t, with(sdb(), map[string]string{"/sys/class/block/sdb3": "->../../block/sdb/sdb3"}))
		err := CheckTarget(root, DiskID{Path: "/dev/sdb3", Name: "sdb3"})
		if err == nil || !strings.Contains(err.Error(), "sdb3 is a partition, not a whole disk") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("image attached to a loop device", func(t *testing.T) {
		root := fixture(t, map[string]string{"/sys/block/loop4/loop/backing_file": "/srv/new.img\n"})
		err := CheckTarget(root, DiskID{Path: "/srv/new.img"})
		if err == nil || !strings.Contains(err.Error(), "refusing to write /srv/new.img: the image is attached to /dev/loop4") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestSerial(t *testing.T) {
	tests := []struct {
		name  string
		disk  string
		files map[string]string
		want  string
	}{
		{"virtio", "vda", map[string]string{"/sys/block/vda/serial": "WD-AAAA1111\n"}, "WD-AAAA1111"},
		{"NVMe", "nvme0n1", map[string]string{"/sys/block/nvme0n1/device/serial": "  S4EWNX0N123456 \n"}, "S4EWNX0N123456"},
		{"SCSI VPD page 0x80", "sdb", map[string]string{"/sys/block/sdb/device/vpd_pg80": "\x00\x80\x00\x0a  WD-X9   "}, "WD-X9"},
		{"udev database", "sdc", map[string]string{
			"/sys/block/sdc/dev":   "8:32\n",
			"/run/udev/data/b8:32": "S:disk/by-id/ata-X\nE:ID_SERIAL=WDC_X_WD-Z7\nE:ID_SERIAL_SHORT=WD-Z7\n",
		}, "WD-Z7"},
		{"none", "loop0", map[string]string{"/sys/block/loop0/dev": "7:0\n"}, ""},
	}
	for _, tt := range tests {
		if got := Serial(fixture(t, tt.files), tt.disk); got != tt.want {
			t.Errorf("%s: serial %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestKernelViewFromSysfs(t *testing.T) {
	root := fixture(t, sdb())
	kp, err := KernelPartitions(root, "sdb")
	if err != nil {
		t.Fatal(err)
	}
	if len(kp) != 3 || kp[2].Name != "sdb3" || kp[2].Start != 12288*512 || kp[2].Size != 100000*512 {
		t.Fatalf("kernel partitions %+v", kp)
	}
	g, err := BlockGeometry(root, "sdb")
	if err != nil || g != (Geometry{Size: 209715200 * 512, LogicalSectorSize: 512, PhysicalSectorSize: 4096}) {
		t.Errorf("geometry %+v, %v", g, err)
	}
	lay := Layout{Table: Table{Scheme: MBR, Geometry: g, Partitions: []Partition{
		{Number: 1, Kind: KindPrimary, Start: 2048 * 512, Size: 2048 * 512},
		{Number: 2, Kind: KindExtended, Start: 4096 * 512, Size: 108192 * 512},
		{Number: 5, Kind: KindLogical, Start: 12288 * 512, Size: 100000 * 512},
	}}}
	probs := compareKernel(kernelView(lay, "sdb"), kp)
	want := []string{
		"the kernel has no partition 5",
		"the kernel has sdb2 at byte 2097152, 4194304 bytes; written: byte 2097152, 1024 bytes",
		"the kernel still has sdb3, which the new table does not",
	}
	if strings.Join(probs, "\n") != strings.Join(want, "\n") {
		t.Errorf("differences:\n%s\nwant:\n%s", strings.Join(probs, "\n"), strings.Join(want, "\n"))
	}
}
