// Package plantest builds discover.System values for the replacement scenarios (the seed's
// failed disk, a vanished disk, a partially failed one, a working one to --replace, a disk
// that came back) and a World that changes them the way the kernel would when mdadm,
// mkswap or a hot-swap act on them. Plan and executor tests use it; nothing else may.
package plantest

import (
	"fmt"
	"sort"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/inventory"
)

// Sizes of the scenario layout: partition 1 BIOS boot, 2 md0 (/boot), 3 md1 (/), 4 swap.
const (
	DiskBytes = 8 << 30
	BootKiB   = 523264
	RootKiB   = 6289408
	// SwapUUID is the swap UUID /etc/fstab uses for the failed disk's partition 4.
	SwapUUID = "0a1b2c3d-0000-4000-8000-0000000005a9"
)

// Serials used by every scenario.
const (
	Survivor = "WD-SURV"
	Old      = "WD-OLD"
	New      = "WD-NEW"
)

// TestHost is the machine every scenario runs on; its fstab mounts the seed's swap.
var TestHost = discover.Host{Hostname: "db1", MachineID: "0123456789abcdef0123456789abcdef", Firmware: discover.FirmwareBIOS}

func sp(s string) *string { return &s }
func ip(i int) *int       { return &i }

// Disk is an attached disk of the scenario layout.
func Disk(name, serial string) discover.Disk {
	return discover.Disk{Name: name, Serial: serial, Model: "WDC WD80EFZZ", SizeBytes: DiskBytes, LogicalSectorSize: 512, PhysicalSectorSize: 4096,
		ByID: []string{"virtio-" + serial}, ByPath: "pci-0000:00:0" + name[len(name)-1:] + ".0", Partitions: []string{name + "1", name + "2", name + "3", name + "4"},
		Holders: []string{}, Mounted: []string{}, Swap: []string{}, Members: []discover.DiskMember{}, Present: true}
}

// BlankDisk is an attached disk without partitions.
func BlankDisk(name, serial string) discover.Disk {
	d := Disk(name, serial)
	d.Partitions = []string{}
	return d
}

// Member is an array member.
func Member(dev, disk, serial string, slot int, state discover.MemberState) discover.Member {
	m := discover.Member{Device: sp(dev), Disk: sp(disk), Serial: serial, State: state, Flags: []string{string(state)}}
	if slot >= 0 {
		m.Slot = ip(slot)
	}
	return m
}

// Missing is an empty slot.
func Missing(slot int, lastSerial string) discover.Member {
	return discover.Member{Slot: ip(slot), State: discover.MemberMissing, LastSerial: lastSerial}
}

func array(name, uuid string, kib int64, bitmap string, mounts []string, members ...discover.Member) discover.Array {
	return discover.Array{Name: name, UUID: uuid, Level: "raid1", Metadata: "1.2", RaidDisks: 2, Members: members, SizeKiB: kib, Bitmap: bitmap, Mountpoints: mounts}
}

// UUIDs of the scenario arrays.
const (
	BootUUID = "6fc6e816:187201b4:5690938a:98b61f8c"
	RootUUID = "a1b2c3d4:e5f60718:293a4b5c:6d7e8f90"
)

// Boot and Root are md0 (/boot, no bitmap) and md1 (/, internal bitmap) with the given
// members.
func Boot(m ...discover.Member) discover.Array {
	return array("md0", BootUUID, BootKiB, "none", []string{"/boot"}, m...)
}

// Root is md1.
func Root(m ...discover.Member) discover.Array {
	return array("md1", RootUUID, RootKiB, "+8", []string{"/"}, m...)
}

// Finish derives what discovery derives: members' serials, disks' member lists, array
// states and active counts, disk verdicts.
func Finish(s *discover.System) *discover.System {
	if s.Host.MachineID == "" {
		s.Host = TestHost
	}
	for i := range s.Disks {
		s.Disks[i].Members = []discover.DiskMember{}
	}
	for ai := range s.Arrays {
		a := &s.Arrays[ai]
		a.ActiveDisks = 0
		degraded := false
		for mi := range a.Members {
			m := &a.Members[mi]
			switch m.State {
			case discover.MemberInSync:
				a.ActiveDisks++
			case discover.MemberFaulty, discover.MemberMissing:
				degraded = true
			}
			if m.Disk == nil || m.Device == nil {
				continue
			}
			if d := s.Disk(*m.Disk); d != nil {
				m.Serial = d.Serial
				d.Members = append(d.Members, discover.DiskMember{Array: a.Name, Device: *m.Device, State: m.State})
			}
		}
		switch {
		case a.Sync != nil && a.Sync.Action == "recover":
			a.State = discover.ArrayRecovering
		case degraded:
			a.State = discover.ArrayDegraded
		default:
			a.State = discover.ArrayClean
		}
	}
	for i := range s.Disks {
		d := &s.Disks[i]
		d.Verdict = verdict(d)
	}
	s.Verdict = discover.OK
	if s.Host.Boot.Firmware == "" {
		s.Host.Boot = BootFacts(s)
	}
	return s
}

// BootFacts are the boot facts discovery reads from the scenario layout: BIOS, each present
// disk with partitions a GPT with its BIOS boot partition 1 and GRUB 2's boot.img in the MBR,
// /boot on md0 mounted, grub-install installed.
func BootFacts(s *discover.System) bootloader.Facts {
	f := bootloader.Facts{Firmware: bootloader.FirmwareBIOS, Loader: bootloader.LoaderGrub2, LoaderFrom: "/boot/grub holds GRUB 2's modules", GrubInstall: true}
	for _, a := range s.Arrays {
		for _, mp := range a.Mountpoints {
			if mp == "/boot" {
				f.Boot = bootloader.BootDir{Array: a.Name, Mountpoint: "/boot", FSType: "ext4", Metadata: "1.0", From: "mounted"}
			}
		}
	}
	for _, d := range s.Disks {
		if !d.Present {
			continue
		}
		bd := bootloader.Disk{Name: d.Name, Serial: d.Serial, MBRCode: bootloader.MBRNone, SectorSize: 512}
		if len(d.Partitions) > 0 {
			bd.Label, bd.MBRCode, bd.FirstPartitionLBA = "gpt", bootloader.MBRGrub2, 2048
			bd.BIOSBoot = &bootloader.Partition{Name: d.Name + "1", Number: 1, Type: bootloader.TypeBIOSBoot, SizeBytes: 1 << 20}
			bd.BootMember = d.Name + "2"
		}
		f.Disks = append(f.Disks, bd)
	}
	return f
}

func verdict(d *discover.Disk) discover.DiskState {
	if !d.Present {
		return discover.DiskVanished
	}
	if len(d.Members) == 0 {
		return discover.DiskUnused
	}
	var faulty, ok int
	for _, m := range d.Members {
		switch m.State {
		case discover.MemberFaulty:
			faulty++
		case discover.MemberInSync, discover.MemberRebuilding:
			ok++
		}
	}
	switch {
	case faulty > 0 && ok > 0:
		return discover.DiskPartiallyFailed
	case faulty > 0:
		return discover.DiskFailed
	}
	return discover.DiskHealthy
}

// Seed is the seed's situation: vdb (WD-OLD) failed in both arrays, still attached, its swap
// partition still active; vda (WD-SURV) survives.
func Seed() *discover.System {
	old := Disk("vdb", Old)
	old.Swap = []string{"vdb4"}
	surv := Disk("vda", Survivor)
	surv.Swap = []string{"vda4"}
	surv.Mounted = []string{}
	return Finish(&discover.System{
		Arrays: []discover.Array{
			Root(Member("vda3", "vda", "", 0, discover.MemberInSync), Member("vdb3", "vdb", "", -1, discover.MemberFaulty)),
			Boot(Member("vda2", "vda", "", 0, discover.MemberInSync), Member("vdb2", "vdb", "", -1, discover.MemberFaulty)),
		},
		Disks: []discover.Disk{surv, old},
	})
}

// ESPOnMD is the seed with the RHEL installer's ESP: partition 1 of each disk a member of
// md127 (RAID1, metadata 1.0, mounted at /boot/efi), WD-OLD's member failed like its others.
func ESPOnMD() *discover.System {
	s := Seed()
	s.Arrays = append(s.Arrays, discover.Array{Name: "md127", UUID: ESPUUID, Level: "raid1", Metadata: "1.0",
		RaidDisks: 2, SizeKiB: 65472, Bitmap: "none", Mountpoints: []string{"/boot/efi"},
		Members: []discover.Member{Member("vda1", "vda", "", 0, discover.MemberInSync), Member("vdb1", "vdb", "", -1, discover.MemberFaulty)}})
	return Finish(s)
}

// ESPUUID is ESPOnMD's md127.
const ESPUUID = "0badcafe:12345678:9abcdef0:11223344"

// Partial: vdb failed in md0 but is still in_sync in md1.
func Partial() *discover.System {
	s := Seed()
	s.Arrays[0].Members[1] = Member("vdb3", "vdb", "", 1, discover.MemberInSync)
	return Finish(s)
}

// Vanished: vdb is gone; md dropped its members; the inventory remembers WD-OLD in slot 1 of
// both arrays.
func Vanished() *discover.System {
	surv := Disk("vda", Survivor)
	surv.Swap = []string{"vda4"}
	gone := discover.Disk{Name: "vdb", Serial: Old, Model: "WDC WD80EFZZ", SizeBytes: DiskBytes, ByPath: "pci-0000:00:0b.0",
		ByID: []string{}, Partitions: []string{}, Holders: []string{}, Mounted: []string{}, Swap: []string{}, Members: []discover.DiskMember{}}
	s := Finish(&discover.System{
		Arrays: []discover.Array{
			Root(Member("vda3", "vda", "", 0, discover.MemberInSync), Missing(1, Old)),
			Boot(Member("vda2", "vda", "", 0, discover.MemberInSync), Missing(1, Old)),
		},
		Disks:     []discover.Disk{surv, gone},
		Inventory: oldInventory(),
	})
	d := s.Disk("vdb")
	d.Members = []discover.DiskMember{{Array: "md1", Device: "vdb3", State: discover.MemberMissing}, {Array: "md0", Device: "vdb2", State: discover.MemberMissing}}
	return s
}

// VanishedGone: vdb is gone but md still lists its members (in_sync, device gone): md has
// not done I/O to them since.
func VanishedGone() *discover.System {
	s := Seed()
	s.Arrays[0].Members[1] = Member("vdb3", "vdb", "", 1, discover.MemberInSync)
	s.Arrays[0].Members[1].Gone = true
	s.Arrays[1].Members[1] = Member("vdb2", "vdb", "", 1, discover.MemberInSync)
	s.Arrays[1].Members[1].Gone = true
	d := s.Disk("vdb")
	*d = discover.Disk{Name: "vdb", ByID: []string{}, Partitions: []string{}, Holders: []string{}, Mounted: []string{}, Swap: []string{}}
	return Finish(s)
}

// Working: every member in_sync; the new disk vdc (WD-NEW) is attached and blank.
func Working() *discover.System {
	surv := Disk("vda", Survivor)
	surv.Swap = []string{"vda4"}
	old := Disk("vdb", Old)
	old.Swap = []string{"vdb4"}
	return Finish(&discover.System{
		Arrays: []discover.Array{
			Root(Member("vda3", "vda", "", 0, discover.MemberInSync), Member("vdb3", "vdb", "", 1, discover.MemberInSync)),
			Boot(Member("vda2", "vda", "", 0, discover.MemberInSync), Member("vdb2", "vdb", "", 1, discover.MemberInSync)),
		},
		Disks: []discover.Disk{surv, old, BlankDisk("vdc", New)},
	})
}

// Returned: WD-OLD came back as vdd after md dropped its members.
func Returned() *discover.System {
	s := Vanished()
	s.Disks = []discover.Disk{s.Disks[0], Disk("vdd", Old)}
	return Finish(s)
}

func oldInventory() *inventory.Inventory {
	return &inventory.Inventory{Format: 1, Disks: map[string]inventory.Entry{
		Old: {Serial: Old, Name: "vdb", SizeBytes: DiskBytes, Members: []inventory.Slot{
			{ArrayUUID: BootUUID, Array: "md0", Slot: 1, Device: "vdb2"},
			{ArrayUUID: RootUUID, Array: "md1", Slot: 1, Device: "vdb3"},
		}},
		Survivor: {Serial: Survivor, Name: "vda", SizeBytes: DiskBytes},
	}}
}

// Names lists the disks' names and serials, for test messages.
func Names(s *discover.System) string {
	var out []string
	for _, d := range s.Disks {
		out = append(out, fmt.Sprintf("%s=%s(present=%v)", d.Name, d.Serial, d.Present))
	}
	sort.Strings(out)
	return fmt.Sprint(out)
}

// ReturnedStale: WD-OLD came back as vdd while md0 still lists its old member vdb2 as in_sync
// with the device gone (md had done no I/O to it), remembered in the inventory.
func ReturnedStale() *discover.System {
	s := Returned()
	stale := Member("vdb2", "vdb", "", 1, discover.MemberInSync)
	stale.Gone, stale.LastSerial = true, Old
	s.Arrays[1].Members[1] = stale
	return Finish(s)
}

// DataUUID is md2's UUID in the whole-disk scenarios.
const DataUUID = "d4a7a000:11223344:55667788:99aabbcc"

// DataKiB is md2's component size, and DataOffsetSectors its members' data offset (metadata
// 1.2, as mdadm chose on the VM's 256 MiB disks).
const (
	DataKiB           = 8384512
	DataOffsetSectors = 2048
)

// WholeDisk: a partitioned pair vda/vdb (WD-A, WD-B) holds md0 (/boot) and md1 (/); md2 (/srv,
// metadata 1.2) is built over the whole disks vdc (WD-SURV) and vdd (WD-OLD) with no
// partition table, and vdd failed in it. The new disk vde (WD-NEW) is attached and blank.
func WholeDisk() *discover.System {
	whole := func(name, serial string, state discover.MemberState, slot int) discover.Member {
		m := Member(name, name, serial, slot, state)
		off := int64(DataOffsetSectors)
		m.DataOffsetSectors = &off
		return m
	}
	data := array("md2", DataUUID, DataKiB, "none", []string{"/srv"},
		whole("vdc", "", discover.MemberInSync, 0), whole("vdd", "", discover.MemberFaulty, -1))
	return Finish(&discover.System{
		Arrays: []discover.Array{
			Root(Member("vda3", "vda", "", 0, discover.MemberInSync), Member("vdb3", "vdb", "", 1, discover.MemberInSync)),
			Boot(Member("vda2", "vda", "", 0, discover.MemberInSync), Member("vdb2", "vdb", "", 1, discover.MemberInSync)),
			data,
		},
		Disks: []discover.Disk{Disk("vda", "WD-A"), Disk("vdb", "WD-B"), BlankDisk("vdc", Survivor), BlankDisk("vdd", Old), BlankDisk("vde", New)},
	})
}

// WholeDiskWorking: WholeDisk with vdd still in_sync in md2 (a working disk to --replace).
func WholeDiskWorking() *discover.System {
	s := WholeDisk()
	s.Arrays[2].Members[1].State = discover.MemberInSync
	s.Arrays[2].Members[1].Flags = []string{"in_sync"}
	s.Arrays[2].Members[1].Slot = ip(1)
	return Finish(s)
}
