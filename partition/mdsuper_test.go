package partition

import (
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

func TestSuperblockNeed(t *testing.T) {
	const mb = int64(mib)
	tests := []struct {
		name string
		sb   Superblock
		want int64
	}{
		{"1.2: data offset + component", Superblock{Metadata: "1.2", DataOffset: 2 * mb, ComponentSize: 100 * mb, DataSize: 110 * mb, DeviceSize: 112 * mb}, 102 * mb},
		{"1.1 likewise", Superblock{Metadata: "1.1", DataOffset: 8192, ComponentSize: 50 * mb, DataSize: 50 * mb, DeviceSize: 51 * mb}, 50*mb + 8192},
		{"1.0 keeps its tail, drops unused data space in 4 KiB", Superblock{Metadata: "1.0", DataOffset: 0, ComponentSize: 100 * mb, DataSize: 100*mb + 10000, DeviceSize: 100*mb + 10000 + 12288}, 100*mb + 10000 + 12288 - 8192},
		{"1.0 without slack needs the whole device", Superblock{Metadata: "1.0", ComponentSize: 100 * mb, DataSize: 100 * mb, DeviceSize: 100*mb + 8192}, 100*mb + 8192},
		{"0.90: component rounded to 64 KiB plus 64 KiB", Superblock{Metadata: "0.90", ComponentSize: 100*mb + 1024, DeviceSize: 200 * mb}, 100*mb + 65536 + 65536},
		{"0.90 aligned component", Superblock{Metadata: "0.90", ComponentSize: 100 * mb, DeviceSize: 200 * mb}, 100*mb + 65536},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sb.Need(); got != tt.want {
				t.Errorf("Need() = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestFindSuperblocks writes superblocks the way the kernel lays them out and reads them back;
// mdadm --examine reads the same images as an independent check of the layout and checksums.
func TestFindSuperblocks(t *testing.T) {
	const size = 64 << 20
	uuid := [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	cases := []struct {
		name    string
		sb      md1
		wantOff int64
	}{
		{"1.2", md1{minor: 2, devSize: size, dataOffset: 2048, dataSize: size/512 - 2048, size: size/512 - 4096, devNumber: 1, role: 1, name: "host:1", uuid: uuid}, 4096},
		{"1.1", md1{minor: 1, devSize: size, dataOffset: 16, dataSize: size/512 - 16, size: size/512 - 16, devNumber: 0, role: 0, name: "host:2", uuid: uuid}, 0},
		{"1.0", md1{minor: 0, devSize: size, dataOffset: 0, dataSize: size/512 - 24, size: size/512 - 32, devNumber: 0, role: 0xffff, name: "host:3", uuid: uuid}, size - 8192},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := newImage(t, "m.img", size)
			off, b := c.sb.bytes()
			if off != c.wantOff {
				t.Fatalf("superblock offset %d, want %d", off, c.wantOff)
			}
			writeAt(t, img, off, b)
			f, err := os.Open(img)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sbs, err := FindSuperblocks(f, size)
			if err != nil {
				t.Fatal(err)
			}
			if len(sbs) != 1 {
				t.Fatalf("found %d superblocks, want 1: %+v", len(sbs), sbs)
			}
			sb := sbs[0]
			if sb.Metadata != c.name || sb.Offset != off || sb.DataOffset != int64(c.sb.dataOffset)*512 ||
				sb.ComponentSize != int64(c.sb.size)*512 || sb.DataSize != int64(c.sb.dataSize)*512 || sb.Name != c.sb.name ||
				sb.ArrayUUID != "deadbeef:01020304:05060708:090a0b0c" {
				t.Errorf("read %+v", sb)
			}
			if c.sb.role == 0xffff && sb.Role != "spare" || c.sb.role != 0xffff && sb.Role != "active "+strconv.Itoa(int(c.sb.role)) {
				t.Errorf("role %q for stored role %#x", sb.Role, c.sb.role)
			}
			if _, err := os.Stat(host.Mdadm); err != nil {
				t.Skip("mdadm not installed")
			}
			out := run(t, host.Mdadm, "--examine", img)
			if !regexp.MustCompile(`Checksum : [0-9a-f]+ - correct`).MatchString(out) {
				t.Errorf("mdadm --examine does not call the checksum correct:\n%s", out)
			}
			for field, want := range map[string]int64{
				`Data Offset : (\d+) sectors`:  int64(c.sb.dataOffset),
				`Super Offset : (\d+) sectors`: off / 512,
				`Array Size : (\d+) KiB`:       int64(c.sb.size) / 2, // RAID1: the component size
			} {
				m := regexp.MustCompile(field).FindStringSubmatch(out)
				if m == nil && want == 0 {
					continue // mdadm leaves out a zero data offset
				}
				if m == nil {
					t.Errorf("mdadm --examine has no %q:\n%s", field, out)
					continue
				}
				if got, _ := strconv.ParseInt(m[1], 10, 64); got != want {
					t.Errorf("mdadm --examine: %s = %d, we wrote %d", field, got, want)
				}
			}
		})
	}
}

func TestFindSuperblock090(t *testing.T) {
	const size = 64<<20 + 12345*512
	img := newImage(t, "m.img", size)
	off, b := md090(size, 60000, 1, [4]uint32{0x11111111, 0x22222222, 0x33333333, 0x44444444})
	writeAt(t, img, off, b)
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sbs, err := FindSuperblocks(f, size)
	if err != nil {
		t.Fatal(err)
	}
	if len(sbs) != 1 || sbs[0].Metadata != "0.90" || sbs[0].ComponentSize != 60000*1024 || sbs[0].Offset != off || sbs[0].Role != "active 1" {
		t.Fatalf("read %+v", sbs)
	}
	if sbs[0].ArrayUUID != "11111111:22222222:33333333:44444444" {
		t.Errorf("uuid %s", sbs[0].ArrayUUID)
	}
	if _, err := os.Stat(host.Mdadm); err == nil {
		out := run(t, host.Mdadm, "--examine", img)
		if !regexp.MustCompile(`Version : 0\.90`).MatchString(out) || !regexp.MustCompile(`Used Dev Size : 60000 `).MatchString(out) {
			t.Errorf("mdadm --examine disagrees:\n%s", out)
		}
	}
}

func TestFindSuperblocksRejectsBadChecksum(t *testing.T) {
	const size = 16 << 20
	img := newImage(t, "m.img", size)
	off, b := md1{minor: 2, devSize: size, dataOffset: 2048, dataSize: 1000, size: 1000}.bytes()
	b[100] ^= 1
	writeAt(t, img, off, b)
	f, _ := os.Open(img)
	defer f.Close()
	sbs, err := FindSuperblocks(f, size)
	if err != nil || len(sbs) != 0 {
		t.Fatalf("a corrupted superblock was accepted: %+v, %v", sbs, err)
	}
}
