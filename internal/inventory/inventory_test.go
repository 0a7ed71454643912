package inventory

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/host"
)

func TestRecordKeepsHistoryOfOtherArrays(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	inv := &Inventory{Format: 1, Disks: map[string]Entry{}}
	inv.Record(Entry{Serial: "WD-B", Name: "sdb", LastSeen: t0, Members: []Slot{
		{ArrayUUID: "u0", Array: "md0", Slot: 1, Device: "sdb1"},
		{ArrayUUID: "u1", Array: "md1", Slot: 1, Device: "sdb2"},
	}})
	// sdb1 failed: md0 no longer counts sdb as in_sync, md1 still does.
	inv.Record(Entry{Serial: "WD-B", Name: "sdb", LastSeen: t0.Add(time.Minute), Members: []Slot{
		{ArrayUUID: "u1", Array: "md1", Slot: 1, Device: "sdb2"},
	}})
	e, ok := inv.Holder("u0", 1, "")
	if !ok || e.Serial != "WD-B" {
		t.Fatalf("md0 slot 1 holder: %+v %v", e, ok)
	}
	// A newer disk in the same slot is the holder from then on.
	inv.Record(Entry{Serial: "WD-C", Name: "sdb", LastSeen: t0.Add(time.Hour), Members: []Slot{
		{ArrayUUID: "u0", Array: "md0", Slot: 1, Device: "sdb1"},
	}})
	if e, _ := inv.Holder("u0", 1, ""); e.Serial != "WD-C" {
		t.Errorf("holder after replacement: %s, want WD-C", e.Serial)
	}
	if e, _ := inv.Holder("u1", -1, "sdb2"); e.Serial != "WD-B" {
		t.Errorf("holder by device: %s, want WD-B", e.Serial)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	inv := &Inventory{Format: 1, Disks: map[string]Entry{}}
	inv.Record(Entry{Serial: "S1", Model: "M", Name: "sda", LastSeen: time.Now().UTC().Truncate(time.Second)})
	if err := inv.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(host.NewRoot(dir))
	if err != nil {
		t.Fatal(err)
	}
	if got.Disks["S1"].Model != "M" {
		t.Errorf("loaded %+v", got.Disks)
	}
	if err := os.WriteFile(filepath.Join(dir, Path), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(host.NewRoot(dir)); err == nil {
		t.Error("a corrupt inventory loaded without error")
	}
}

// TestRecordForgetsARebuiltArray: a partition that now holds a member of a new array (md0
// re-created) no longer stands for the old one, which status would otherwise call missing.
func TestRecordForgetsARebuiltArray(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	inv := &Inventory{Format: 1, Disks: map[string]Entry{}}
	inv.Record(Entry{Serial: "WD-A", Name: "sda", LastSeen: t0, Members: []Slot{
		{ArrayUUID: "old", Array: "md0", Slot: 0, Device: "sda1"},
		{ArrayUUID: "u1", Array: "md1", Slot: 0, Device: "sda2"},
	}})
	inv.Record(Entry{Serial: "WD-A", Name: "sda", LastSeen: t0.Add(time.Minute), Members: []Slot{
		{ArrayUUID: "new", Array: "md0", Slot: 0, Device: "sda1"},
	}})
	if e, ok := inv.Holder("old", 0, ""); ok {
		t.Errorf("the re-created array's old UUID is still remembered on %s", e.Serial)
	}
	if _, ok := inv.Holder("u1", 0, ""); !ok {
		t.Error("md1, which sda2 left without joining another array, was forgotten")
	}
}

func TestForget(t *testing.T) {
	inv := &Inventory{Format: 1, Disks: map[string]Entry{
		"A": {Serial: "A", Members: []Slot{{ArrayUUID: "u0", Array: "md0", Slot: 0, Device: "vda1"}, {ArrayUUID: "u1", Array: "md1", Slot: 0, Device: "vda2"}}},
		"B": {Serial: "B", Members: []Slot{{ArrayUUID: "u0", Array: "md0", Slot: 1, Device: "vdb1"}}},
	}}
	if n := inv.Forget("u0"); n != 2 {
		t.Errorf("forgot %d slots, want 2", n)
	}
	if _, ok := inv.Holder("u0", 1, "vdb1"); ok {
		t.Error("u0 still has a holder")
	}
	if _, ok := inv.Holder("u1", 0, "vda2"); !ok {
		t.Error("u1 was forgotten too")
	}
	if n := inv.Forget("u0"); n != 0 {
		t.Errorf("second forget dropped %d", n)
	}
}

// The bay a disk was seen in is remembered, and a disk that moved bays is recorded again.
func TestRecordRemembersTheBay(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	inv := &Inventory{Format: 1, Disks: map[string]Entry{}}
	slot := &identify.Bay{LED: identify.LEDEnclosure, Enclosure: "0:0:0:0", EnclosureID: "0x5001438012345678", Slot: "Slot 01"}
	if !inv.Record(Entry{Serial: "WD-B", Name: "sdb", LastSeen: t0, Bay: slot}) {
		t.Fatal("first record not a change")
	}
	if inv.Record(Entry{Serial: "WD-B", Name: "sdb", LastSeen: t0.Add(time.Minute), Bay: slot}) {
		t.Error("the same bay a minute later counts as a change")
	}
	moved := *slot
	moved.Slot = "Slot 02"
	if !inv.Record(Entry{Serial: "WD-B", Name: "sdb", LastSeen: t0.Add(2 * time.Minute), Bay: &moved}) {
		t.Error("a disk that moved to another bay is not recorded")
	}
	if err := inv.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(host.NewRoot(dir))
	if err != nil {
		t.Fatal(err)
	}
	if b := got.Disks["WD-B"].Bay; b == nil || b.Slot != "Slot 02" || b.EnclosureID != "0x5001438012345678" {
		t.Errorf("bay after load: %+v", b)
	}
}

// A disk's ESP shape survives a save and a load, and a changed ESP is recorded again.
func TestRecordRemembersTheESP(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	inv := &Inventory{Format: 1, Disks: map[string]Entry{}}
	esp := &ESP{Number: 1, Type: "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", SizeBytes: 512 << 20, FATBits: 32, Label: "EFI", VolumeID: "1A2B-3C4D"}
	if !inv.Record(Entry{Serial: "WD-A", Name: "sda", LastSeen: t0, ESP: esp}) {
		t.Fatal("first record not a change")
	}
	bigger := *esp
	bigger.SizeBytes = 1 << 30
	if !inv.Record(Entry{Serial: "WD-A", Name: "sda", LastSeen: t0.Add(time.Minute), ESP: &bigger}) {
		t.Error("a changed ESP is not recorded")
	}
	if err := inv.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(host.NewRoot(dir))
	if err != nil {
		t.Fatal(err)
	}
	if e := got.Disks["WD-A"].ESP; e == nil || *e != bigger {
		t.Errorf("ESP after load: %+v", e)
	}
}
