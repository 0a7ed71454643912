package mdadm

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

// parseMDStat reads text as the /proc/mdstat of a fixture root.
func parseMDStat(t *testing.T, data []byte) ([]MDStat, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "proc", "mdstat"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return ReadMDStat(host.NewRoot(dir))
}

// TestReadMDStatRoot: procfs reads the Root's /proc, the read is recorded (so `snapshot`
// captures /proc/mdstat), and a root without it is a kernel without md.
func TestReadMDStatRoot(t *testing.T) {
	dir := t.TempDir()
	root := host.NewRoot(dir)
	var read []string
	root.Recorder = func(p string) { read = append(read, p) }
	if _, err := ReadMDStat(root); !errors.Is(err, ErrNoMD) {
		t.Errorf("no /proc/mdstat: err %v, want ErrNoMD", err)
	}
	seed, err := os.ReadFile("testdata/seed.mdstat")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "proc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "proc", "mdstat"), seed, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadMDStat(root)
	if err != nil || len(got) != 2 || got[0].Name != "md1" {
		t.Fatalf("ReadMDStat = %+v, %v", got, err)
	}
	if !slices.Contains(read, "/proc/mdstat") {
		t.Errorf("recorded %q, want /proc/mdstat among them", read)
	}
}

// The seed's /proc/mdstat, verbatim: md0's sdf1 has failed and md1 is recovering onto the
// new sdf2 at 71696K/sec with 218.2 minutes to go.
func TestParseMDStatSeed(t *testing.T) {
	data, err := os.ReadFile("testdata/seed.mdstat")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseMDStat(t, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d arrays, want 2", len(got))
	}
	md1, md0 := got[0], got[1]
	if md1.Name != "md1" || md1.Metadata != "1.1" || md1.Action != "recovery" || md1.Delayed {
		t.Errorf("md1: name %q metadata %q action %q delayed %v", md1.Name, md1.Metadata, md1.Action, md1.Delayed)
	}
	if md1.BlocksSynced != 3171840 || md1.BlocksToBeSynced != 942138801 || md1.BlocksSyncedPct != 0.3 {
		t.Errorf("md1 progress: %d/%d %.1f%%", md1.BlocksSynced, md1.BlocksToBeSynced, md1.BlocksSyncedPct)
	}
	if md1.BlocksSyncedFinishTime != 218.2 || md1.BlocksSyncedSpeed != 71696 {
		t.Errorf("md1 finish %.1f min speed %.0f K/s", md1.BlocksSyncedFinishTime, md1.BlocksSyncedSpeed)
	}
	if md1.DisksTotal != 2 || md1.DisksActive != 1 || md1.DisksDown != 1 {
		t.Errorf("md1 disks total %d active %d down %d", md1.DisksTotal, md1.DisksActive, md1.DisksDown)
	}
	if md0.Name != "md0" || md0.Metadata != "1.0" || md0.Action != "" {
		t.Errorf("md0: name %q metadata %q action %q", md0.Name, md0.Metadata, md0.Action)
	}
	var faulty, healthy string
	for _, d := range md0.Devices {
		if d.Faulty {
			faulty = d.Name
		} else {
			healthy = d.Name
		}
	}
	if faulty != "sdf1" || healthy != "sde1" {
		t.Errorf("md0 faulty %q healthy %q, want sdf1 and sde1", faulty, healthy)
	}
}

func TestParseMDStatExtras(t *testing.T) {
	text := `Personalities : [raid1]
md2 : active raid1 vdb4[1] vda4[0]
      1000 blocks super 1.2 [2/1] [U_]
        resync=DELAYED

md3 : active raid1 vdb5[2] vda5[0]
      1000 blocks [2/1] [U_]
        recovery=PENDING

md127 : inactive vdc1[0](S)
      1000 blocks super external:imsm

unused devices: <none>
`
	got, err := parseMDStat(t, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, meta, action string
		delayed            bool
		state              string
		wait               string
	}{
		{"md2", "1.2", "resync", true, "resyncing", "DELAYED"},
		{"md3", "", "recovery", true, "recovering", "PENDING"},
		{"md127", "external:imsm", "", false, "inactive", ""},
	}
	if len(got) != len(tests) {
		t.Fatalf("got %d arrays, want %d", len(got), len(tests))
	}
	for i, tt := range tests {
		g := got[i]
		if g.Wait != tt.wait {
			t.Errorf("%s: wait %q, want %q", g.Name, g.Wait, tt.wait)
		}
		if g.Name != tt.name || g.Metadata != tt.meta || g.Action != tt.action || g.Delayed != tt.delayed || g.ActivityState != tt.state {
			t.Errorf("%s: got meta %q action %q delayed %v state %q; want %q %q %v %q",
				g.Name, g.Metadata, g.Action, g.Delayed, g.ActivityState, tt.meta, tt.action, tt.delayed, tt.state)
		}
	}
}

// TestParseMDStatPending: the text md 6.1 printed for two arrays assembled read-auto after an
// unclean shutdown (captured in the VM, tabs and trailing spaces as they were): both wait with
// resync=PENDING, one with a bitmap line after it. "PENDING" (nothing started it) must stay
// apart from "DELAYED" (waiting for another array): status gives different reasons.
func TestParseMDStatPending(t *testing.T) {
	text := "Personalities : [raid1] \n" +
		"md2 : active (auto-read-only) raid1 loop2[0] loop3[1]\n" +
		"      64512 blocks super 1.2 [2/2] [UU]\n" +
		"      \tresync=PENDING\n" +
		"      bitmap: 1/1 pages [4KB], 65536KB chunk\n" +
		"\n" +
		"md1 : active (auto-read-only) raid1 loop0[0] loop1[1]\n" +
		"      64512 blocks super 1.2 [2/2] [UU]\n" +
		"      \tresync=PENDING\n" +
		"      \n" +
		"unused devices: <none>\n"
	got, err := parseMDStat(t, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d arrays, want 2", len(got))
	}
	for _, g := range got {
		if g.Action != "resync" || g.Wait != "PENDING" || !g.Delayed || g.DisksActive != 2 || g.DisksTotal != 2 {
			t.Errorf("%s: action %q wait %q delayed %v disks %d/%d, want resync PENDING, 2/2", g.Name, g.Action, g.Wait, g.Delayed, g.DisksActive, g.DisksTotal)
		}
	}
}

func FuzzParseMDStat(f *testing.F) {
	if b, err := os.ReadFile("testdata/seed.mdstat"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("Personalities : [raid1]\nmd0 : inactive sda1[0](S)\n      1 blocks\n\nunused devices: <none>\n"))
	f.Add([]byte("md0 : active raid1 sda1[0]\n      1 blocks super 1.2 [2/1] [U_]\n      [>...]  recovery = 1.0% (1/2) finish=1.0min speed=1K/sec\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Parsing must never panic; errors are fine.
		got, err := parseMDStat(t, data)
		if err == nil {
			for _, a := range got {
				if a.Name == "" {
					t.Errorf("array with empty name from %q", data)
				}
			}
		}
	})
}
