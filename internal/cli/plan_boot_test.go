package cli

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/golden"
)

// seedBootTree is the "failed" capture (the seed layout: BIOS boot partition 1, md0 on 2,
// swap 3, md1 on 4) made into a server whose /boot is md0: mounted at /boot, or named in
// /etc/fstab and not mounted; each disk an image with a GPT written by sgdisk and GRUB's own
// boot.img and diskboot.img (grub-pc-bin) where grub-install puts them.
func seedBootTree(t *testing.T, mounted bool) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(fixture("failed"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := capture.Unpack(f, dir); err != nil {
		t.Fatal(err)
	}
	if mounted {
		for _, p := range []string{"proc/192/mountinfo", "proc/192/mounts"} {
			b, err := os.ReadFile(filepath.Join(dir, p))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, p), []byte(strings.ReplaceAll(string(b), " /mnt/boot ", " /boot ")), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(filepath.Join(dir, "boot/grub/i386-pc"), 0o755); err != nil {
			t.Fatal(err)
		}
	} else {
		if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "etc/fstab"), []byte("/dev/md0 /boot ext4 defaults 0 2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "usr/sbin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "usr/sbin/grub-install"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	boot, err := os.ReadFile("/usr/lib/grub/i386-pc/boot.img")
	if err != nil {
		t.Fatalf("grub-pc-bin: %v", err)
	}
	core, err := os.ReadFile("/usr/lib/grub/i386-pc/diskboot.img")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"vda", "vdb"} {
		img := filepath.Join(dir, "dev", d)
		if err := os.WriteFile(img, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(img, 128<<20); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("/sbin/sgdisk", "-n1:2048:+1M", "-t1:ef02", "-n2:0:+40M", "-t2:fd00", "-n3:0:+8M", "-t3:8200", "-n4:0:0", "-t4:fd00", img).CombinedOutput()
		if err != nil {
			t.Fatalf("sgdisk: %v: %s", err, out)
		}
		fd, err := os.OpenFile(img, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		mbr := make([]byte, 440)
		copy(mbr, boot[:440])
		binary.LittleEndian.PutUint64(mbr[0x5c:], 2048)
		if _, err := fd.WriteAt(mbr, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := fd.WriteAt(core[:512], 2048*512); err != nil {
			t.Fatal(err)
		}
		fd.Close()
	}
	return dir
}

// TestPlanSeedBoot: the seed layout's plan lists a bootloader step per disk with what it
// writes, with /boot mounted and not mounted; status shows each disk's boot readiness.
func TestPlanSeedBoot(t *testing.T) {
	for _, tt := range []struct {
		mounted bool
		golden  string
	}{{true, "seed-boot-mounted.txt"}, {false, "seed-boot-unmounted.txt"}} {
		t.Run(tt.golden, func(t *testing.T) {
			root := seedBootTree(t, tt.mounted)
			code, out, errOut := run(t, "--plan", "--failed", "WD-WCC4N1KPB002", "--new", "WD-NEW", "--format", "text", "--root", root)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden.Check(t, filepath.Join("testdata", "plans", tt.golden), []byte(maskPlan(out)))
			_, st, _ := run(t, "status", "--root", root)
			if !strings.Contains(st, " BOOT\n") || !strings.Contains(st, "healthy                        ok\n") {
				t.Errorf("status:\n%s", st)
			}
		})
	}
}
