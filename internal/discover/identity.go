package discover

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SerialHolders returns the attached disks that report serial (none for "").
func (s *System) SerialHolders(serial string) []*Disk {
	var out []*Disk
	if serial == "" {
		return nil
	}
	for i := range s.Disks {
		if s.Disks[i].Present && s.Disks[i].Serial == serial {
			out = append(out, &s.Disks[i])
		}
	}
	return out
}

// IdentityProblem says why the attached disk d cannot be told apart from the other disks by
// its serial, or "" when it can: it reports no serial, another attached disk reports the
// same one (cheap USB bridges, cloned virtual disks), or the serial holds bytes that are not
// printable text (a bridge or firmware returning garbage). Plans are bound to serials and
// every write re-checks the serial, so raidswap writes to no disk with such a problem: this
// is the one rule plan.Build and the executor both ask. The message names the disks and
// what tells them apart instead (WWN, by-path, size).
func (s *System) IdentityProblem(d *Disk) string {
	if d == nil || !d.Present {
		return ""
	}
	switch {
	case d.Serial == "":
		return fmt.Sprintf("%s reports no serial, so raidswap cannot confirm which drive it is; tell it apart by %s", d.Name, distinguishers([]*Disk{d}))
	case !printable(d.Serial):
		return fmt.Sprintf("the serial of %s, %q, holds bytes that are not printable text (a USB bridge or firmware fault), so raidswap cannot confirm which drive it is; tell it apart by %s",
			d.Name, d.Serial, distinguishers([]*Disk{d}))
	}
	if same := s.SerialHolders(d.Serial); len(same) > 1 {
		names := make([]string, len(same))
		for i, o := range same {
			names[i] = o.Name
		}
		return fmt.Sprintf("%d disks report serial %q (%s), so raidswap cannot tell them apart by serial; tell them apart by %s",
			len(same), d.Serial, strings.Join(names, ", "), distinguishers(same))
	}
	return ""
}

// judgeIdentities sets IdentityProblem on every attached disk.
func (s *System) judgeIdentities() {
	for i := range s.Disks {
		s.Disks[i].IdentityProblem = s.IdentityProblem(&s.Disks[i])
	}
}

// printable reports whether a serial is valid UTF-8 of graphic characters and spaces.
func printable(serial string) bool {
	if !utf8.ValidString(serial) {
		return false
	}
	for _, r := range serial {
		if !unicode.IsGraphic(r) || (unicode.IsSpace(r) && r != ' ') {
			return false
		}
	}
	return true
}

// distinguishers lists what else names each disk: WWN, by-path (the port or bay) and size.
func distinguishers(ds []*Disk) string {
	part := func(what string, val func(*Disk) string) string {
		var v []string
		for _, d := range ds {
			x := val(d)
			if x == "" {
				x = "none"
			}
			if len(ds) > 1 {
				x = d.Name + " " + x
			}
			v = append(v, x)
		}
		return what + " (" + strings.Join(v, ", ") + ")"
	}
	return part("WWN", func(d *Disk) string { return d.WWN }) + ", " +
		part("by-path", func(d *Disk) string { return strings.TrimPrefix(d.ByPath, "/dev/disk/by-path/") }) + " or " +
		part("size", func(d *Disk) string { return fmt.Sprintf("%d bytes", d.SizeBytes) })
}
