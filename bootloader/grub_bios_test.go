package bootloader

import (
	"strings"
	"testing"
)

func TestGrubBIOSInstall(t *testing.T) {
	for _, tt := range []struct {
		dir  string
		mods []string
		want string
	}{
		{"", nil, "/usr/sbin/grub-install --target=i386-pc /dev/vda"},
		{"/run/raidswap/boot-md0", []string{"part_gpt", "mdraid1x", "ext2"},
			"/usr/sbin/grub-install --target=i386-pc --boot-directory=/run/raidswap/boot-md0 --modules=part_gpt mdraid1x ext2 /dev/vda"},
	} {
		if got := strings.Join(GrubBIOSInstall("/dev/vda", tt.dir, tt.mods), " "); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestGrubBIOSModules(t *testing.T) {
	for _, tt := range []struct {
		label, meta, fs, want, unknown string
	}{
		{"gpt", "1.0", "ext4", "part_gpt mdraid1x ext2", ""},
		{"dos", "0.90", "ext3", "part_msdos mdraid09 ext2", ""},
		{"gpt", "1.2", "xfs", "part_gpt mdraid1x xfs", ""},
		{"", "", "zfs", "", "the partition table,the md metadata,the file system"},
	} {
		m, u := GrubBIOSModules(tt.label, tt.meta, tt.fs)
		if strings.Join(m, " ") != tt.want || strings.Join(u, ",") != tt.unknown {
			t.Errorf("%v: got %q %q", tt, m, u)
		}
		if err := CheckGrubModules(m); err != nil {
			t.Error(err)
		}
	}
	if CheckGrubModules([]string{"ext2", "../../x"}) == nil || CheckGrubModules([]string{"normal"}) == nil {
		t.Error("a module raidswap does not choose passed")
	}
}

func TestGrubLegacyCommands(t *testing.T) {
	got, err := GrubLegacyCommands(Disk{Name: "sdb", BIOSDrive: "hd1", BootMember: "sdb1"})
	if err != nil || strings.Join(got, "; ") != "root (hd1,0); setup (hd1)" {
		t.Errorf("got %q %v", got, err)
	}
	if _, err := GrubLegacyCommands(Disk{Name: "sdb", BootMember: "sdb1"}); err != ErrNoBIOSDrive {
		t.Errorf("no drive: %v", err)
	}
	if _, err := GrubLegacyCommands(Disk{Name: "sdb", BIOSDrive: "(hd1) x", BootMember: "sdb1"}); err != ErrNoBIOSDrive {
		t.Errorf("bad drive: %v", err)
	}
	if _, err := GrubLegacyCommands(Disk{Name: "nvme0n1", BIOSDrive: "hd0", BootMember: "nvme0n1p2"}); err != nil {
		t.Errorf("nvme: %v", err)
	}
}
