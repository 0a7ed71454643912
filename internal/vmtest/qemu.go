package vmtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// DefaultAssetDir is where scripts/vm-assets.sh puts the kernel, modules and initramfs.
const DefaultAssetDir = "/var/cache/raidswap/vm"

// Mount tags of the three 9p shares; the initramfs /init knows the first two.
const (
	tagHostRoot = "hostroot"
	tagControl  = "vmtestctl"
	tagShare    = "vmtestshare"
)

// GuestShare is where Config.Share appears in the guest.
const GuestShare = "/mnt/share"

// guestControl is where the run's control dir (stage2, script, output, exit) appears.
const guestControl = "/run/vmtest"

// assets are the files scripts/vm-assets.sh builds.
type assets struct {
	Dir    string // also the guest path, since the host's / is the guest's /
	Kernel string
	// BzImage is the compressed kernel with its EFI stub: what OVMF (and GRUB) can start;
	// Kernel may be an uncompressed vmlinux, which only the PVH entry of SeaBIOS boots take.
	BzImage string
	Initrd  string
	Release string // uname -r of the guest kernel
}

func assetDir() string {
	if d := os.Getenv("RAIDSWAP_VM_DIR"); d != "" {
		return d
	}
	return DefaultAssetDir
}

func findAssets() (assets, error) {
	dir, err := filepath.Abs(assetDir())
	if err != nil {
		return assets{}, err
	}
	a := assets{Dir: dir, Kernel: filepath.Join(dir, "vmlinuz"), BzImage: filepath.Join(dir, "vmlinuz"), Initrd: filepath.Join(dir, "initrd.img")}
	// An uncompressed vmlinux boots through its PVH entry: no BIOS real-mode path and no
	// in-guest xz decompression, which is seconds under TCG.
	if _, err := os.Stat(filepath.Join(dir, "vmlinux")); err == nil {
		a.Kernel = filepath.Join(dir, "vmlinux")
	}
	rel, err := os.ReadFile(filepath.Join(dir, "kernel-release"))
	if err != nil {
		return a, fmt.Errorf("VM assets missing in %s (run scripts/vm-assets.sh as root): %w", dir, err)
	}
	a.Release = strings.TrimSpace(string(rel))
	for _, f := range []string{a.Kernel, a.Initrd, filepath.Join(dir, "lib/modules", a.Release, "modules.dep")} {
		if _, err := os.Stat(f); err != nil {
			return a, fmt.Errorf("VM assets incomplete in %s (run scripts/vm-assets.sh as root): %w", dir, err)
		}
	}
	return a, nil
}

func findQEMU() (string, error) {
	p, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return "", errors.New("qemu-system-x86_64 not found (apt-get install qemu-system-x86, or run scripts/vm-assets.sh)")
	}
	return p, nil
}

// diskPlan is a Disk with everything QEMU needs to attach it, and re-attach it after an unplug.
type diskPlan struct {
	Disk
	Path   string // image file on the host
	Node   string // -blockdev node-name; survives device_del
	DevID  string // -device id; what device_del names
	Slot   int    // PCI slot on the root bus, fixed so a re-plugged disk returns to its slot
	Logic  int
	Physic int
}

// vmPlan is everything a run decides before QEMU starts.
type vmPlan struct {
	QEMU     string
	Assets   assets
	RunDir   string // per-run temp dir: images, control dir, QMP socket
	Control  string // host side of guestControl
	Share    string
	QMP      string // QMP unix socket
	MemoryMB int
	Disks    []diskPlan
	Firmware Firmware
	UEFIVars string // the writable OVMF variable store, with UEFI
}

func planDisks(disks []Disk, imageDir string) []diskPlan {
	out := make([]diskPlan, len(disks))
	for i, d := range disks {
		lbs, pbs := blockSizes(d)
		p := d.Image
		if p == "" {
			p = filepath.Join(imageDir, fmt.Sprintf("disk%d-%s.img", i, d.Serial))
		}
		out[i] = diskPlan{Disk: d, Path: p, Node: fmt.Sprintf("d%d", i), DevID: fmt.Sprintf("vd%d", i),
			Slot: firstDiskSlot + i, Logic: lbs, Physic: pbs}
	}
	return out
}

// deviceProps are the virtio-blk-pci properties of a disk, in -device order; QMP device_add
// gets the same set.
func (d diskPlan) deviceProps() [][2]string {
	return [][2]string{
		{"driver", "virtio-blk-pci"},
		{"drive", d.Node},
		{"id", d.DevID},
		{"serial", d.Serial},
		{"addr", fmt.Sprintf("0x%x", d.Slot)},
		{"logical_block_size", fmt.Sprint(d.Logic)},
		{"physical_block_size", fmt.Sprint(d.Physic)},
	}
}

// qemuOpt escapes a value for QEMU's comma-separated option syntax.
func qemuOpt(s string) string { return strings.ReplaceAll(s, ",", ",,") }

func kernelCmdline(a assets) string {
	return strings.Join([]string{
		"console=ttyS0", "panic=-1", "loglevel=5",
		// The initramfs /init bind-mounts $moddir/lib/modules/$(uname -r) over the guest's.
		"vmtest.moddir=" + a.Dir,
	}, " ")
}

// qemuArgs builds QEMU's argv (without argv[0]).
func qemuArgs(p vmPlan) []string {
	kernel := p.Assets.Kernel
	if p.Firmware.uefi() {
		kernel = p.Assets.BzImage
	}
	args := []string{
		"-accel", "tcg", "-machine", "pc", "-smp", "1", "-m", fmt.Sprint(p.MemoryMB),
		"-nodefaults", "-no-user-config", "-display", "none", "-vga", "none",
		"-serial", "stdio", "-no-reboot",
		"-kernel", kernel, "-initrd", p.Assets.Initrd,
		"-append", kernelCmdline(p.Assets),
		"-qmp", "unix:" + qemuOpt(p.QMP) + ",server=on,wait=off",
		// The host's / read-only; multidevs=remap keeps inode numbers of different host
		// filesystems (/proc, /sys, /dev/shm, ...) from colliding in the guest.
		"-fsdev", "local,id=fsroot,path=/,security_model=passthrough,readonly=on,multidevs=remap",
		"-device", "virtio-9p-pci,fsdev=fsroot,mount_tag=" + tagHostRoot + ",addr=0x4",
		"-fsdev", "local,id=fsctl,path=" + qemuOpt(p.Control) + ",security_model=passthrough",
		"-device", "virtio-9p-pci,fsdev=fsctl,mount_tag=" + tagControl + ",addr=0x5",
		"-fsdev", "local,id=fsshare,path=" + qemuOpt(p.Share) + ",security_model=passthrough,multidevs=remap",
		"-device", "virtio-9p-pci,fsdev=fsshare,mount_tag=" + tagShare + ",addr=0x6",
		"-device", "virtio-rng-pci,addr=0x7",
	}
	args = append(args, firmwareArgs(p.Firmware, p.UEFIVars)...)
	for _, d := range p.Disks {
		args = append(args, "-blockdev",
			"driver=raw,node-name="+d.Node+",discard=unmap,file.driver=file,file.filename="+qemuOpt(d.Path))
		if d.Unplugged {
			continue
		}
		var kv []string
		for i, pv := range d.deviceProps() {
			if i == 0 {
				kv = append(kv, pv[1])
				continue
			}
			kv = append(kv, pv[0]+"="+qemuOpt(pv[1]))
		}
		args = append(args, "-device", strings.Join(kv, ","))
	}
	return args
}
