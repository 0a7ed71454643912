package partition

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/inventory"
)

// The last-copy guard: --wipe destroys md superblocks of arrays from other machines, never
// one that may be the only copy of an array this host runs or ran. In a rescue boot the
// arrays are stopped, so "in use" checks see nothing; the superblock, what this host
// remembers, and the event counts of the other present members still tell.

// mdadmConfPaths are where Debian and others keep mdadm's configuration.
var mdadmConfPaths = []string{"/etc/mdadm/mdadm.conf", "/etc/mdadm.conf"}

// knownArrays are the arrays this host knows, by UUID as 32 hex digits in mdadm's order
// (what `mdadm --examine` and mdadm.conf print), each with where it is known from.
type knownArrays map[string]string

// readKnownArrays gathers the arrays named by mdadm.conf ARRAY lines, the inventory and the
// md devices in sysfs (running or inactive).
func readKnownArrays(root *host.Root) (knownArrays, error) {
	k := knownArrays{}
	for _, p := range mdadmConfPaths {
		b, err := root.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		for _, u := range parseMdadmConfUUIDs(b) {
			k.add(u, p)
		}
	}
	inv, err := inventory.Load(root)
	if err != nil {
		return nil, err
	}
	for _, e := range inv.Disks {
		for _, m := range e.Members {
			// The inventory keeps sysfs's form without the metadata version: take both
			// readings, which can only make the guard stricter.
			if u := normalizeUUID(m.ArrayUUID); u != "" {
				k.add(u, inventory.Path)
				k.add(swapUUIDWords(u), inventory.Path)
			}
		}
	}
	files, _ := root.Glob("/sys/block/md*/md/uuid")
	for _, f := range files {
		s, err := root.ReadString(f)
		if err != nil {
			continue
		}
		u := normalizeUUID(s)
		if u == "" {
			continue
		}
		dir := path.Dir(f)
		if v, _ := root.ReadString(dir + "/metadata_version"); v == "0.90" {
			u = swapUUIDWords(u)
		}
		k.add(u, strings.TrimSuffix(dir, "/md"))
	}
	return k, nil
}

func (k knownArrays) add(u, from string) {
	if _, ok := k[u]; !ok {
		k[u] = from
	}
}

// parseMdadmConfUUIDs returns the UUID= of every ARRAY line (continuation lines start with
// white space), normalized; malformed ones are skipped.
func parseMdadmConfUUIDs(b []byte) []string {
	var out []string
	inArray := false
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if line[0] != ' ' && line[0] != '\t' {
			inArray = strings.EqualFold(f[0], "ARRAY")
			f = f[1:]
		}
		if !inArray {
			continue
		}
		for _, w := range f {
			if k, v, ok := strings.Cut(w, "="); ok && strings.EqualFold(k, "uuid") {
				if u := normalizeUUID(v); u != "" {
					out = append(out, u)
				}
			}
		}
	}
	return out
}

// normalizeUUID turns mdadm's xxxxxxxx:xxxxxxxx:xxxxxxxx:xxxxxxxx or sysfs's dashed form into
// 32 lower-case hex digits; "" when it is neither.
func normalizeUUID(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer(":", "", "-", "").Replace(s)
	if len(s) != 32 {
		return ""
	}
	if _, err := hex.DecodeString(s); err != nil {
		return ""
	}
	return s
}

// swapUUIDWords reverses the bytes of each 32-bit word: the kernel keeps a 0.90 UUID as four
// little-endian words and prints their bytes, mdadm prints the words.
func swapUUIDWords(u string) string {
	var b strings.Builder
	for w := 0; w < 4; w++ {
		word := u[w*8 : w*8+8]
		for i := 6; i >= 0; i -= 2 {
			b.WriteString(word[i : i+2])
		}
	}
	return b.String()
}

// presentMember is an md superblock on a disk other than the target.
type presentMember struct {
	dev string
	sb  Superblock
}

// presentMembers reads the md superblocks of every other whole disk in /sys/block and of its
// partitions. A device that cannot be opened holds no copy anyone can use.
func presentMembers(root *host.Root, target DiskID) []presentMember {
	var out []presentMember
	disks, _ := root.ReadDir("/sys/block")
	for _, e := range disks {
		name := e.Name()
		if name == target.Name || strings.HasPrefix(name, "md") || strings.HasPrefix(name, "ram") || strings.HasPrefix(name, "zram") {
			continue
		}
		devs, err := blockDevs(root, name)
		if err != nil {
			continue
		}
		for _, d := range devs {
			dev := "/dev/" + d.name
			disk, err := Open(root.Path(dev), OpenOptions{})
			if err != nil {
				continue
			}
			if sbs, err := FindSuperblocks(disk, disk.Geometry().Size); err == nil {
				for _, sb := range sbs {
					out = append(out, presentMember{dev, sb})
				}
			}
			disk.Close()
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].dev < out[j].dev })
	return out
}

// GuardLastCopy refuses, even with --wipe, a target holding an md superblock of an array
// this host knows (mdadm.conf, the inventory, an md device in sysfs) when no other present
// disk holds an active member of that array with an event count at least as high: the
// target may hold the array's last copy. A superblock of an array this host never knew (a
// used disk from another machine) passes. sigs are what HoldsData found on the target.
func GuardLastCopy(root *host.Root, target DiskID, sigs []Signature) error {
	var mds []Signature
	for _, s := range sigs {
		if s.MD != nil {
			mds = append(mds, s)
		}
	}
	if len(mds) == 0 {
		return nil
	}
	fail := func(format string, args ...any) error {
		return &RefusedError{Kind: RefuseLastCopy, Device: target.Path, Serial: target.Serial, Reason: fmt.Sprintf(format, args...)}
	}
	known, err := readKnownArrays(root)
	if err != nil {
		return fail("it holds %s and raidswap cannot tell whether this host knows that array: %v", mds[0], err)
	}
	var others []presentMember
	scanned := false
	for _, s := range mds {
		sb := *s.MD
		from, ok := known[normalizeUUID(sb.ArrayUUID)]
		if !ok {
			continue
		}
		if !scanned {
			others, scanned = presentMembers(root, target), true
		}
		if currentCopy(others, sb) != "" {
			continue
		}
		return fail("it holds %s (UUID %s, events %d); this host knows that array (%s) and no other present disk holds an active member of it at least as current: it may be the array's last copy, so it is not wiped even with --wipe",
			s, sb.ArrayUUID, sb.Events, from)
	}
	return nil
}

// currentCopy names another present active member of sb's array with at least sb's events.
func currentCopy(others []presentMember, sb Superblock) string {
	for _, o := range others {
		if o.sb.ArrayUUID == sb.ArrayUUID && strings.HasPrefix(o.sb.Role, "active") && o.sb.Events >= sb.Events {
			return o.dev
		}
	}
	return ""
}
