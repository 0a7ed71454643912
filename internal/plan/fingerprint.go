package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
)

// Observe lists the facts a plan is bound to, one line each, sorted: every array's UUID,
// name, level and size, each member's disk (by serial) and state, and whether each of the
// given disks is attached, and where /boot lives. Kernel names of disks appear only for a disk without a serial.
func Observe(sys *discover.System, serials ...string) []string {
	var lines []string
	for _, a := range sys.Arrays {
		lines = append(lines, fmt.Sprintf("array %s uuid=%s level=%s raid_disks=%d", a.Name, a.UUID, a.Level, a.RaidDisks))
		for _, m := range a.Members {
			who := "-"
			switch {
			case m.Serial != "":
				who = m.Serial
			case m.State == discover.MemberMissing:
				who = "-"
			case m.Disk != nil:
				who = "name:" + *m.Disk
			}
			gone := ""
			if m.Gone {
				gone = " gone"
			}
			lines = append(lines, fmt.Sprintf("member %s uuid=%s disk=%s state=%s%s", a.Name, a.UUID, who, m.State, gone))
		}
	}
	// What the plan builds on besides md: whose machine it is, how it boots, which swap
	// UUIDs fstab mounts.
	if h := sys.Host; h.MachineID != "" {
		lines = append(lines, "host machine-id="+h.MachineID)
	}
	if sys.Host.Firmware != "" {
		lines = append(lines, "firmware "+sys.Host.Firmware)
	}
	// Where /boot lives decides the boot steps (which array to mount, whether a mount step is
	// needed at all): a plan made while /boot was in fstab only is stale once /boot is
	// mounted, and the other way round.
	if b := sys.Host.Boot.Boot; b.Array != "" || b.Partition != "" {
		lines = append(lines, fmt.Sprintf("boot array=%s partition=%s on_root=%t from=%s", b.Array, b.Partition, b.OnRoot, b.From))
	}
	for _, u := range sys.Host.FstabSwap {
		lines = append(lines, "fstab swap uuid="+u)
	}
	seen := map[string]bool{}
	for _, s := range serials {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		state := "absent"
		if d := sys.DiskBySerial(s); d != nil && d.Present {
			state = "present"
		}
		lines = append(lines, fmt.Sprintf("disk %s %s", s, state))
	}
	sort.Strings(lines)
	return lines
}

// Fingerprint hashes observed lines.
func Fingerprint(observed []string) string {
	h := sha256.New()
	for _, l := range observed {
		h.Write([]byte(l))
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Diff names the lines that differ: "-" for a line only in was, "+" for one only in now.
func Diff(was, now []string) []string {
	count := map[string]int{}
	for _, l := range was {
		count[l]++
	}
	for _, l := range now {
		count[l]--
	}
	var out []string
	for _, l := range was {
		if count[l] > 0 {
			out = append(out, "- "+l)
			count[l]--
		}
	}
	for l, c := range count {
		for ; c < 0; c++ {
			out = append(out, "+ "+l)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.TrimLeft(out[i], "+- ") < strings.TrimLeft(out[j], "+- ") })
	return out
}

// CheckFresh re-observes the system and returns a *StaleError when the plan's fingerprint no
// longer matches it.
func (p *Plan) CheckFresh(sys *discover.System) error {
	now := Observe(sys, p.boundSerials()...)
	if Fingerprint(now) == p.Fingerprint {
		return nil
	}
	changes := Diff(p.Observed, now)
	if len(changes) == 0 {
		changes = []string{"the fingerprint does not match the observed lines in the plan"}
	}
	return &StaleError{Changes: changes}
}

// boundSerials are the disks whose presence the plan is bound to.
func (p *Plan) boundSerials() []string {
	return []string{p.Disks.Failed.Serial, p.Disks.Survivor.Serial, p.Disks.New.Serial}
}
