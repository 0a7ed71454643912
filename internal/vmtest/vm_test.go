package vmtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/golden"
)

func TestVMBootExitCodeAndShare(t *testing.T) {
	Require(t)
	t.Parallel()
	res := RunT(t, Config{
		Env: map[string]string{"GREETING": "it's here"},
		Script: `echo "out $GREETING in_vm=$RAIDSWAP_IN_VM"
echo err >&2
uname -r >/mnt/share/release
pwd
exit 7`,
	})
	if res.ExitCode != 7 {
		t.Errorf("exit code %d, want 7", res.ExitCode)
	}
	golden.Contains(t, res.Output, "out it's here in_vm=1\n", "err\n", GuestShare+"\n")
	rel, err := os.ReadFile(filepath.Join(res.Share, "release"))
	if err != nil || !strings.HasPrefix(string(rel), "6.") {
		t.Errorf("share file: %q, %v", rel, err)
	}
	if res.Boot <= 0 || res.Boot > res.Duration {
		t.Errorf("boot %v, duration %v", res.Boot, res.Duration)
	}
}

func TestVMDisks(t *testing.T) {
	Require(t)
	t.Parallel()
	res := RunT(t, Config{
		Disks: []Disk{
			{Serial: "WD-AAAA1111", SizeBytes: 64 << 20},
			{Serial: "HGST-4KN", SizeBytes: 64 << 20, LogicalBlockSize: 4096},
			{Serial: "SSD-512E", SizeBytes: 64 << 20, PhysicalBlockSize: 4096},
		},
		Script: `set -e
for d in vda vdb vdc; do
	echo "$d $(cat /sys/block/$d/serial) $(cat /sys/block/$d/queue/logical_block_size) $(cat /sys/block/$d/queue/physical_block_size) $(cat /sys/block/$d/size)"
done
readlink -f /dev/disk/by-id/virtio-WD-AAAA1111 /dev/disk/by-id/virtio-HGST-4KN
test -f /run/udev/data/b254:0 && echo udev-data`,
	})
	if res.ExitCode != 0 {
		t.Fatalf("script failed (%d):\n%s", res.ExitCode, res.Output)
	}
	golden.Contains(t, res.Output,
		"vda WD-AAAA1111 512 512 131072\n",
		"vdb HGST-4KN 4096 4096 131072\n", // /sys size is always in 512-byte units
		"vdc SSD-512E 512 4096 131072\n",
		"/dev/vda\n/dev/vdb\n",
		"udev-data\n",
	)
}

func TestVMRaid1(t *testing.T) {
	Require(t)
	t.Parallel()
	res := RunT(t, Config{
		Disks: []Disk{{Serial: "D1", SizeBytes: 128 << 20}, {Serial: "D2", SizeBytes: 128 << 20}},
		Script: `set -e
modprobe raid1
mdadm --create /dev/md0 --level=1 --raid-devices=2 --metadata=1.2 --bitmap=none --run /dev/vda /dev/vdb
mdadm --wait /dev/md0 || true
cat /proc/mdstat
cat /sys/block/md0/md/array_state
udevadm settle
ls /dev/disk/by-id/ | grep '^md-uuid-'`,
	})
	if res.ExitCode != 0 {
		t.Fatalf("script failed (%d):\n%s", res.ExitCode, res.Output)
	}
	golden.Contains(t, res.Output, "md0 : active raid1 vdb[1] vda[0]", "[2/2] [UU]", "clean\n", "md-uuid-")
}

func TestVMTimeoutKillsHungGuest(t *testing.T) {
	Require(t)
	t.Parallel()
	res, err := Run(t.Context(), Config{Script: "echo sleeping; sleep 600", Timeout: 12 * time.Second, NoUdev: true, Share: t.TempDir()})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	// Duration is QEMU's lifetime (waiting for a free VM slot comes before it).
	if res == nil || res.Duration > 20*time.Second {
		t.Fatalf("QEMU lived %v; the timeout was 12s", res.Duration)
	}
	if !strings.Contains(res.Output, "sleeping") {
		t.Errorf("partial output missing: %q", res.Output)
	}
}

// cancelOn cancels when the console shows marker.
type cancelOn struct {
	marker string
	cancel func()
	at     time.Time
	buf    strings.Builder
	mu     sync.Mutex
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if c.at.IsZero() && strings.Contains(c.buf.String(), c.marker) {
		c.at = time.Now()
		c.cancel()
	}
	return len(p), nil
}

func TestVMContextCancel(t *testing.T) {
	Require(t)
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := &cancelOn{marker: "script starting", cancel: cancel}
	res, err := Run(ctx, Config{Script: "sleep 600", NoUdev: true, Share: t.TempDir(), ConsoleOut: c})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() {
		t.Fatalf("the script never started; console:\n%s", res.Console)
	}
	if d := time.Since(c.at); d > 5*time.Second {
		t.Errorf("Run returned %v after cancel", d)
	}
}

func TestVMHotplug(t *testing.T) {
	Require(t)
	t.Parallel()
	res := RunT(t, Config{
		Disks: []Disk{
			{Serial: "OLD-A", SizeBytes: 64 << 20},
			{Serial: "OLD-B", SizeBytes: 64 << 20},
			{Serial: "NEW-C", SizeBytes: 64 << 20, LogicalBlockSize: 4096, Unplugged: true},
		},
		Script: `set -e
ls /sys/block | grep vd | tr '\n' ' '; echo
vmtest-hotplug unplug vdb
echo "after unplug: $(ls /sys/block | grep vd | tr '\n' ' ')"
test ! -e /dev/disk/by-id/virtio-OLD-B
dev=$(vmtest-hotplug plug NEW-C)
echo "plugged $dev $(cat /sys/block/$dev/serial) $(cat /sys/block/$dev/queue/logical_block_size)"
test -L /dev/disk/by-id/virtio-NEW-C
vmtest-hotplug plug OLD-B >/dev/null
echo "back: $(for f in /sys/block/vd*/serial; do echo "$(cat $f)"; done | sort | tr '\n' ' ')"
vmtest-hotplug plug OLD-B || echo "refused double plug"`,
	})
	if res.ExitCode != 0 {
		t.Fatalf("script failed (%d):\n%s", res.ExitCode, res.Output)
	}
	golden.Contains(t, res.Output, "after unplug: vda \n", "plugged vd", " NEW-C 4096\n", "back: NEW-C OLD-A OLD-B \n", "refused double plug")
}

// TestVMParallel runs two VMs at once: separate images, shares and QMP sockets.
func TestVMParallel(t *testing.T) {
	Require(t)
	t.Parallel()
	var wg sync.WaitGroup
	results := make([]*Result, 2)
	errs := make([]error, 2)
	for i, serial := range []string{"PAR-ONE", "PAR-TWO"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = Run(t.Context(), Config{
				Disks:  []Disk{{Serial: serial, SizeBytes: 32 << 20}},
				Script: `cat /sys/block/vda/serial | tee /mnt/share/serial; dd if=/dev/zero of=/dev/vda bs=1M count=8 status=none`,
				Share:  t.TempDir(),
			})
		}()
	}
	wg.Wait()
	for i, serial := range []string{"PAR-ONE", "PAR-TWO"} {
		if errs[i] != nil {
			t.Fatalf("VM %d: %v", i, errs[i])
		}
		b, _ := os.ReadFile(filepath.Join(results[i].Share, "serial"))
		if results[i].ExitCode != 0 || strings.TrimSpace(string(b)) != serial {
			t.Errorf("VM %d: exit %d, serial %q, output %s", i, results[i].ExitCode, b, results[i].Output)
		}
	}
}
