package discover_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
)

func TestContainerMetadata(t *testing.T) {
	tests := []struct {
		metadata         string
		format           string
		container, index string
		volume           bool
	}{
		{metadata: "external:imsm", format: "imsm"},
		{metadata: "external:ddf", format: "ddf"},
		{metadata: "external:/md127/0", container: "md127", index: "0", volume: true},
		{metadata: "external:-md127/1", container: "md127", index: "1", volume: true},
		{metadata: "external:/md127"},
		{metadata: "external:/md127/"},
		{metadata: "external:"},
		{metadata: "1.2"},
		{metadata: ""},
		{metadata: "imsm"},
	}
	for _, tt := range tests {
		if got := discover.ContainerFormat(tt.metadata); got != tt.format {
			t.Errorf("ContainerFormat(%q) = %q, want %q", tt.metadata, got, tt.format)
		}
		c, i, ok := discover.VolumeOf(tt.metadata)
		if c != tt.container || i != tt.index || ok != tt.volume {
			t.Errorf("VolumeOf(%q) = %q %q %v, want %q %q %v", tt.metadata, c, i, ok, tt.container, tt.index, tt.volume)
		}
	}
}

// TestIMSMFixtureEdits: the IMSM captures from a real kernel with one value edited to another
// state md and mdmon can show.
func TestIMSMFixtureEdits(t *testing.T) {
	md126 := "sys/devices/virtual/block/md126/md/"
	md127 := "sys/devices/virtual/block/md127/md/"
	tests := []struct {
		name, fixture, file, text string
		want                      discover.Verdict
		// member is the container's member whose state is checked, and its state.
		member string
		state  discover.MemberState
	}{
		{"container clear", "imsm-clean", md127 + "array_state", "clear", discover.OK, "sdb", discover.MemberContainer},
		{"volume read-only to mdmon", "imsm-clean", md126 + "metadata_version", "external:-md127/0", discover.OK, "sda", discover.MemberContainer},
		// md recovers the volume: the disk in no volume is not called failed (a spare took over).
		{"volume recovering", "imsm-failed", md126 + "sync_action", "recover", discover.Critical, "sdb", discover.MemberSpare},
		{"failed", "imsm-failed", "", "", discover.Critical, "sdb", discover.MemberFaulty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "fixtures", tt.fixture+".tar.gz"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			dir := t.TempDir()
			if _, err := capture.Unpack(f, dir); err != nil {
				t.Fatal(err)
			}
			if tt.file != "" {
				if err := os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.text+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s, err := discover.Discover(host.NewRoot(dir))
			if err != nil {
				t.Fatal(err)
			}
			if s.Verdict != tt.want || strings.Contains(s.Summary, "inactive") {
				t.Errorf("verdict %s (%s), want %s and no inactive array", s.Verdict, s.Summary, tt.want)
			}
			c := s.Array("md127")
			if c == nil || !c.IsContainer() {
				t.Fatalf("md127 %+v, want a container", c)
			}
			if v := s.Array("md126"); v == nil || v.Container != "md127" {
				t.Errorf("md126 %+v, want a volume of md127", v)
			}
			got := memberStates(c)
			if !strings.Contains(got, tt.member+"="+string(tt.state)) {
				t.Errorf("md127 members %s, want %s=%s", got, tt.member, tt.state)
			}
			checkOutputsAgree(t, s)
		})
	}
}

// TestRememberSkipsArraysWithoutUUID: an IMSM volume's slots are not remembered under the
// empty uuid, where every external array would share them.
func TestRememberSkipsArraysWithoutUUID(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "fixtures", "imsm-clean.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	if _, err := capture.Unpack(f, dir); err != nil {
		t.Fatal(err)
	}
	s, err := discover.Discover(host.NewRoot(dir))
	if err != nil {
		t.Fatal(err)
	}
	s.Inventory = nil // the capture's own inventory was written by a raidswap before this rule
	inv, _ := s.Remember(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	for serial, e := range inv.Disks {
		for _, m := range e.Members {
			if m.ArrayUUID == "" {
				t.Errorf("%s: remembered %s slot %d under an empty uuid", serial, m.Array, m.Slot)
			}
		}
	}
	if _, ok := inv.Disks[serialA]; !ok {
		t.Errorf("the disk %s itself is not remembered", serialA)
	}
}
