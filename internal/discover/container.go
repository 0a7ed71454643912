package discover

import (
	"strings"

	"github.com/raidswap/raidswap/mdadm"
)

// This file judges external-metadata arrays (IMSM, Intel RST; DDF) as mdadm does. md keeps
// their metadata in user space (mdmon records failures in it): a container (md/metadata_version
// "external:imsm") holds the physical disks and is inactive by design; each volume built
// inside it ("external:/md127/0": container md127, index 0) is an ordinary raid array whose
// members are the container's disks. md gives neither a uuid (sysfs reads all zeros), so
// they are told apart by name and container, never by uuid.

// Container states. A container is neither degraded nor redundant: its volumes are judged.
const (
	ArrayContainer ArrayState = "container"
	// MemberContainer is a container's disk that holds a slot of one of its volumes; that
	// slot is judged in the volume.
	MemberContainer MemberState = "container"
)

// noUUID is what md/uuid reads for an array whose metadata md does not keep.
const noUUID = "00000000-0000-0000-0000-000000000000"

// ContainerFormat is the external metadata format ("imsm", "ddf") of a container's
// metadata_version, "" for anything else (a volume, native metadata).
func ContainerFormat(metadata string) string {
	f, ok := strings.CutPrefix(metadata, "external:")
	if !ok || f == "" || strings.ContainsAny(f, "/-") {
		return ""
	}
	return f
}

// VolumeOf is the container and index of an external-metadata volume's metadata_version
// ("external:/md127/0", or "external:-md127/0" while mdmon keeps it read-only); ok is false
// for anything else.
func VolumeOf(metadata string) (container, index string, ok bool) {
	f, ok := strings.CutPrefix(metadata, "external:")
	if !ok || len(f) < 2 || (f[0] != '/' && f[0] != '-') {
		return "", "", false
	}
	container, index, ok = strings.Cut(f[1:], "/")
	if !ok || container == "" || index == "" {
		return "", "", false
	}
	return container, index, true
}

// IsContainer reports whether the array is an external-metadata container.
func (a Array) IsContainer() bool { return a.State == ArrayContainer }

// External reports whether md keeps the array's metadata in user space (a container or a
// volume in one): raidswap plans nothing for such an array (plan refuses it).
func (a Array) External() bool { return strings.HasPrefix(a.Metadata, "external:") }

// judgeContainers runs after the arrays are merged and before members go onto their disks:
// a container is ArrayContainer, not inactive; its disks that hold a volume's slot are
// MemberContainer; a disk in none of its volumes is its spare while every volume is whole or
// rebuilding, and faulty while one is degraded with nothing rebuilding (mdmon would have
// taken a usable spare at once: what is left is the disk it failed out). Volumes get their
// container, and no array keeps md's all-zero uuid.
func (s *System) judgeContainers() {
	inVolume := map[string]map[string]bool{} // container -> disks holding a volume slot
	stuck := map[string]bool{}               // container -> a volume degraded, nothing rebuilding
	for i := range s.Arrays {
		a := &s.Arrays[i]
		if a.UUID == noUUID {
			a.UUID = ""
		}
		c, _, ok := VolumeOf(a.Metadata)
		if !ok {
			continue
		}
		a.Container = c
		if inVolume[c] == nil {
			inVolume[c] = map[string]bool{}
		}
		for _, m := range a.Members {
			if m.Disk != nil && m.Slot != nil && m.State != MemberFaulty {
				inVolume[c][*m.Disk] = true
			}
		}
		switch a.State {
		case ArrayDegraded, ArrayFailed:
			if a.Sync == nil {
				stuck[c] = true
			}
		}
	}
	for i := range s.Arrays {
		a := &s.Arrays[i]
		if ContainerFormat(a.Metadata) == "" {
			continue
		}
		// md/level and md/raid_disks read empty: the container has no slots, its volumes do.
		a.State, a.RaidDisks, a.ActiveDisks = ArrayContainer, mdadm.Unknown, 0
		a.Level = "container"
		for j := range a.Members {
			m := &a.Members[j]
			m.Slot = nil
			switch {
			case m.Disk != nil && inVolume[a.Name][*m.Disk]:
				m.State = MemberContainer
			case m.State != MemberSpare:
				// faulty or unreadable: judged as md said
			case stuck[a.Name]:
				m.State = MemberFaulty
			}
		}
	}
}
