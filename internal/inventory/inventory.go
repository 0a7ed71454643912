// Package inventory remembers which disk (serial, model, WWN, bus path) held which slot of
// which array, so that raidswap can still name a disk after it has vanished from the system:
// by then the kernel, udev and md have forgotten it. It is written by commands that ran
// discovery on the live system (status, replace) and read, like every other file, through
// host.Root, so a capture carries it. It records; it never decides.
package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/paths"
)

// Path is where the inventory lives on a system.
const Path = paths.StateDir + "/" + paths.InventoryName

// Inventory is the remembered disks, by serial.
type Inventory struct {
	Format int              `json:"format"`
	Disks  map[string]Entry `json:"disks"`
}

// Entry is what was last seen of one disk.
type Entry struct {
	Serial    string    `json:"serial"`
	Model     string    `json:"model,omitempty"`
	WWN       string    `json:"wwn,omitempty"`
	ByPath    string    `json:"by_path,omitempty"`
	ByID      []string  `json:"by_id,omitempty"`
	SizeBytes uint64    `json:"size_bytes"`
	Name      string    `json:"name"`
	LastSeen  time.Time `json:"last_seen"`
	Members   []Slot    `json:"members,omitempty"`
	// Bay is the enclosure or PCIe slot the disk was last seen in, so a vanished disk is
	// named with its bay and its bay's LED can still be lit.
	Bay *identify.Bay `json:"bay,omitempty"`
	// What else tells the disk apart, and where it sat (identify.Disk).
	Vendor     string `json:"vendor,omitempty"`
	Firmware   string `json:"firmware,omitempty"`
	Transport  string `json:"transport,omitempty"`
	HCTL       string `json:"hctl,omitempty"`
	Controller string `json:"controller,omitempty"`
	// ESPPARTUUID is the PARTUUID of the disk's EFI System Partition (lower case), so that
	// once the disk has vanished the replacement still knows which boot entries were its.
	ESPPARTUUID string `json:"esp_partuuid,omitempty"`
	// ESP is what it takes to remake that ESP on a replacement once the disk has vanished
	// (an ESP on this disk only: issue 17); nil when the disk had none or it was not read.
	ESP *ESP `json:"esp,omitempty"`
}

// ESP is a remembered EFI System Partition: its partition and its FAT file system.
type ESP struct {
	// Number is its partition number, Type its GPT type GUID (lower case) or DOS type byte
	// ("0xef"), SizeBytes its size.
	Number    int    `json:"number,omitempty"`
	Type      string `json:"type,omitempty"`
	SizeBytes int64  `json:"size_bytes,omitempty"`
	// FATBits is 12, 16 or 32 (0 when blkid did not say), Label the FAT label and VolumeID
	// the volume id (ABCD-1234), as blkid showed them.
	FATBits  int    `json:"fat_bits,omitempty"`
	Label    string `json:"label,omitempty"`
	VolumeID string `json:"volume_id,omitempty"`
}

// Slot is one array member the disk held.
type Slot struct {
	ArrayUUID string `json:"array_uuid"`
	Array     string `json:"array"`
	Slot      int    `json:"slot"`
	Device    string `json:"device"`
}

// Load reads the inventory under root; a missing file is an empty inventory.
func Load(root *host.Root) (*Inventory, error) { return LoadFile(root, Path) }

// LoadFile reads an inventory kept at system path p under root (a drill keeps its own in its
// lab directory); a missing file is an empty inventory.
func LoadFile(root *host.Root, p string) (*Inventory, error) {
	inv := &Inventory{Format: 1, Disks: map[string]Entry{}}
	b, err := root.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return inv, nil
	}
	if err != nil {
		return inv, fmt.Errorf("reading %s: %w", p, err)
	}
	if err := json.Unmarshal(b, inv); err != nil {
		return &Inventory{Format: 1, Disks: map[string]Entry{}}, fmt.Errorf("reading %s: %w", p, err)
	}
	if inv.Disks == nil {
		inv.Disks = map[string]Entry{}
	}
	return inv, nil
}

// Record notes a present disk. A slot recorded before is kept unless the disk now holds a
// slot in the same array, or the same device holds a slot in another, so a disk that failed
// in one array, or was pulled, keeps its history there.
func (inv *Inventory) Record(e Entry) bool {
	if e.Serial == "" {
		return false
	}
	old, ok := inv.Disks[e.Serial]
	now, nowDev := map[string]bool{}, map[string]bool{}
	for _, m := range e.Members {
		now[m.ArrayUUID], nowDev[m.Device] = true, true
	}
	for _, m := range old.Members {
		// A device that now holds a member of another array was given to it on purpose:
		// the array it held before was dismantled, not lost, and must not be remembered
		// as missing.
		if !now[m.ArrayUUID] && !nowDev[m.Device] {
			e.Members = append(e.Members, m)
		}
	}
	sort.Slice(e.Members, func(i, j int) bool {
		if e.Members[i].Array != e.Members[j].Array {
			return e.Members[i].Array < e.Members[j].Array
		}
		return e.Members[i].Slot < e.Members[j].Slot
	})
	changed := !ok || !sameIdentity(old, e)
	if changed || e.LastSeen.Sub(old.LastSeen) > time.Hour {
		inv.Disks[e.Serial] = e
		return true
	}
	return false
}

// sameIdentity compares everything but the time last seen.
func sameIdentity(a, b Entry) bool {
	a.LastSeen, b.LastSeen = time.Time{}, time.Time{}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// Holder returns the disk last seen in an array's slot, or in an array as a named device.
func (inv *Inventory) Holder(arrayUUID string, slot int, device string) (Entry, bool) {
	var best Entry
	found := false
	for _, e := range inv.Disks {
		for _, m := range e.Members {
			if m.ArrayUUID != arrayUUID || !((slot >= 0 && m.Slot == slot) || (device != "" && m.Device == device)) {
				continue
			}
			if !found || e.LastSeen.After(best.LastSeen) {
				best, found = e, true
			}
		}
	}
	return best, found
}

// Save writes the inventory atomically to dir+Path ("" or "/" for the live system).
func (inv *Inventory) Save(dir string) error { return inv.SaveFile(filepath.Join(dir, Path)) }

// SaveFile writes the inventory atomically to the file p.
func (inv *Inventory) SaveFile(p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("saving inventory: %w", err)
	}
	b, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".inventory-")
	if err != nil {
		return fmt.Errorf("saving inventory: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("saving inventory: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving inventory: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving inventory: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("saving inventory: %w", err)
	}
	return nil
}

// Forget drops every remembered slot of the array with this UUID, so that an array stopped or
// taken apart on purpose is no longer reported missing. It returns how many slots it dropped.
func (inv *Inventory) Forget(arrayUUID string) int {
	n := 0
	for serial, e := range inv.Disks {
		kept := e.Members[:0]
		for _, s := range e.Members {
			if s.ArrayUUID == arrayUUID {
				n++
				continue
			}
			kept = append(kept, s)
		}
		e.Members = kept
		inv.Disks[serial] = e
	}
	return n
}
