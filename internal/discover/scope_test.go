package discover_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/view"
)

const drillLab = "/var/lib/raidswap/drill/drill-20261201-180000-ab12"

// drillFixture is the clean capture from a real kernel (md0, md1 on vda, vdb) with a drill
// next to it: two drill loops of drillLab, md126 on loop0p2 and loop1p2 with loop1p2
// faulty, md127 on loop0p3 and a dm table over loop1p3 (how the drill fails a disk), md126
// mounted at <lab>/boot; the host has debconf's grub-pc question and EFI variables, which
// are not the drill's.
func drillFixture(t *testing.T) string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "fixtures", "clean.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	if _, err := capture.Unpack(f, dir); err != nil {
		t.Fatal(err)
	}
	write := func(p, s string) {
		t.Helper()
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(p, target string) {
		t.Helper()
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, full); err != nil {
			t.Fatal(err)
		}
	}
	mkdir := func(p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, l := range []struct{ name, serial string }{{"loop0", "DRILL-A0001"}, {"loop1", "DRILL-B0002"}} {
		dev := "sys/devices/virtual/block/" + l.name
		write(dev+"/dev", "7:"+string(rune('0'+i))+"\n")
		write(dev+"/size", "524288\n")
		write(dev+"/queue/logical_block_size", "512\n")
		write(dev+"/queue/physical_block_size", "512\n")
		write(dev+"/loop/backing_file", drillLab+"/raidswap-drill-"+l.serial+".img\n")
		mkdir(dev + "/slaves")
		link("sys/block/"+l.name, "../devices/virtual/block/"+l.name)
		link("sys/class/block/"+l.name, "../../devices/virtual/block/"+l.name)
		for n := 1; n <= 3; n++ {
			p := l.name + "p" + string(rune('0'+n))
			write(dev+"/"+p+"/partition", string(rune('0'+n))+"\n")
			write(dev+"/"+p+"/dev", "259:"+string(rune('0'+n))+"\n")
			mkdir(dev + "/" + p + "/holders")
			link("sys/class/block/"+p, "../../devices/virtual/block/"+l.name+"/"+p)
		}
	}
	write(drillLab+"/raidswap-drill.json", `{"id":"drill-20261201-180000-ab12"}`)
	// dm-0 over loop1p3.
	write("sys/devices/virtual/block/dm-0/dev", "253:0\n")
	write("sys/devices/virtual/block/dm-0/size", "100000\n")
	link("sys/devices/virtual/block/dm-0/slaves/loop1p3", "../../loop1/loop1p3")
	link("sys/block/dm-0", "../devices/virtual/block/dm-0")
	link("sys/class/block/dm-0", "../../devices/virtual/block/dm-0")
	array := func(name, uuid, devnum string, members map[string]string) {
		dev := "sys/devices/virtual/block/" + name
		link("sys/block/"+name, "../devices/virtual/block/"+name)
		link("sys/dev/block/"+devnum, "../../devices/virtual/block/"+name)
		write(dev+"/dev", devnum+"\n")
		for k, v := range map[string]string{"level": "raid1", "array_state": "clean", "metadata_version": "1.2",
			"uuid": uuid, "raid_disks": "2", "degraded": "0", "sync_action": "idle", "sync_completed": "none",
			"component_size": "40000", "bitmap/location": "none", "sync_speed": "none"} {
			write(dev+"/md/"+k, v+"\n")
		}
		slot := 0
		for m, state := range members {
			write(dev+"/md/dev-"+m+"/state", state+"\n")
			s := "none"
			if state == "in_sync" {
				s = string(rune('0' + slot))
				slot++
			}
			write(dev+"/md/dev-"+m+"/slot", s+"\n")
			target := "../../../" + strings.TrimSuffix(strings.TrimRight(m, "0123456789"), "p") + "/" + m
			if strings.HasPrefix(m, "dm-") {
				target = "../../../" + m
			}
			link(dev+"/md/dev-"+m+"/block", target)
		}
		if slot < 2 {
			write(dev+"/md/degraded", "1\n")
		}
	}
	array("md126", "1111aaaa:2222bbbb:3333cccc:4444dddd", "9:126", map[string]string{"loop0p2": "in_sync", "loop1p2": "faulty"})
	array("md127", "5555aaaa:6666bbbb:7777cccc:8888dddd", "9:127", map[string]string{"loop0p3": "in_sync", "dm-0": "in_sync"})
	mdstat, err := os.ReadFile(filepath.Join(dir, "proc", "mdstat"))
	if err != nil {
		t.Fatal(err)
	}
	add := "md126 : active raid1 loop1p2[1](F) loop0p2[0]\n      40000 blocks super 1.2 [2/1] [U_]\n      \n" +
		"md127 : active raid1 dm-0[1] loop0p3[0]\n      40000 blocks super 1.2 [2/2] [UU]\n      \n"
	write("proc/mdstat", strings.Replace(string(mdstat), "unused devices", add+"unused devices", 1))
	appendTo := func(p, s string) {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		write(p, string(b)+s)
	}
	appendTo("proc/190/mountinfo", "40 28 9:126 / "+drillLab+"/boot rw,relatime - ext4 /dev/md126 rw\n")
	appendTo("proc/190/mounts", "/dev/md126 "+drillLab+"/boot ext4 rw,relatime 0 0\n")
	write("var/cache/debconf/config.dat", "Name: grub-pc/install_devices\nTemplate: grub-pc/install_devices\nValue: /dev/disk/by-id/virtio-WD-WCC4N1KPA001\nOwners: grub-pc\n\n")
	mkdir("sys/firmware/efi/efivars")
	return dir
}

// TestDrillNotJudgedOnHost: unscoped, as `raidswap status` runs, a degraded drill next to a
// healthy host is shown but leaves the verdict OK, exit 0, the textfile without its arrays
// and disks, and the inventory without its disks.
func TestDrillNotJudgedOnHost(t *testing.T) {
	dir := drillFixture(t)
	s, err := discover.Discover(host.NewRoot(dir))
	if err != nil {
		t.Fatal(err)
	}
	if s.Verdict != discover.OK || s.Verdict.ExitCode() != 0 {
		t.Fatalf("verdict %s (%s), want ok", s.Verdict, s.Summary)
	}
	if !strings.Contains(s.Summary, "drill arrays md126, md127 (raidswap drill) are not judged") {
		t.Errorf("summary %q", s.Summary)
	}
	for _, a := range s.Arrays {
		want := ""
		if a.Name == "md126" || a.Name == "md127" {
			want = drillLab
		}
		if a.Drill != want {
			t.Errorf("%s: Drill %q, want %q", a.Name, a.Drill, want)
		}
	}
	if a := s.Array("md126"); a == nil || a.State != discover.ArrayDegraded {
		t.Errorf("md126 is not shown degraded: %+v", a)
	}
	// The member on dm-0 over loop1p3 is loop1's.
	if d := s.Disk("loop1"); d == nil || d.Drill != drillLab || d.Serial != "DRILL-B0002" || len(d.Members) != 2 {
		t.Errorf("loop1: %+v", d)
	}
	if d := s.Disk("dm-0"); d != nil {
		t.Errorf("dm-0 listed as a disk: %+v", d)
	}
	// ...and it names the partition under it, which a plan clones the layout from.
	for _, m := range s.Array("md127").Members {
		want := ""
		if *m.Device == "dm-0" {
			want = "loop1p3"
		}
		if m.Partition != want {
			t.Errorf("md127 member %s: Partition %q, want %q", *m.Device, m.Partition, want)
		}
	}
	var prom, human bytes.Buffer
	if err := view.StatusPrometheus(&prom, s); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(prom.String(), "md126") || strings.Contains(prom.String(), "DRILL-") || !strings.Contains(prom.String(), "raidswap_status_verdict 0\n") {
		t.Errorf("textfile:\n%s", prom.String())
	}
	if err := view.StatusHuman(&human, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(human.String(), "DEGRADED (drill, not judged)") {
		t.Errorf("status does not show the drill array:\n%s", human.String())
	}
	inv, _ := s.Remember(time.Unix(1e9, 0))
	for serial := range inv.Disks {
		if strings.HasPrefix(serial, "DRILL-") {
			t.Errorf("the host's inventory records drill disk %s", serial)
		}
	}
	if len(inv.Disks) != 2 {
		t.Errorf("inventory has %d disks, want the host's 2", len(inv.Disks))
	}
}

// TestScopedDiscovery: under the drill's scope only its disks and arrays are seen, judged,
// and remembered in its own inventory; boot facts are the lab's: BIOS, /boot = the array at
// BootMount, no debconf, no EFI.
func TestScopedDiscovery(t *testing.T) {
	dir := drillFixture(t)
	root := host.NewRoot(dir)
	sc := &discover.Scope{Lab: drillLab, BootMount: drillLab + "/boot"}
	s, err := discover.DiscoverWith(root, discover.Options{Scope: sc})
	if err != nil {
		t.Fatal(err)
	}
	var disks, arrays []string
	for _, d := range s.Disks {
		disks = append(disks, d.Name)
	}
	for _, a := range s.Arrays {
		arrays = append(arrays, a.Name)
	}
	if strings.Join(disks, " ") != "loop0 loop1" || strings.Join(arrays, " ") != "md126 md127" {
		t.Fatalf("disks %v arrays %v, want only the lab's", disks, arrays)
	}
	if s.Verdict != discover.Critical || !strings.Contains(s.Summary, "md126 is degraded") {
		t.Errorf("verdict %s (%s): under its scope the drill is judged", s.Verdict, s.Summary)
	}
	b := s.Host.Boot
	if s.Host.Firmware != discover.FirmwareBIOS {
		t.Errorf("host firmware %q under the scope, want bios", s.Host.Firmware)
	}
	if h, _ := discover.Discover(root); h.Host.Firmware != discover.FirmwareUEFI {
		t.Errorf("the fixture's host firmware is %q, want uefi (the test proves nothing)", h.Host.Firmware)
	}
	if b.Firmware != bootloader.FirmwareBIOS || b.Boot.Array != "md126" || b.Boot.Mountpoint != drillLab+"/boot" || b.DebconfGrubPC || len(b.InstallDevices) > 0 {
		t.Errorf("boot facts %+v", b)
	}
	inv, changed := s.Remember(time.Unix(1e9, 0))
	if !changed || len(inv.Disks) != 2 || inv.Disks["DRILL-A0001"].Name != "loop0" {
		t.Errorf("lab inventory %+v", inv.Disks)
	}
	// Saved where the scope says, read back by the next scoped discovery, never by the host's.
	if err := inv.SaveFile(root.Path(sc.InventoryPath())); err != nil {
		t.Fatal(err)
	}
	s2, err := discover.DiscoverWith(root, discover.Options{Scope: sc})
	if err != nil || s2.Inventory == nil || len(s2.Inventory.Disks) != 2 {
		t.Fatalf("scoped reload: %v %+v", err, s2)
	}
	h, err := discover.Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	for serial := range h.Inventory.Disks {
		if strings.HasPrefix(serial, "DRILL-") {
			t.Errorf("the host's inventory holds %s", serial)
		}
	}
	if _, err := discover.DiscoverWith(root, discover.Options{Scope: &discover.Scope{Lab: "../x"}}); err == nil {
		t.Error("a relative lab was taken")
	}
	other := &discover.Scope{Lab: "/var/lib/raidswap/drill/other"}
	o, err := discover.DiscoverWith(root, discover.Options{Scope: other})
	if err != nil || len(o.Disks) != 0 || len(o.Arrays) != 0 {
		t.Errorf("another lab sees %+v %+v (%v)", o.Disks, o.Arrays, err)
	}
}
