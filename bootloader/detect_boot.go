package bootloader

import (
	"bufio"
	"bytes"
	"path"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/host"
)

// Where /boot lives: fstab and the mounts, traced down to its md arrays.

// FstabEntry is one line of /etc/fstab.
type FstabEntry struct {
	Spec, Mountpoint, FSType string
}

// ParseFstab parses /etc/fstab; octal escapes in the mount point (\040) are decoded.
// /proc/self/mounts is blockstack.ParseMounts's.
func ParseFstab(b []byte) []FstabEntry {
	var out []FstabEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		out = append(out, FstabEntry{Spec: f[0], Mountpoint: host.UnescapeMount(f[1]), FSType: f[2]})
	}
	return out
}

// resolveSpec names the block device an fstab spec means (UUID=, LABEL=, PARTUUID=, a /dev
// path or link), or "".
func resolveSpec(root *host.Root, spec string) string {
	link := ""
	switch {
	case strings.HasPrefix(spec, "UUID="):
		link = "/dev/disk/by-uuid/" + strings.Trim(strings.TrimPrefix(spec, "UUID="), `"`)
	case strings.HasPrefix(spec, "LABEL="):
		link = "/dev/disk/by-label/" + strings.Trim(strings.TrimPrefix(spec, "LABEL="), `"`)
	case strings.HasPrefix(spec, "PARTUUID="):
		link = "/dev/disk/by-partuuid/" + strings.Trim(strings.TrimPrefix(spec, "PARTUUID="), `"`)
	case strings.HasPrefix(spec, "/dev/"):
		link = spec
	default:
		return ""
	}
	for i := 0; i < 8; i++ {
		t, err := root.ReadLink(link)
		if err != nil {
			break
		}
		if !path.IsAbs(t) {
			t = path.Join(path.Dir(link), t)
		}
		link = t
	}
	if !strings.HasPrefix(link, "/dev/") || strings.HasPrefix(link, "/dev/disk/") {
		return ""
	}
	return path.Base(link)
}

// findBoot says where /boot lives: the file system mounted at /boot, else the one
// /etc/fstab mounts there, else / (then /boot is a directory on it). Each is traced through
// the stack (blockstack: LVM, LUKS, dm-crypt, partitions of an array, bind mounts) down to
// the md arrays it rests on.
func findBoot(root *host.Root, in Input, st *blockstack.Stack, fstab []FstabEntry) BootDir {
	if m, ok := st.MountAt("/boot"); ok {
		if dev := st.Device(m); dev != "" {
			tr := st.Trace(dev)
			return bootOn(in, tr, blockstack.Describe("/boot", m, tr), "/boot", "mounted", false, m.FSType)
		}
	}
	for _, e := range fstab {
		if e.Mountpoint != "/boot" {
			continue
		}
		if dev := resolveSpec(root, e.Spec); dev != "" {
			tr := st.Trace(dev)
			return bootOn(in, tr, "/boot (not mounted; "+e.Spec+" in /etc/fstab) → "+tr.String(), "", "fstab", false, e.FSType)
		}
	}
	if m, ok := st.MountAt("/"); ok {
		if dev := st.Device(m); dev != "" {
			if tr := st.Trace(dev); len(tr.Arrays) > 0 {
				return bootOn(in, tr, blockstack.Describe("/boot", m, tr), "/", "root", true, m.FSType)
			}
		}
	}
	return BootDir{}
}

// bootOn is the BootDir of a /boot whose file system is on the traced device.
func bootOn(in Input, tr blockstack.Trace, via, mp, from string, onRoot bool, fst string) BootDir {
	b := BootDir{Mountpoint: mp, From: from, FSType: fst, OnRoot: onRoot}
	if tr.Stacked() {
		b.Device, b.Via = tr.Device, via
	}
	if len(tr.Plain) > 0 {
		b.Partition = strings.Join(tr.Plain, ", ")
		return b
	}
	var why []string
	if len(tr.Unknown) > 0 {
		why = append(why, "raidswap cannot tell what "+strings.Join(tr.Unknown, ", ")+" rests on")
	}
	for _, n := range tr.OfKind(blockstack.KindDM) {
		why = append(why, n+" is a device-mapper target that is neither LVM nor dm-crypt")
	}
	if len(tr.Arrays) > 1 {
		why = append(why, "it spans the arrays "+strings.Join(tr.Arrays, ", "))
	}
	b.Unsupported = strings.Join(why, "; ")
	if len(tr.Arrays) > 0 {
		b.Array = tr.Arrays[0]
		b.Metadata = in.Arrays[b.Array]
	}
	b.Crypt = strings.Join(tr.OfKind(blockstack.KindCrypt), ", ")
	return b
}

// grubCryptodisk says whether GRUB is told to unlock encrypted disks
// (GRUB_ENABLE_CRYPTODISK=y in /etc/default/grub or /etc/default/grub.d/*.cfg, the last
// setting winning as when the shell sources them).
func grubCryptodisk(root *host.Root) bool {
	files := []string{"/etc/default/grub"}
	more, _ := root.Glob("/etc/default/grub.d/*.cfg")
	sort.Strings(more)
	on := false
	for _, p := range append(files, more...) {
		b, err := root.ReadFile(p)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if ok && strings.TrimSpace(k) == "GRUB_ENABLE_CRYPTODISK" {
				on = strings.Trim(strings.TrimSpace(v), `"'`) == "y"
			}
		}
	}
	return on
}
