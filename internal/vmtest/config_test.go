package vmtest

import (
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
		{"serial twice", Config{Disks: []Disk{ok, ok}}, "used twice"},
		{"no size", Config{Disks: []Disk{{Serial: "A"}}}, "size"},
		{"size not multiple of 4K", Config{Disks: []Disk{{Serial: "A", SizeBytes: 512 * 9, LogicalBlockSize: 4096}}}, "size"},
		{"odd block size", Config{Disks: []Disk{{Serial: "A", SizeBytes: 1 << 20, LogicalBlockSize: 1000}}}, "block sizes"},
		{"physical below logical", Config{Disks: []Disk{{Serial: "A", SizeBytes: 1 << 20, LogicalBlockSize: 4096, PhysicalBlockSize: 512}}}, "block sizes"},
		{"missing image", Config{Disks: []Disk{{Serial: "A", Image: "/nonexistent/img"}}}, "no such file"},
		{"bad env", Config{Env: map[string]string{"A-B": "x"}}, "not a shell identifier"},
		{"relative dir", Config{Dir: "tmp"}, "absolute"},
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

func TestEnvFile(t *testing.T) {
	got := envFile(map[string]string{"B": "it's", "A": "x y", "C": "$(rm -rf /)"})
	want := "A='x y'\nB='it'\\''s'\nC='$(rm -rf /)'\n"
	if got != want {
		t.Errorf("envFile:\n got %q\nwant %q", got, want)
	}
}

func TestStage2(t *testing.T) {
	s := stage2(true, "/mnt/share")
	for _, want := range []string{"systemd-udevd --daemon", "udevadm settle", "bash $C/script", "/proc/sysrq-trigger", "cd '/mnt/share'"} {
		if !strings.Contains(s, want) {
			t.Errorf("stage2 lacks %q", want)
		}
	}
	if s := stage2(false, "/"); strings.Contains(s, "udevd") {
		t.Errorf("stage2 without udev starts udevd:\n%s", s)
	}
}
