package discover

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/paths"
)

// This file is the drill's view of the system (Scope) and how unscoped discovery keeps a
// drill out of the host's verdict. A drill disk is identify.DrillDisk's, judged from the
// kernel's loop backing file: nothing raidswap wrote makes a disk one.

// Scope confines discovery (and, through exec.Options.Scope, the executor) to one drill's
// lab: only its disks, only the arrays all of whose members are on them, and the lab's boot
// facts (BIOS, /boot = the array mounted at BootMount; no fstab, debconf or EFI variables).
type Scope struct {
	// Lab is the lab directory, as the drill disks' backing files name it.
	Lab string
	// BootMount is where the drill mounts its /boot array (<lab>/boot).
	BootMount string
}

// Check says why the scope cannot confine anything: a lab that is not a clean absolute
// path, or a BootMount that is not one.
func (sc Scope) Check() error {
	if sc.Lab == "" || !path.IsAbs(sc.Lab) || path.Clean(sc.Lab) != sc.Lab || sc.Lab == "/" {
		return fmt.Errorf("the drill's lab %q is not a clean absolute directory", sc.Lab)
	}
	if sc.BootMount != "" && (!path.IsAbs(sc.BootMount) || path.Clean(sc.BootMount) != sc.BootMount) {
		return fmt.Errorf("the drill's boot mount %q is not a clean absolute path", sc.BootMount)
	}
	return nil
}

// Allows reports whether d is one of this drill's disks.
func (sc Scope) Allows(d *Disk) bool {
	return d != nil && sc.Check() == nil && d.Drill == sc.Lab
}

// InventoryPath is where the drill's own inventory lives: scoped discovery reads it instead
// of the host's, so a drill disk that vanishes is named by serial as a real one would be.
func (sc Scope) InventoryPath() string { return paths.Lab(sc.Lab).Inventory }

// RefusalReason is the executor's words for a device outside the lab.
func (sc Scope) RefusalReason() string {
	return fmt.Sprintf("not one of this drill's disks (lab %s)", sc.Lab)
}

// UnderlyingDisks are the whole disks under block device name, read from the live sysfs
// through root: a partition's disk, and for a stacked device (device-mapper) the disks
// under its slaves. A device sysfs does not know gives an error: nothing can be judged of it.
func UnderlyingDisks(root *host.Root, name string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	var walk func(n string, depth int) error
	walk = func(n string, depth int) error {
		if depth > 8 || strings.ContainsAny(n, "/\x00") || n == "" || n == "." || n == ".." {
			return fmt.Errorf("%s: not a block device name, or stacked too deep", name)
		}
		base := "/sys/class/block/" + n
		if !root.Exists(base) {
			base = "/sys/block/" + n
			if !root.Exists(base) {
				return fmt.Errorf("/dev/%s is not attached", n)
			}
		}
		if root.Exists(base + "/partition") {
			t, err := root.ResolveLink(base)
			if err != nil {
				return fmt.Errorf("/dev/%s: %w", n, err)
			}
			return walk(path.Base(path.Dir(t)), depth+1)
		}
		ents, _ := root.ReadDir(base + "/slaves")
		if len(ents) == 0 {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
			return nil
		}
		for _, e := range ents {
			if err := walk(e.Name(), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(name, 0); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// drillOf is the lab of the drill disk under a member device, when every disk under it is
// a drill disk of one lab.
func drillOf(root *host.Root, dev string) (disk, lab string) {
	disks, err := UnderlyingDisks(root, dev)
	if err != nil || len(disks) != 1 {
		return "", ""
	}
	if _, l, ok := identify.DrillDisk(root, disks[0]); ok {
		return disks[0], l
	}
	return "", ""
}

// stackedPartition is the one partition under a stacked device (a dm table whose only slave
// is a partition, directly or through further single-slave tables); "" for a device that is
// not stacked, or stacked over several devices or a whole disk.
func stackedPartition(root *host.Root, dev string) string {
	n := dev
	for depth := 0; depth < 8; depth++ {
		if strings.ContainsAny(n, "/\x00") || n == "" || n == "." || n == ".." {
			return ""
		}
		base := "/sys/class/block/" + n
		if root.Exists(base + "/partition") {
			if n == dev {
				return ""
			}
			return n
		}
		ents, _ := root.ReadDir(base + "/slaves")
		if len(ents) != 1 {
			return ""
		}
		n = ents[0].Name()
	}
	return ""
}

// markDrillMembers puts each member stacked over a drill disk (a dm table over a lab
// partition) on that drill disk, and marks Array.Drill on the arrays whose present members
// all lie on drill disks of one lab.
func (s *System) markDrillMembers(root *host.Root) {
	for ai := range s.Arrays {
		a := &s.Arrays[ai]
		lab, present, outside := "", 0, false
		for mi := range a.Members {
			m := &a.Members[mi]
			if m.Device == nil || m.Gone {
				continue
			}
			present++
			disk, l := drillOf(root, *m.Device)
			if l == "" || (lab != "" && l != lab) {
				outside = true
				continue
			}
			lab = l
			if m.Disk == nil || *m.Disk != disk {
				m.Disk = strp(disk)
			}
			if p := stackedPartition(root, *m.Device); p != "" {
				m.Partition = p
			}
		}
		if present > 0 && !outside {
			a.Drill = lab
		}
	}
}

// applyScope keeps only the lab's disks and the arrays all of whose members are on them.
// It runs before members are attached to disks; keepRemembered runs after.
func (s *System) applyScope(sc *Scope) {
	disks := s.Disks[:0]
	for _, d := range s.Disks {
		if sc.Allows(&d) {
			disks = append(disks, d)
		}
	}
	s.Disks = disks
	arrays := s.Arrays[:0]
	for _, a := range s.Arrays {
		if a.Drill == sc.Lab || (a.State == ArrayMissing && rememberedInLab(a)) {
			arrays = append(arrays, a)
		}
	}
	s.Arrays = arrays
}

// rememberedInLab: an array md lists nowhere, known only from the lab's own inventory.
func rememberedInLab(a Array) bool {
	for _, m := range a.Members {
		if m.Device != nil {
			return false
		}
	}
	return true
}

// keepRemembered drops, under a scope, what the inventory names that is not a drill disk:
// a vanished disk whose serial is no drill serial, and an array one of whose remembered
// members was on such a disk.
func (s *System) keepRemembered() {
	arrays := s.Arrays[:0]
	for _, a := range s.Arrays {
		ok := true
		for _, m := range a.Members {
			if m.LastSerial != "" && !identify.IsDrillSerial(m.LastSerial) {
				ok = false
			}
		}
		if ok {
			arrays = append(arrays, a)
		}
	}
	s.Arrays = arrays
	disks := s.Disks[:0]
	for _, d := range s.Disks {
		if d.Present || identify.IsDrillSerial(d.Serial) {
			disks = append(disks, d)
		}
	}
	s.Disks = disks
}

// WithoutDrills is the system without the drill arrays and drill disks an unscoped
// discovery saw: what the Prometheus textfile and the inventory are made of, so a drill
// never pages and a cleaned-up drill is never reported missing. A scoped system is returned
// as it is.
func (s *System) WithoutDrills() *System {
	if s.Scope != nil {
		return s
	}
	c := *s
	c.Arrays, c.Disks = nil, nil
	for _, a := range s.Arrays {
		if a.Drill == "" {
			c.Arrays = append(c.Arrays, a)
		}
	}
	for _, d := range s.Disks {
		if d.Drill == "" {
			c.Disks = append(c.Disks, d)
		}
	}
	if c.Arrays == nil {
		c.Arrays = []Array{}
	}
	if c.Disks == nil {
		c.Disks = []Disk{}
	}
	return &c
}

// drillNote names the drill arrays an unscoped verdict left out, "" when there are none.
func drillNote(s *System) string {
	if s.Scope != nil {
		return ""
	}
	var names []string
	for _, a := range s.Arrays {
		if a.Drill != "" {
			names = append(names, a.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("drill arrays %s (raidswap drill) are not judged", strings.Join(names, ", "))
}
