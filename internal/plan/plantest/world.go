package plantest

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/raidswap/raidswap/internal/discover"
)

// World is a system that changes the way the kernel would: tests apply a command's effect
// with its methods (from a FakeRunner expectation's Do), and triggers fire when the
// executor looks (Discover), e.g. "pull the disk once it is detached".
type World struct {
	mu  sync.Mutex
	sys *discover.System
	// RebuildLooks is how many looks a rebuild takes to complete (default 2).
	RebuildLooks int
	triggers     []trigger
	rebuilding   map[string]int // array -> looks left
	// Looks counts Discover calls.
	Looks int
}

type trigger struct {
	when func(*discover.System) bool
	do   func(*World)
	done bool
}

// NewWorld starts from sys.
func NewWorld(sys *discover.System) *World {
	return &World{sys: sys, RebuildLooks: 2, rebuilding: map[string]int{}}
}

// When runs do once, at the first look where when holds.
func (w *World) When(when func(*discover.System) bool, do func(*World)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.triggers = append(w.triggers, trigger{when: when, do: do})
}

// Discover returns a copy of the system as it is now, after advancing rebuilds and firing
// triggers.
func (w *World) Discover() (*discover.System, error) {
	w.mu.Lock()
	w.Looks++
	for name, left := range w.rebuilding {
		if left <= 1 {
			delete(w.rebuilding, name)
			w.finishRebuild(name)
		} else {
			w.rebuilding[name] = left - 1
		}
	}
	var fire []*trigger
	for i := range w.triggers {
		t := &w.triggers[i]
		if !t.done && t.when(w.sys) {
			t.done = true
			fire = append(fire, t)
		}
	}
	w.mu.Unlock()
	for _, t := range fire {
		t.do(w)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.copy(), nil
}

// Sys returns a copy of the system now, without advancing anything.
func (w *World) Sys() *discover.System {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.copy()
}

func (w *World) copy() *discover.System {
	b, err := json.Marshal(w.sys)
	if err != nil {
		panic(err)
	}
	var out discover.System
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	out.Inventory = w.sys.Inventory
	out.Host = w.sys.Host
	out.Root = w.sys.Root // a fixture tree standing for the live sysfs (exec's scope check)
	return &out
}

func (w *World) change(f func(s *discover.System)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(w.sys)
	Finish(w.sys)
}

// FailRemove is `mdadm ARRAY --fail DEV --remove DEV`.
func (w *World) FailRemove(array, dev string) {
	w.change(func(s *discover.System) {
		a := s.Array(array)
		for i, m := range a.Members {
			if m.Device != nil && *m.Device == dev {
				slot := -1
				if m.Slot != nil {
					slot = *m.Slot
				}
				a.Members = append(a.Members[:i], a.Members[i+1:]...)
				if slot >= 0 {
					a.Members = append(a.Members, Missing(slot, ""))
				} else if !hasMissing(a) {
					a.Members = append(a.Members, Missing(1, ""))
				}
				return
			}
		}
	})
}

func hasMissing(a *discover.Array) bool {
	for _, m := range a.Members {
		if m.State == discover.MemberMissing {
			return true
		}
	}
	return false
}

// RemoveDetached is `mdadm ARRAY --fail detached --remove detached`.
func (w *World) RemoveDetached(array string) {
	w.change(func(s *discover.System) {
		a := s.Array(array)
		var keep []discover.Member
		for _, m := range a.Members {
			if m.Gone {
				keep = append(keep, Missing(1, ""))
				continue
			}
			keep = append(keep, m)
		}
		a.Members = keep
	})
}

// Pull takes the disk with serial away; md keeps listing its members, device gone.
func (w *World) Pull(serial string) {
	w.change(func(s *discover.System) {
		var keep []discover.Disk
		for _, d := range s.Disks {
			if d.Serial == serial {
				for ai := range s.Arrays {
					for mi := range s.Arrays[ai].Members {
						m := &s.Arrays[ai].Members[mi]
						if m.Disk != nil && *m.Disk == d.Name {
							m.Gone = true
						}
					}
				}
				continue
			}
			keep = append(keep, d)
		}
		s.Disks = keep
	})
}

// Insert attaches a disk.
func (w *World) Insert(d discover.Disk) {
	w.change(func(s *discover.System) { s.Disks = append(s.Disks, d) })
}

// Partition gives the disk with serial the partitions 1..n.
func (w *World) Partition(serial string, n int) {
	w.change(func(s *discover.System) {
		d := s.DiskBySerial(serial)
		d.Partitions = nil
		for i := 1; i <= n; i++ {
			d.Partitions = append(d.Partitions, fmt.Sprintf("%s%d", d.Name, i))
		}
	})
}

// Add is `mdadm ARRAY --add DEV` on disk: into a missing slot, recovery starts (and
// completes after RebuildLooks looks); into a full array, a spare.
func (w *World) Add(array, dev, disk string) {
	w.change(func(s *discover.System) {
		a := s.Array(array)
		for i, m := range a.Members {
			if m.State == discover.MemberMissing {
				slot := *m.Slot
				a.Members[i] = Member(dev, disk, "", slot, discover.MemberRebuilding)
				a.Sync = &discover.Sync{Action: "recover", Percent: 0, SpeedKiB: 100000, ETASeconds: 60}
				w.rebuilding[array] = w.RebuildLooks
				return
			}
		}
		a.Members = append(a.Members, Member(dev, disk, "", -1, discover.MemberSpare))
	})
}

// Replace is `mdadm ARRAY --replace OLD --with NEW`: the copy completes after RebuildLooks
// looks, then OLD is faulty and NEW in_sync.
func (w *World) Replace(array, old, with string) {
	w.change(func(s *discover.System) {
		a := s.Array(array)
		for i, m := range a.Members {
			if m.Device != nil && *m.Device == with {
				a.Members[i].State = discover.MemberRebuilding
				a.Members[i].Flags = []string{"replacement"}
			}
		}
		a.Sync = &discover.Sync{Action: "recover", SpeedKiB: 100000, ETASeconds: 60}
		w.rebuilding[array+"\x00"+old] = w.RebuildLooks
	})
}

// finishRebuild completes an array's recovery (or a replacement, keyed array\x00old).
func (w *World) finishRebuild(key string) {
	array, old := key, ""
	for i := 0; i < len(key); i++ {
		if key[i] == 0 {
			array, old = key[:i], key[i+1:]
		}
	}
	a := w.sys.Array(array)
	for i, m := range a.Members {
		switch {
		case m.State == discover.MemberRebuilding:
			a.Members[i].State = discover.MemberInSync
		case old != "" && m.Device != nil && *m.Device == old:
			a.Members[i].State = discover.MemberFaulty
			a.Members[i].Slot = nil
		}
	}
	a.Sync = nil
	Finish(w.sys)
}

// SetSwap makes partition part of the disk with serial active swap or not.
func (w *World) SetSwap(serial, part string, on bool) {
	w.change(func(s *discover.System) {
		d := s.DiskBySerial(serial)
		var keep []string
		for _, p := range d.Swap {
			if p != part {
				keep = append(keep, p)
			}
		}
		if on {
			keep = append(keep, part)
		}
		d.Swap = keep
	})
}

// Disk returns a copy of the disk with serial, or nil.
func (w *World) Disk(serial string) *discover.Disk {
	s := w.Sys()
	return s.DiskBySerial(serial)
}

// SetHost makes the world another machine (or the same one under a new identity).
func (w *World) SetHost(h discover.Host) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sys.Host = h
}

// FinishRebuilds completes every rebuild under way at once, whatever RebuildLooks says.
func (w *World) FinishRebuilds() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for name := range w.rebuilding {
		delete(w.rebuilding, name)
		w.finishRebuild(name)
	}
}
