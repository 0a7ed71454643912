package vmtest

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	ok := Disk{Serial: "WD-A", SizeBytes: 1 << 20}
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for no error
	}{
		{"fine", Config{Disks: []Disk{ok, {Serial: "WD-B", SizeBytes: 1 << 20, LogicalBlockSize: 4096}}}, ""},
		{"empty serial", Config{Disks: []Disk{{SizeBytes: 1 << 20}}}, "serial"},
		{"serial too long", Config{Disks: []Disk{{Serial: strings.Repeat("x", 21), SizeBytes: 1 << 20}}}, "serial"},
		{"serial with comma", Config{Disks: []Disk{{Serial: "a,b", SizeBytes: 1 << 20}}}, "serial"},
		{"serial with space, slash and plus", Config{Disks: []Disk{{Serial: "WD X/1+A", SizeBytes: 1 << 20}}}, ""},
		{"serial with a leading space", Config{Disks: []Disk{{Serial: " WD", SizeBytes: 1 << 20}}}, "serial"},
		{"serial with a trailing space", Config{Disks: []Disk{{Serial: "WD ", SizeBytes: 1 << 20}}}, "serial"},
		{"serial twice", Config{Disks: []Disk{ok, ok}}, "used twice"},
		{"twins allowed", Config{DuplicateSerials: true, Disks: []Disk{ok, {Bus: BusNVMe, Serial: "WD-A", SizeBytes: 1 << 20}}}, ""},
		{"twins unplugged", Config{DuplicateSerials: true, Disks: []Disk{ok, {Serial: "WD-A", SizeBytes: 1 << 20, Unplugged: true}}}, "cannot be Unplugged"},
		{"no size", Config{Disks: []Disk{{Serial: "A"}}}, "size"},
		{"size not multiple of 4K", Config{Disks: []Disk{{Serial: "A", SizeBytes: 512 * 9, LogicalBlockSize: 4096}}}, "size"},
		{"odd block size", Config{Disks: []Disk{{Serial: "A", SizeBytes: 1 << 20, LogicalBlockSize: 1000}}}, "block sizes"},
		{"physical below logical", Config{Disks: []Disk{{Serial: "A", SizeBytes: 1 << 20, LogicalBlockSize: 4096, PhysicalBlockSize: 512}}}, "block sizes"},
		{"missing image", Config{Disks: []Disk{{Serial: "A", Image: "/nonexistent/img"}}}, "no such file"},
		{"bad env", Config{Env: map[string]string{"A-B": "x"}}, "not a shell identifier"},
		{"relative dir", Config{Dir: "tmp"}, "absolute"},
		{"every bus", Config{Disks: []Disk{
			{Bus: BusSATA, Serial: "S1", SizeBytes: 1 << 20, Model: "WDC WD40EFRX-68N32N0", WWN: "0x50014ee2b1a2c3d4", RotationRate: 5400},
			{Bus: BusSCSI, Serial: "S2", SizeBytes: 1 << 20, Vendor: "SEAGATE", Model: "ST4000NM0023", WWN: "0x5000c500a1b2c3d4", Unplugged: true},
			{Bus: BusSAS, Serial: "S3", SizeBytes: 1 << 20, WWN: "0x5000cca2a1b2c3d4", LogicalBlockSize: 4096},
			{Bus: BusNVMe, Serial: "S4", SizeBytes: 1 << 20, LogicalBlockSize: 4096, Unplugged: true},
			{Bus: BusVirtio, Serial: "S5", SizeBytes: 1 << 20},
		}}, ""},
		{"unknown bus", Config{Disks: []Disk{{Bus: "usb", Serial: "A", SizeBytes: 1 << 20}}}, "unknown bus"},
		{"virtio model", Config{Disks: []Disk{{Serial: "A", SizeBytes: 1 << 20, Model: "X"}}}, "cannot carry a model"},
		{"virtio wwn", Config{Disks: []Disk{{Serial: "A", SizeBytes: 1 << 20, WWN: "0x5000c500a1b2c3d4"}}}, "cannot carry a WWN"},
		{"nvme model", Config{Disks: []Disk{{Bus: BusNVMe, Serial: "A", SizeBytes: 1 << 20, Model: "X"}}}, "cannot carry a model"},
		{"nvme wwn", Config{Disks: []Disk{{Bus: BusNVMe, Serial: "A", SizeBytes: 1 << 20, WWN: "0x5000c500a1b2c3d4"}}}, "cannot carry a WWN"},
		{"nvme rotation", Config{Disks: []Disk{{Bus: BusNVMe, Serial: "A", SizeBytes: 1 << 20, RotationRate: 1}}}, "rotation rate"},
		{"sata vendor", Config{Disks: []Disk{{Bus: BusSATA, Serial: "A", SizeBytes: 1 << 20, Vendor: "WD"}}}, "cannot carry a vendor"},
		{"sata 4Kn", Config{Disks: []Disk{{Bus: BusSATA, Serial: "A", SizeBytes: 1 << 20, LogicalBlockSize: 4096}}}, "512 only"},
		{"sata unplugged", Config{Disks: []Disk{{Bus: BusSATA, Serial: "A", SizeBytes: 1 << 20, Unplugged: true}}}, "do not hot-plug"},
		{"sata wwn not naa 5", Config{Disks: []Disk{{Bus: BusSATA, Serial: "A", SizeBytes: 1 << 20, WWN: "0x6000c500a1b2c3d4"}}}, "NAA 5"},
		{"sata model too long", Config{Disks: []Disk{{Bus: BusSATA, Serial: "A", SizeBytes: 1 << 20, Model: strings.Repeat("m", 41)}}}, "model"},
		{"seven sata disks", Config{Disks: func() []Disk {
			var ds []Disk
			for i := range 7 {
				ds = append(ds, Disk{Bus: BusSATA, Serial: string(rune('A' + i)), SizeBytes: 1 << 20})
			}
			return ds
		}()}, "6 ports"},
		{"scsi product too long", Config{Disks: []Disk{{Bus: BusSCSI, Serial: "A", SizeBytes: 1 << 20, Model: strings.Repeat("p", 17)}}}, "product"},
		{"scsi vendor too long", Config{Disks: []Disk{{Bus: BusSCSI, Serial: "A", SizeBytes: 1 << 20, Vendor: "NINECHARS"}}}, "vendor"},
		{"scsi vendor with comma", Config{Disks: []Disk{{Bus: BusSCSI, Serial: "A", SizeBytes: 1 << 20, Vendor: "A,B"}}}, "vendor"},
		{"scsi vendor edge blank", Config{Disks: []Disk{{Bus: BusSCSI, Serial: "A", SizeBytes: 1 << 20, Vendor: "HGST "}}}, "vendor"},
		{"scsi wwn zero", Config{Disks: []Disk{{Bus: BusSCSI, Serial: "A", SizeBytes: 1 << 20, WWN: "0x0000000000000000"}}}, "WWN 0"},
		{"wwn upper case", Config{Disks: []Disk{{Bus: BusSCSI, Serial: "A", SizeBytes: 1 << 20, WWN: "0x5000C500A1B2C3D4"}}}, "hex digits"},
		{"wwn short", Config{Disks: []Disk{{Bus: BusSCSI, Serial: "A", SizeBytes: 1 << 20, WWN: "0x5000c500"}}}, "hex digits"},
		{"sas without wwn", Config{Disks: []Disk{{Bus: BusSAS, Serial: "A", SizeBytes: 1 << 20}}}, "needs a WWN"},
		{"sas unplugged", Config{Disks: []Disk{{Bus: BusSAS, Serial: "A", SizeBytes: 1 << 20, WWN: "0x5000cca2a1b2c3d4", Unplugged: true}}}, "does not hot-plug"},
		{"rotation rate in the reserved range", Config{Disks: []Disk{{Bus: BusSCSI, Serial: "A", SizeBytes: 1 << 20, RotationRate: 2}}}, "rotation rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validate(&tt.cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestQEMUArgs(t *testing.T) {
	p := vmPlan{
		Assets:   assets{Dir: "/var/cache/raidswap/vm", Kernel: "/k/vmlinux", Initrd: "/k/initrd.img", Release: "6.1.0-56-amd64"},
		Control:  "/dev/shm/vmtest-1/ctl",
		Share:    "/tmp/share,odd",
		QMP:      "/dev/shm/vmtest-1/qmp.sock",
		MemoryMB: 1024,
		Disks: planDisks([]Disk{
			{Serial: "WD-A", SizeBytes: 1 << 30},
			{Serial: "WD-B", SizeBytes: 1 << 30, LogicalBlockSize: 4096},
			{Serial: "NEW", SizeBytes: 1 << 30, Unplugged: true},
		}, "/dev/shm/vmtest-1"),
	}
	args := qemuArgs(p)
	joined := strings.Join(args, " ")
	for _, want := range []string{
		"-accel tcg -machine pc",
		"-no-reboot",
		"-kernel /k/vmlinux -initrd /k/initrd.img",
		"console=ttyS0 panic=-1",
		"vmtest.moddir=/var/cache/raidswap/vm",
		"path=/,security_model=passthrough,readonly=on,multidevs=remap",
		"mount_tag=hostroot",
		"path=/tmp/share,,odd,", // commas in paths are doubled
		"-qmp unix:/dev/shm/vmtest-1/qmp.sock,server=on,wait=off",
		"driver=raw,node-name=d0,discard=unmap,file.driver=file,file.filename=/dev/shm/vmtest-1/disk0-WD-A.img",
		"virtio-blk-pci,drive=d0,id=vd0,serial=WD-A,addr=0x8,logical_block_size=512,physical_block_size=512",
		"virtio-blk-pci,drive=d1,id=vd1,serial=WD-B,addr=0x9,logical_block_size=4096,physical_block_size=4096",
		"node-name=d2,", // the unplugged disk's node exists ...
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("argv lacks %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "serial=NEW") { // ... but not its device
		t.Errorf("unplugged disk attached at boot:\n%s", joined)
	}
	if i := slices.Index(args, "-append"); i < 0 || strings.Contains(args[i+1], ",") {
		t.Errorf("bad -append in %q", args)
	}
}

func TestQEMUArgsBuses(t *testing.T) {
	p := vmPlan{
		Assets: assets{Kernel: "/k/vmlinux", Initrd: "/k/initrd.img"},
		Disks: planDisks([]Disk{
			{Serial: "VIRT-A", SizeBytes: 1 << 30},
			{Bus: BusSATA, Serial: "WD-A", Model: "WDC WD40EFRX-68N32N0", WWN: "0x50014ee2b1a2c3d4", RotationRate: 5400, PhysicalBlockSize: 4096, SizeBytes: 1 << 30},
			{Bus: BusSATA, Serial: "WD-B", SizeBytes: 1 << 30},
			{Bus: BusSCSI, Serial: "ZC-A", Vendor: "SEAGATE", Model: "ST4000NM0023", WWN: "0x5000c500a1b2c3d4", SizeBytes: 1 << 30},
			{Bus: BusSCSI, Serial: "ZC-NEW", SizeBytes: 1 << 30, Unplugged: true},
			{Bus: BusSAS, Serial: "K7-A", WWN: "0x5000cca2a1b2c3d4", LogicalBlockSize: 4096, SizeBytes: 1 << 30},
			{Bus: BusNVMe, Serial: "NV-A", LogicalBlockSize: 4096, SizeBytes: 1 << 30},
		}, "/r"),
	}
	joined := strings.Join(qemuArgs(p), " ")
	for _, want := range []string{
		"-device ich9-ahci,id=ahci0,addr=0x2 ",
		"-device virtio-scsi-pci,id=scsi0,addr=0x3 ",
		"-device mptsas1068,id=sas0,addr=0x1f ",
		"virtio-blk-pci,drive=d0,id=vd0,serial=VIRT-A,addr=0x8,logical_block_size=512,physical_block_size=512",
		"ide-hd,drive=d1,id=sata1,bus=ahci0.0,serial=WD-A,model=WDC WD40EFRX-68N32N0,wwn=0x50014ee2b1a2c3d4,rotation_rate=5400,logical_block_size=512,physical_block_size=4096",
		"ide-hd,drive=d2,id=sata2,bus=ahci0.1,serial=WD-B,logical_block_size=512,physical_block_size=512",
		"scsi-hd,drive=d3,id=sd3,bus=scsi0.0,channel=0,scsi-id=0,lun=0,serial=ZC-A,vendor=SEAGATE,product=ST4000NM0023,wwn=0x5000c500a1b2c3d4,logical_block_size=512",
		"scsi-hd,drive=d5,id=sas5,bus=sas0.0,channel=0,scsi-id=0,lun=0,serial=K7-A,wwn=0x5000cca2a1b2c3d4,logical_block_size=4096,physical_block_size=4096",
		"nvme,drive=d6,id=nvme6,serial=NV-A,addr=0xe,logical_block_size=4096,physical_block_size=4096",
		"node-name=d4,",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("argv lacks %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "serial=ZC-NEW") {
		t.Errorf("unplugged disk attached at boot:\n%s", joined)
	}
	// QMP gets typed values: numbers stay numbers (QEMU's device_add refuses "0" for an int).
	args := p.Disks[4].qmpArgs()
	if args["driver"] != "scsi-hd" || args["bus"] != "scsi0.0" || args["scsi-id"] != 1 || args["lun"] != 0 || args["logical_block_size"] != 512 {
		t.Errorf("qmp args %v", args)
	}
	if w := p.Disks[3].qmpArgs()["wwn"]; w != uint64(0x5000c500a1b2c3d4) {
		t.Errorf("qmp wwn %T %v", w, w)
	}
	if got := strings.Join(p.guestModules(), " "); got != "ahci mptsas nvme sd_mod sg virtio_scsi" {
		t.Errorf("guest modules %q", got)
	}
	if got := bootSerials(p.Disks); got != "VIRT-A\nWD-A\nWD-B\nZC-A\nK7-A\nNV-A\n" {
		t.Errorf("boot serials %q", got)
	}
	// Only virtio disks: no controller, no modules, argv as before buses existed.
	v := vmPlan{Disks: planDisks([]Disk{{Serial: "A", SizeBytes: 1 << 20}}, "/r")}
	if j := strings.Join(qemuArgs(v), " "); strings.Contains(j, "ahci") || strings.Contains(j, "scsi") || len(v.guestModules()) != 0 {
		t.Errorf("virtio-only plan has controllers or modules: %s %v", j, v.guestModules())
	}
}

func TestCheckModules(t *testing.T) {
	dir := t.TempDir()
	a := assets{Dir: dir, Release: "6.1.0-1-amd64"}
	md := dir + "/lib/modules/6.1.0-1-amd64"
	if err := os.MkdirAll(md, 0o755); err != nil {
		t.Fatal(err)
	}
	dep := "kernel/drivers/nvme/host/nvme.ko: kernel/drivers/nvme/host/nvme-core.ko\nkernel/drivers/scsi/sd_mod.ko.xz:\n"
	if err := os.WriteFile(md+"/modules.dep", []byte(dep), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkModules(a, []string{"nvme", "sd_mod"}); err != nil {
		t.Errorf("nvme, sd_mod: %v", err)
	}
	err := checkModules(a, []string{"ahci", "nvme", "virtio_scsi"})
	if err == nil || !strings.Contains(err.Error(), "lack module(s) ahci, virtio_scsi") || !strings.Contains(err.Error(), "scripts/vm-assets.sh") {
		t.Errorf("missing modules: %v", err)
	}
}

func TestEnvFile(t *testing.T) {
	got := envFile(map[string]string{"B": "it's", "A": "x y", "C": "$(rm -rf /)"})
	want := "A='x y'\nB='it'\\''s'\nC='$(rm -rf /)'\n"
	if got != want {
		t.Errorf("envFile:\n got %q\nwant %q", got, want)
	}
}

func TestStage2(t *testing.T) {
	s := stage2(true, "/mnt/share", nil)
	for _, want := range []string{"systemd-udevd --daemon", "udevadm settle", "bash $C/script", "/proc/sysrq-trigger", "cd '/mnt/share'"} {
		if !strings.Contains(s, want) {
			t.Errorf("stage2 lacks %q", want)
		}
	}
	if s := stage2(true, "/", []string{"ahci", "nvme"}); !strings.Contains(s, "modprobe -a ahci nvme") || strings.Index(s, "modprobe -a") > strings.Index(s, "systemd-udevd") {
		t.Errorf("stage2 does not load the bus modules before udevd:\n%s", s)
	}
	if s := stage2(false, "/", nil); strings.Contains(s, "udevd") {
		t.Errorf("stage2 without udev starts udevd:\n%s", s)
	}
}

// Twins (Config.DuplicateSerials) are refused by vmtest-hotplug before QMP is asked.
func TestHotplugRefusesTwins(t *testing.T) {
	h := newHotplug(vmPlan{Disks: planDisks([]Disk{
		{Serial: "TWIN", SizeBytes: 1 << 20}, {Bus: BusNVMe, Serial: "TWIN", SizeBytes: 1 << 20},
	}, "/r")})
	if _, err := h.do([]string{"unplug", "TWIN"}); err == nil || !strings.Contains(err.Error(), "names 2 disks") {
		t.Errorf("unplug of a twin: %v", err)
	}
}
