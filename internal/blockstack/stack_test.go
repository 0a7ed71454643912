package blockstack

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

// loadTree writes a testdata/*.tree fixture under a temporary directory and returns a Root
// there. A line "path content" is a file holding content (a path ending in "/" is a
// directory); "path <<" starts a file whose lines run to the next "<<"; "#" starts a
// comment. Paths under a slaves/ directory become symbolic links, as in sysfs.
func loadTree(t *testing.T, name string) *host.Root {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".tree"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeTree(t, dir, string(b))
	return host.NewRoot(dir)
}

// writeTree writes a tree in the format loadTree reads.
func writeTree(t testing.TB, dir, tree string) {
	t.Helper()
	lines := strings.Split(tree, "\n")
	write := func(p, content string) {
		full := filepath.Join(dir, p)
		var err error
		if err = os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(p, "/"):
			err = os.MkdirAll(full, 0o755)
		case filepath.Base(filepath.Dir(p)) == "slaves" || filepath.Base(filepath.Dir(p)) == "holders":
			err = os.Symlink("../../"+filepath.Base(p), full)
		default:
			err = os.WriteFile(full, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		p, rest, _ := strings.Cut(l, " ")
		if rest != "<<" {
			write(p, rest+"\n")
			continue
		}
		var body []string
		for i++; i < len(lines) && lines[i] != "<<"; i++ {
			body = append(body, lines[i])
		}
		write(p, strings.Join(body, "\n")+"\n")
	}
}

func TestTracePoints(t *testing.T) {
	tests := []struct {
		tree, point string
		arrays      []string
		plain       []string
		unknown     []string
		chain       string
		crypt       bool
	}{
		{"lvm-on-md", "/boot", []string{"md1"}, nil, nil,
			"/boot (a directory on /) → dm-0 (LVM vg0-root) → md1 → vda2, vdb2", false},
		{"lvm-on-md", "/", []string{"md1"}, nil, nil, "/ → dm-0 (LVM vg0-root) → md1 → vda2, vdb2", false},
		{"lvm-on-luks-on-md", "/", []string{"md1"}, nil, nil,
			"/ → dm-1 (LVM vg0-root) → dm-0 (LUKS cryptmd) → md1 → sda3, sdb3", true},
		{"lvm-on-luks-on-md", "/boot", []string{"md0"}, nil, nil, "/boot → md0 → sda2, sdb2", false},
		{"lvm-on-luks-on-md", "/boot/grub", []string{"md0"}, nil, nil, "/boot/grub (a directory on /boot) → md0 → sda2, sdb2", false},
		{"crypt-on-lvm-on-md", "/boot", []string{"md1"}, nil, nil,
			"/boot (a directory on /) → dm-1 (LUKS root_crypt) → dm-0 (LVM vg0-root) → md1 → sda3, sdb3", true},
		{"md-partition", "/boot", []string{"md0"}, nil, nil, "/boot → md0p1 (partition of md0) → md0 → vda1, vdb1", false},
		{"md-partition", "/", []string{"md0"}, nil, nil, "/ → md0p2 (partition of md0) → md0 → vda1, vdb1", false},
		{"bind-and-plain", "/boot", []string{"md2"}, nil, nil, "/boot (bind of /srv/boot of md2) → md2 → sda2, sdb2", false},
		{"bind-and-plain", "/data", nil, []string{"sdc1"}, nil, "/data → dm-0 (LVM data-lv) → sdc1", false},
		{"bind-and-plain", "/mirror/x", []string{"md1", "md2"}, nil, nil,
			"/mirror/x (a directory on /mirror) → dm-1 (LVM big-lv) → md1, md2 → sda1, sdb1, sda2, sdb2", false},
		{"bind-and-plain", "/mp", nil, nil, []string{"dm-2"}, "/mp → dm-2 (dm mpatha, neither LVM nor dm-crypt)", false},
		{"bind-and-plain", "/vol", []string{"md1"}, nil, nil, "/vol → md1 → sda1, sdb1", false},
	}
	for _, tc := range tests {
		t.Run(tc.tree+" "+tc.point, func(t *testing.T) {
			st, problems := Read(loadTree(t, tc.tree))
			if len(problems) > 0 {
				t.Fatalf("problems: %q", problems)
			}
			m, tr, ok := st.Point(tc.point)
			if !ok {
				t.Fatalf("%s rests on nothing", tc.point)
			}
			if !reflect.DeepEqual(tr.Arrays, tc.arrays) || !reflect.DeepEqual(tr.Plain, tc.plain) || !reflect.DeepEqual(tr.Unknown, tc.unknown) {
				t.Errorf("arrays %q plain %q unknown %q, want %q %q %q", tr.Arrays, tr.Plain, tr.Unknown, tc.arrays, tc.plain, tc.unknown)
			}
			if got := Describe(tc.point, m, tr); got != tc.chain {
				t.Errorf("chain\n got %s\nwant %s", got, tc.chain)
			}
			if got := len(tr.OfKind(KindCrypt)) > 0; got != tc.crypt {
				t.Errorf("crypt %t, want %t", got, tc.crypt)
			}
		})
	}
}

func TestTraceNotOnABlockDevice(t *testing.T) {
	st, _ := Read(loadTree(t, "bind-and-plain"))
	if _, _, ok := st.Point("/run/lock"); ok {
		t.Error("/run/lock (tmpfs) traced to a block device")
	}
	var empty Stack
	if _, _, ok := empty.Point("/boot"); ok {
		t.Error("an empty stack holds /boot")
	}
}

func TestArraysUnder(t *testing.T) {
	tests := []struct {
		tree   string
		mounts map[string][]string
		swaps  map[string]bool
	}{
		{"lvm-on-md", map[string][]string{"md1": {"/"}}, map[string]bool{"md1": true}},
		{"lvm-on-luks-on-md", map[string][]string{"md1": {"/"}, "md0": {"/boot"}}, map[string]bool{}},
		{"md-partition", map[string][]string{"md0": {"/", "/boot"}}, map[string]bool{"md0": true}},
		{"bind-and-plain", map[string][]string{"md2": {"/", "/boot", "/mirror"}, "md1": {"/mirror", "/vol"}}, map[string]bool{}},
	}
	for _, tc := range tests {
		t.Run(tc.tree, func(t *testing.T) {
			st, _ := Read(loadTree(t, tc.tree))
			mounts, swaps := st.ArraysUnder()
			for a := range mounts {
				if _, ok := tc.mounts[a]; !ok {
					t.Errorf("unexpected %s: %q", a, mounts[a])
				}
			}
			for a, want := range tc.mounts {
				if !reflect.DeepEqual(mounts[a], want) {
					t.Errorf("%s holds %q, want %q", a, mounts[a], want)
				}
			}
			if !reflect.DeepEqual(swaps, tc.swaps) {
				t.Errorf("swaps %v, want %v", swaps, tc.swaps)
			}
		})
	}
}

func TestDevNamesFromSysDevBlock(t *testing.T) {
	// A capture holds only what discovery read: /sys/block/md0 without its dev file, and
	// the /sys/dev/block link that names 9:0.
	dir := t.TempDir()
	writeTree(t, dir, "sys/block/md0/md/ \nproc/self/mountinfo 36 28 9:0 / /boot rw - ext4 /dev/md0 rw\nproc/swaps Filename Type\n")
	if err := os.MkdirAll(filepath.Join(dir, "sys/dev/block"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../devices/virtual/block/md0", filepath.Join(dir, "sys/dev/block/9:0")); err != nil {
		t.Fatal(err)
	}
	st, problems := Read(host.NewRoot(dir))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if _, tr, ok := st.Point("/boot"); !ok || !reflect.DeepEqual(tr.Arrays, []string{"md0"}) {
		t.Errorf("/boot: %+v %t", tr, ok)
	}
}

func TestParseMountinfoBad(t *testing.T) {
	got := ParseMountinfo([]byte("garbage\n1 2 3\n36 28 9:0 / /a\\040b rw - ext4 /dev/md0 rw\n36 28 9:0 / /c rw -\n"))
	want := []Mount{{ID: 36, ParentID: 28, Dev: "9:0", Root: "/", Point: "/a b", FSType: "ext4", Source: "/dev/md0"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
}

func TestTraceCycle(t *testing.T) {
	st := &Stack{Devices: map[string]Device{
		"dm-0": {Name: "dm-0", Kind: KindLVM, Slaves: []string{"dm-1"}},
		"dm-1": {Name: "dm-1", Kind: KindLVM, Slaves: []string{"dm-0"}},
	}}
	tr := st.Trace("dm-0")
	if len(tr.Arrays) != 0 || len(tr.Levels) > 32 {
		t.Errorf("%+v", tr)
	}
}

func TestParseMounts(t *testing.T) {
	in := "/dev/md0 /boot ext4 rw,relatime 0 0\n" +
		"/dev/mapper/vg0-my\\040root /mnt/with\\040space ext4 ro,nosuid 0 0\n" +
		"efivarfs /sys/firmware/efi/efivars efivarfs rw,nosuid 0 0\n" +
		"\n" +
		"/dev/vdb1\n"
	got := ParseMounts([]byte(in))
	want := []MountsLine{
		{Source: "/dev/md0", Point: "/boot", FSType: "ext4", Options: []string{"rw", "relatime"}},
		{Source: "/dev/mapper/vg0-my root", Point: "/mnt/with space", FSType: "ext4", Options: []string{"ro", "nosuid"}},
		{Source: "efivarfs", Point: "/sys/firmware/efi/efivars", FSType: "efivarfs", Options: []string{"rw", "nosuid"}},
		{Source: "/dev/vdb1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseMounts:\n got %+v\nwant %+v", got, want)
	}
}
