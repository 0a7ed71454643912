package vmtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
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
	Bus    string // Disk.Bus with the default filled in
	Path   string // image file on the host
	Node   string // -blockdev node-name; survives device_del
	DevID  string // -device id; what device_del names
	Slot   int    // PCI slot on the root bus (virtio, nvme), fixed so a re-plugged disk returns to its slot
	Port   int    // AHCI port (sata) or SCSI target id (scsi, sas), fixed for the same reason
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

// Disk controllers: one of each kind the disks need, on fixed PCI slots outside the disks'.
const (
	ahciID, ahciSlot = "ahci0", 0x02
	scsiID, scsiSlot = "scsi0", 0x03
	sasID, sasSlot   = "sas0", 0x1f
)

// devPrefix names the -device ids per bus; virtio keeps "vd" as before buses existed.
var devPrefix = map[string]string{BusVirtio: "vd", BusSATA: "sata", BusSCSI: "sd", BusSAS: "sas", BusNVMe: "nvme"}

func planDisks(disks []Disk, imageDir string) []diskPlan {
	out := make([]diskPlan, len(disks))
	port := map[string]int{}
	for i, d := range disks {
		lbs, pbs := blockSizes(d)
		p := d.Image
		if p == "" {
			p = filepath.Join(imageDir, fmt.Sprintf("disk%d-%s.img", i, fileSafe.Replace(d.Serial)))
		}
		b := bus(d)
		out[i] = diskPlan{Disk: d, Bus: b, Path: p, Node: fmt.Sprintf("d%d", i), DevID: fmt.Sprintf("%s%d", devPrefix[b], i),
			Slot: firstDiskSlot + i, Port: port[b], Logic: lbs, Physic: pbs}
		port[b]++
	}
	return out
}

// buses is the set of buses the disks use (unplugged ones too: their controller and driver
// must be there before they are plugged).
func (p vmPlan) buses() map[string]bool {
	m := map[string]bool{}
	for _, d := range p.Disks {
		m[d.Bus] = true
	}
	return m
}

// controllerArgs are the -device options of the disk controllers the plan needs.
func controllerArgs(buses map[string]bool) []string {
	var args []string
	if buses[BusSATA] {
		args = append(args, "-device", fmt.Sprintf("ich9-ahci,id=%s,addr=0x%x", ahciID, ahciSlot))
	}
	if buses[BusSCSI] {
		args = append(args, "-device", fmt.Sprintf("virtio-scsi-pci,id=%s,addr=0x%x", scsiID, scsiSlot))
	}
	if buses[BusSAS] {
		args = append(args, "-device", fmt.Sprintf("mptsas1068,id=%s,addr=0x%x", sasID, sasSlot))
	}
	return args
}

// prop is one -device property; Value is a string, an int, or a wwn (printed in hex on the
// command line, a JSON number for QMP).
type prop struct {
	Key   string
	Value any
}

type wwn uint64

func (p prop) String() string {
	if w, ok := p.Value.(wwn); ok {
		return fmt.Sprintf("0x%016x", uint64(w))
	}
	return fmt.Sprint(p.Value)
}

// deviceProps are the device properties of a disk, in -device order; QMP device_add gets the
// same set.
func (d diskPlan) deviceProps() []prop {
	ps := []prop{}
	add := func(k string, v any) { ps = append(ps, prop{k, v}) }
	switch d.Bus {
	case BusVirtio:
		add("driver", "virtio-blk-pci")
		add("drive", d.Node)
		add("id", d.DevID)
		add("serial", d.Serial)
		add("addr", fmt.Sprintf("0x%x", d.Slot))
	case BusNVMe:
		// One namespace (nsid 1) on the controller's own drive: nvmeNn1.
		add("driver", "nvme")
		add("drive", d.Node)
		add("id", d.DevID)
		add("serial", d.Serial)
		add("addr", fmt.Sprintf("0x%x", d.Slot))
	case BusSATA:
		add("driver", "ide-hd")
		add("drive", d.Node)
		add("id", d.DevID)
		add("bus", fmt.Sprintf("%s.%d", ahciID, d.Port))
		add("serial", d.Serial)
	case BusSCSI, BusSAS:
		hba := scsiID
		if d.Bus == BusSAS {
			hba = sasID
		}
		add("driver", "scsi-hd")
		add("drive", d.Node)
		add("id", d.DevID)
		add("bus", hba+".0")
		add("channel", 0)
		add("scsi-id", d.Port)
		add("lun", 0)
		add("serial", d.Serial)
		if d.Vendor != "" {
			add("vendor", d.Vendor)
		}
	}
	if d.Model != "" {
		if d.Bus == BusSATA {
			add("model", d.Model)
		} else {
			add("product", d.Model)
		}
	}
	if d.WWN != "" {
		// validate checked the form.
		n, _ := strconv.ParseUint(d.WWN[2:], 16, 64)
		add("wwn", wwn(n))
	}
	if d.RotationRate != 0 {
		add("rotation_rate", d.RotationRate)
	}
	add("logical_block_size", d.Logic)
	add("physical_block_size", d.Physic)
	return ps
}

// qmpArgs are deviceProps as QMP device_add arguments.
func (d diskPlan) qmpArgs() map[string]any {
	args := map[string]any{}
	for _, p := range d.deviceProps() {
		if w, ok := p.Value.(wwn); ok {
			args[p.Key] = uint64(w)
		} else {
			args[p.Key] = p.Value
		}
	}
	return args
}

// busModules are the guest modules each bus needs; udev does not load them by itself
// (FACTS.md), so stage2 loads them before it replays the block devices.
var busModules = map[string][]string{
	BusSATA: {"ahci", "sd_mod", "sg"},
	BusSCSI: {"virtio_scsi", "sd_mod", "sg"},
	BusSAS:  {"mptsas", "sd_mod", "sg"},
	BusNVMe: {"nvme"},
}

// guestModules are the modules the plan's buses need, sorted and without duplicates.
func (p vmPlan) guestModules() []string {
	seen := map[string]bool{}
	var mods []string
	for b := range p.buses() {
		for _, m := range busModules[b] {
			if !seen[m] {
				seen[m] = true
				mods = append(mods, m)
			}
		}
	}
	sort.Strings(mods)
	return mods
}

// checkModules says which of mods the asset tree lacks (assets built by an older
// scripts/vm-assets.sh), so a run fails with the fix instead of a guest without its disks.
func checkModules(a assets, mods []string) error {
	dep, err := os.ReadFile(filepath.Join(a.Dir, "lib/modules", a.Release, "modules.dep"))
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	builtin, _ := os.ReadFile(filepath.Join(a.Dir, "lib/modules", a.Release, "modules.builtin"))
	have := map[string]bool{}
	for _, b := range [][]byte{dep, builtin} {
		for _, line := range strings.Split(string(b), "\n") {
			f, _, _ := strings.Cut(line, ":")
			base := filepath.Base(f)
			base, _, _ = strings.Cut(base, ".ko")
			have[strings.ReplaceAll(base, "-", "_")] = true
		}
	}
	var missing []string
	for _, m := range mods {
		if !have[strings.ReplaceAll(m, "-", "_")] {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("vmtest: VM assets in %s lack module(s) %s for the configured disk buses (rerun scripts/vm-assets.sh as root)", a.Dir, strings.Join(missing, ", "))
	}
	return nil
}

// qemuOpt escapes a value for QEMU's comma-separated option syntax.
// fileSafe makes a serial part of a file name.
var fileSafe = strings.NewReplacer("/", "_", " ", "_", "+", "_")

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
	args = append(args, controllerArgs(p.buses())...)
	for _, d := range p.Disks {
		args = append(args, "-blockdev",
			"driver=raw,node-name="+d.Node+",discard=unmap,file.driver=file,file.filename="+qemuOpt(d.Path))
		if d.Unplugged {
			continue
		}
		args = append(args, "-device", d.deviceArg())
	}
	return args
}

// deviceArg is the disk's -device option; extra are further key=value properties.
func (d diskPlan) deviceArg(extra ...string) string {
	var kv []string
	for i, pv := range d.deviceProps() {
		if i == 0 {
			kv = append(kv, pv.String())
			continue
		}
		kv = append(kv, pv.Key+"="+qemuOpt(pv.String()))
	}
	return strings.Join(append(kv, extra...), ",")
}
