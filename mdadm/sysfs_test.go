package mdadm

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

func TestParseDevState(t *testing.T) {
	tests := []struct {
		in   string
		want DevState
	}{
		{"in_sync", DevState{InSync: true}},
		{"faulty,blocked", DevState{Faulty: true, Blocked: true}},
		{"in_sync,write_mostly,write_error,want_replacement", DevState{InSync: true, WriteMostly: true, WriteError: true, WantReplacement: true}},
		{"in_sync,writemostly,failfast,external_bbl", DevState{InSync: true, WriteMostly: true, FailFast: true, ExternalBBL: true}},
		{"spare,replacement", DevState{Spare: true, Replacement: true}},
		{"journal", DevState{Journal: true}},
		{"in_sync,,sparkly", DevState{InSync: true, Unknown: []string{"", "sparkly"}}},
	}
	for _, tt := range tests {
		if got := ParseDevState(strings.Split(tt.in, ",")); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// TestReadSysArrayResyncStart: md/resync_start is "none" when md holds the array in sync and
// a sector number while a resync is pending or running (6.1 after an unclean shutdown: "0";
// after a resync stopped part-way: its checkpoint). Garbage or a missing file is not taken
// for a resync.
func TestReadSysArrayResyncStart(t *testing.T) {
	tests := []struct {
		file     string // "" for no file
		needed   bool
		from     int64
		problems int
	}{
		{"none\n", false, 0, 0},
		{"0\n", true, 0, 0},
		{"12800\n", true, 12800, 0},
		{"", false, 0, 0},
		{"soon\n", false, 0, 1},
		{"-5\n", false, 0, 0},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		md := filepath.Join(dir, "sys", "block", "md1", "md")
		if err := os.MkdirAll(md, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string]string{"level": "raid1", "array_state": "read-auto", "sync_action": "idle", "raid_disks": "2", "degraded": "0"} {
			if err := os.WriteFile(filepath.Join(md, name), []byte(v+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if tt.file != "" {
			if err := os.WriteFile(filepath.Join(md, "resync_start"), []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := ReadSysArrays(host.NewRoot(dir))
		if err != nil || len(got) != 1 {
			t.Fatalf("%q: %+v, %v", tt.file, got, err)
		}
		a := got[0]
		if a.ResyncNeeded != tt.needed || a.ResyncFrom != tt.from || len(a.Problems) != tt.problems {
			t.Errorf("resync_start %q: needed %v from %d problems %q; want %v %d %d problem(s)", tt.file, a.ResyncNeeded, a.ResyncFrom, a.Problems, tt.needed, tt.from, tt.problems)
		}
	}
}

// TestReadSysMemberDataOffset: dev-*/offset is md's data offset in sectors (2048 for a 1.2
// member on a 256 MiB disk, 0 for 1.0); missing is Unknown, garbage or negative Unknown and
// reported.
func TestReadSysMemberDataOffset(t *testing.T) {
	tests := []struct {
		file     string // "" for no file
		want     int64
		problems int
	}{
		{"2048\n", 2048, 0},
		{"0\n", 0, 0},
		{"", Unknown, 0},
		{"lots\n", Unknown, 1},
		{"-8\n", Unknown, 1},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		dev := filepath.Join(dir, "sys", "block", "md1", "md", "dev-vdc")
		if err := os.MkdirAll(dev, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dev, "state"), []byte("in_sync\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if tt.file != "" {
			if err := os.WriteFile(filepath.Join(dev, "offset"), []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := ReadSysArrays(host.NewRoot(dir))
		if err != nil || len(got) != 1 || len(got[0].Members) != 1 {
			t.Fatalf("%q: %+v, %v", tt.file, got, err)
		}
		var offsetProblems int
		for _, p := range got[0].Problems {
			if strings.Contains(p, "/offset") {
				offsetProblems++
			}
		}
		if m := got[0].Members[0]; m.DataOffset != tt.want || offsetProblems != tt.problems {
			t.Errorf("offset %q: %d, problems %q; want %d and %d problem(s)", tt.file, m.DataOffset, got[0].Problems, tt.want, tt.problems)
		}
	}
}
