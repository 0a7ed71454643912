package identify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

// drillTree is a fixture root with one loop device per entry: backing file content, size in
// sectors, and whether the lab directory holds the marker.
type drillLoop struct {
	name, backing string
	sectors       int
	marker        bool
}

func drillTree(t *testing.T, loops []drillLoop) string {
	t.Helper()
	dir := t.TempDir()
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
	for i, l := range loops {
		sys := "sys/block/" + l.name
		write(sys+"/dev", "7:"+itoa(i)+"\n")
		write(sys+"/size", itoa(l.sectors)+"\n")
		write(sys+"/queue/logical_block_size", "512\n")
		write(sys+"/queue/physical_block_size", "512\n")
		write(sys+"/queue/rotational", "0\n")
		if l.backing != "" {
			write(sys+"/loop/backing_file", l.backing)
		}
		if l.marker {
			b := strings.TrimSuffix(l.backing, "\n")
			write(filepath.Join(filepath.Dir(b), DrillMarker), `{"id":"drill-x"}`)
		}
	}
	// A real disk next to them, kept as always.
	write("sys/block/vda/dev", "254:0\n")
	write("sys/block/vda/size", "2097152\n")
	write("sys/block/vda/serial", "HOST-1\n")
	return dir
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

// Only a loop whose backing file is <lab>/raidswap-drill-<SERIAL>.img with the lab's
// marker present is a drill disk; hostile or odd backing files are taken as nothing, and
// never panic.
func TestDrillDisk(t *testing.T) {
	lab := "/var/lib/raidswap/drill/drill-20261201-180000-ab12"
	good := lab + "/raidswap-drill-DRILL-A3F9C.img\n"
	loops := []drillLoop{
		{"loop0", good, 524288, true},
		{"loop1", "/var/lib/raidswap/drill/other/raidswap-drill-DRILL-B0001.img\n", 524288, false}, // marker missing
		{"loop2", lab + "/other-DRILL-C0001.img\n", 524288, true},                                  // wrong file name
		{"loop3", lab + "/raidswap-drill-drill-lower.img\n", 524288, true},                         // serial not [A-Z0-9-]
		{"loop4", good, 0, true}, // detached: size 0
		{"loop5", lab + "/raidswap-drill-DRILL-D0001.img (deleted)\n", 524288, true}, // file deleted
		{"loop6", lab + "/../drill/raidswap-drill-DRILL-E0001.img\n", 524288, true},  // ".."
		{"loop7", lab + "/raidswap-drill-DRILL-F\n0001.img\n", 524288, true},         // newline inside
		{"loop8", lab + "/" + strings.Repeat("x", 10240) + ".img\n", 524288, false},  // 10 KB
		{"loop9", "raidswap-drill-DRILL-G0001.img\n", 524288, true},                  // relative
		{"loop10", "/raidswap-drill-DRILL-H0001.img\n", 524288, true},                // lab is /
		{"loop11", lab + "/raidswap-drill-DRILL-" + strings.Repeat("Z", 40) + ".img\n", 524288, true},
		{"loop12", "", 524288, false}, // no backing file at all
	}
	dir := drillTree(t, loops)
	root := host.NewRoot(dir)
	for _, l := range loops {
		serial, gotLab, ok := DrillDisk(root, l.name)
		want := l.name == "loop0" || l.name == "loop4"
		if ok != want {
			t.Errorf("%s (%q): drill %v, want %v", l.name, trunc(l.backing), ok, want)
		}
		if ok && (serial != "DRILL-A3F9C" || gotLab != lab) {
			t.Errorf("%s: serial %q lab %q", l.name, serial, gotLab)
		}
	}
	if _, _, ok := DrillDisk(root, "vda"); ok {
		t.Error("vda is a drill disk")
	}
	if _, _, ok := DrillDisk(root, "../block/loop0"); ok {
		t.Error("a name with a path is a drill disk")
	}

	disks, err := Disks(root, IsPhysicalName)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range disks {
		names = append(names, d.Name)
		if d.Name == "loop0" {
			if d.Serial != "DRILL-A3F9C" || d.SerialSource != SerialSourceDrill || d.Transport != TransportLoop ||
				d.Model != DrillModel || d.Drill != lab || d.SizeBytes != 524288*512 {
				t.Errorf("loop0: %+v", d)
			}
		} else if d.Drill != "" {
			t.Errorf("%s has Drill %q", d.Name, d.Drill)
		}
	}
	if strings.Join(names, " ") != "loop0 vda" {
		t.Errorf("disks %v, want loop0 (the drill disk; loop4 is detached) and vda", names)
	}
	if s := Serial(root, "loop0"); s != "DRILL-A3F9C" {
		t.Errorf("Serial(loop0) = %q", s)
	}
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
