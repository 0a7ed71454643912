package vmtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
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

// TestVMBuses attaches a disk on every bus and checks what the guest kernel and udev make of
// each: serial, model, vendor, WWN, rotational, block sizes and the by-id/by-path links. Kernel
// names of sdX disks follow probe order across controllers, so the script finds disks by
// serial (vmtest-disk) and the test checks only the name's form.
func TestVMBuses(t *testing.T) {
	Require(t)
	t.Parallel()
	res := RunT(t, Config{
		Disks: []Disk{
			{Serial: "VIRT-1", SizeBytes: 64 << 20},
			{Bus: BusSATA, Serial: "WD-SATA0001", Model: "WDC WD40EFRX-68N32N0", WWN: "0x50014ee2b1a2c3d4", SizeBytes: 64 << 20},
			{Bus: BusSATA, Serial: "S4X-SSD02", Model: "Samsung SSD 870 EVO 1TB", RotationRate: 1, SizeBytes: 64 << 20, PhysicalBlockSize: 4096},
			{Bus: BusSCSI, Serial: "ZC1SCSI3", Vendor: "SEAGATE", Model: "ST4000NM0023", WWN: "0x5000c500a1b2c3d4", SizeBytes: 64 << 20, LogicalBlockSize: 4096},
			{Bus: BusSAS, Serial: "K7SAS004", Vendor: "HGST", Model: "HUS726T4TAL5204", WWN: "0x5000cca2a1b2c3d4", SizeBytes: 64 << 20},
			{Bus: BusNVMe, Serial: "NVME-0005", SizeBytes: 64 << 20, LogicalBlockSize: 4096},
		},
		Script: `set -e
for s in VIRT-1 WD-SATA0001 S4X-SSD02 ZC1SCSI3 K7SAS004 NVME-0005; do
	d=$(vmtest-disk $s)
	eval "$(udevadm info --query=property --export /dev/$d | grep -E '^(ID_SERIAL_SHORT|ID_SCSI_SERIAL|ID_MODEL|ID_VENDOR|ID_WWN|ID_BUS|ID_PATH)=')"
	echo "disk $s: model=${ID_MODEL:-} vendor=${ID_VENDOR:-} wwn=${ID_WWN:-} short=${ID_SERIAL_SHORT:-} scsi_serial=${ID_SCSI_SERIAL:-} bus=${ID_BUS:-} rot=$(cat /sys/block/$d/queue/rotational) lbs=$(cat /sys/block/$d/queue/logical_block_size) pbs=$(cat /sys/block/$d/queue/physical_block_size) path=${ID_PATH:-}"
	echo "name $s $d"
	unset ID_SERIAL_SHORT ID_SCSI_SERIAL ID_MODEL ID_VENDOR ID_WWN ID_BUS ID_PATH
done
for l in ata-WDC_WD40EFRX-68N32N0_WD-SATA0001 wwn-0x50014ee2b1a2c3d4 ata-Samsung_SSD_870_EVO_1TB_S4X-SSD02 \
	wwn-0x5000c500a1b2c3d4 scsi-35000cca2a1b2c3d4 nvme-QEMU_NVMe_Ctrl_NVME-0005 virtio-VIRT-1; do
	echo "by-id $l $(basename $(readlink -f /dev/disk/by-id/$l)) $(vmtest-disk --serial $(basename $(readlink -f /dev/disk/by-id/$l)))"
done
echo "nvme $(ls /sys/class/nvme) $(echo $(cat /sys/class/nvme/nvme0/serial)) $(echo $(cat /sys/class/nvme/nvme0/model))"`,
	})
	if res.ExitCode != 0 {
		t.Fatalf("script failed (%d):\n%s", res.ExitCode, res.Output)
	}
	golden.Contains(t, res.Output,
		"disk VIRT-1: model= vendor= wwn= short= scsi_serial= bus= rot=1 lbs=512 pbs=512 path=pci-0000:00:08.0\n",
		"disk WD-SATA0001: model=WDC_WD40EFRX-68N32N0 vendor= wwn=0x50014ee2b1a2c3d4 short=WD-SATA0001 scsi_serial= bus=ata rot=1 lbs=512 pbs=512 path=pci-0000:00:02.0-ata-1.0\n",
		"disk S4X-SSD02: model=Samsung_SSD_870_EVO_1TB vendor= wwn= short=S4X-SSD02 scsi_serial= bus=ata rot=0 lbs=512 pbs=4096 path=pci-0000:00:02.0-ata-2.0\n",
		// udev's scsi_id makes the WWN (VPD 0x83) the SCSI "serial"; the drive's own serial
		// (VPD 0x80) is ID_SCSI_SERIAL.
		"disk ZC1SCSI3: model=ST4000NM0023 vendor=SEAGATE wwn=0x5000c500a1b2c3d4 short=5000c500a1b2c3d4 scsi_serial=ZC1SCSI3 bus=scsi rot=1 lbs=4096 pbs=4096 path=pci-0000:00:03.0-scsi-0:0:0:0\n",
		"disk K7SAS004: model=HUS726T4TAL5204 vendor=HGST wwn=0x5000cca2a1b2c3d4 short=5000cca2a1b2c3d4 scsi_serial=K7SAS004 bus=scsi rot=1 lbs=512 pbs=512 path=pci-0000:00:1f.0-sas-phy0-lun-0\n",
		// QEMU's nvme has no EUI-64/NGUID: the kernel's wwid is the synthetic vendor-serial-model form.
		"disk NVME-0005: model=QEMU NVMe Ctrl vendor= wwn=nvme.1b36-4e564d452d30303035-51454d55204e564d65204374726c-00000001 short=NVME-0005 scsi_serial= bus= rot=0 lbs=4096 pbs=4096 path=pci-0000:00:0d.0-nvme-1\n",
		"name VIRT-1 vda\n", "name NVME-0005 nvme0n1\n",
		"by-id ata-WDC_WD40EFRX-68N32N0_WD-SATA0001 sd", " WD-SATA0001\n",
		"by-id wwn-0x50014ee2b1a2c3d4 sd", "by-id ata-Samsung_SSD_870_EVO_1TB_S4X-SSD02 sd", " S4X-SSD02\n",
		"by-id wwn-0x5000c500a1b2c3d4 sd", " ZC1SCSI3\n", "by-id scsi-35000cca2a1b2c3d4 sd", " K7SAS004\n",
		"by-id nvme-QEMU_NVMe_Ctrl_NVME-0005 nvme0n1 NVME-0005\n", "by-id virtio-VIRT-1 vda VIRT-1\n",
		"nvme nvme0 NVME-0005 QEMU NVMe Ctrl\n",
	)
	for _, s := range []string{"WD-SATA0001", "S4X-SSD02", "ZC1SCSI3", "K7SAS004"} {
		if !regexp.MustCompile(`(?m)^name ` + s + ` sd[a-z]$`).MatchString(res.Output) {
			t.Errorf("%s is not an sdX disk:\n%s", s, res.Output)
		}
	}
}

// TestVMBusHotplug pulls and re-inserts disks through QMP on the buses where QEMU can, and
// records what the others do: a SCSI disk behind virtio-scsi and an NVMe controller come and
// go like virtio-blk; an AHCI port refuses device_del; on the LSI SAS HBA (no hot-plug events
// to the guest) see the package doc.
func TestVMBusHotplug(t *testing.T) {
	Require(t)
	t.Parallel()
	res := RunT(t, Config{
		Disks: []Disk{
			{Bus: BusSCSI, Serial: "SCSI-A", WWN: "0x5000c500000000a1", SizeBytes: 64 << 20},
			{Bus: BusSCSI, Serial: "SCSI-NEW", WWN: "0x5000c500000000b2", SizeBytes: 64 << 20, Unplugged: true},
			{Bus: BusNVMe, Serial: "NVME-A", SizeBytes: 64 << 20},
			{Bus: BusNVMe, Serial: "NVME-NEW", SizeBytes: 64 << 20, Unplugged: true},
			{Bus: BusSATA, Serial: "SATA-A", SizeBytes: 64 << 20},
			{Bus: BusSAS, Serial: "SAS-A", WWN: "0x5000cca2000000c3", SizeBytes: 64 << 20},
			{Bus: BusSAS, Serial: "SAS-B", WWN: "0x5000cca2000000c4", SizeBytes: 64 << 20},
		},
		Script: `set -e
sd=$(vmtest-disk SCSI-A)
vmtest-hotplug unplug $sd
vmtest-disk SCSI-A || echo "SCSI-A gone"
test ! -e /dev/disk/by-id/wwn-0x5000c500000000a1 && echo "SCSI-A by-id gone"
vmtest-hotplug unplug NVME-A
vmtest-disk NVME-A || echo "NVME-A gone"
d=$(vmtest-hotplug plug SCSI-NEW); echo "plugged SCSI-NEW $(readlink /dev/disk/by-id/wwn-0x5000c500000000b2 | sed 's/sd[a-z]*$/sdX/')"
d=$(vmtest-hotplug plug NVME-NEW); echo "plugged NVME-NEW $d $(udevadm info --query=property /dev/$d | grep ^ID_PATH=)"
d=$(vmtest-hotplug plug NVME-A); echo "back NVME-A $(readlink /dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_NVME-A) $(udevadm info --query=property /dev/$d | grep ^ID_PATH=)"
d=$(vmtest-hotplug plug SCSI-A); echo "back SCSI-A $(udevadm info --query=property /dev/$d | grep ^ID_PATH=)"
vmtest-hotplug unplug SATA-A 2>&1 || echo "sata unplug refused"
vmtest-disk SATA-A >/dev/null && echo "SATA-A still there"
sas=$(vmtest-disk SAS-A)
vmtest-hotplug unplug SAS-A 2>&1 && echo "sas unplugged"
vmtest-disk SAS-A >/dev/null && echo "SAS-A still listed"
dd if=/dev/$sas of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null || echo "SAS-A read fails"
dmesg | grep -q "\[$sas\].*DID_NO_CONNECT" && echo "SAS-A DID_NO_CONNECT"
vmtest-hotplug plug SAS-A 2>&1 || echo "sas plug refused"
vmtest-disk SAS-B >/dev/null && echo "SAS-B still there"`,
	})
	if res.ExitCode != 0 {
		t.Fatalf("script failed (%d):\n%s", res.ExitCode, res.Output)
	}
	golden.Contains(t, res.Output,
		"SCSI-A gone\nSCSI-A by-id gone\nNVME-A gone\n",
		"plugged SCSI-NEW ../../sdX\n",
		"plugged NVME-NEW nvme", " ID_PATH=pci-0000:00:0b.0-nvme-1\n",
		"back NVME-A ../../nvme", " ID_PATH=pci-0000:00:0a.0-nvme-1\n", // its own slot again
		"back SCSI-A ID_PATH=pci-0000:00:03.0-scsi-0:0:0:0\n", // its own target again
		"Bus 'ahci0.0' does not support hotplugging", "sata unplug refused\nSATA-A still there\n",
		"the mptsas1068 HBA tells the guest nothing", "sas unplugged\nSAS-A still listed\nSAS-A read fails\nSAS-A DID_NO_CONNECT\n",
		"does not hot-plug", "sas plug refused\nSAS-B still there\n",
	)
}
