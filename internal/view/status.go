package view

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/human"
)

// StatusJSON writes the system as indented JSON.
func StatusJSON(w io.Writer, s *discover.System) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// StatusHuman writes the status table. A critical verdict is framed so it cannot be missed.
// Every column is shown and no line is broken: for a pipe, a script or a log.
func StatusHuman(w io.Writer, s *discover.System) error { return StatusHumanWidth(w, s, 0) }

// StatusHumanWidth writes the status table for a terminal width columns wide (0: as
// StatusHuman). It fits: the arrays table leaves out the metadata column, the disks table
// its model, sector and members columns, one at a time, until its lines fit; the disks'
// BOOT column holds the state alone and each reason goes into a BOOT list below it; every
// other line is broken at spaces (view.Wrap), so no word is cut.
func StatusHumanWidth(w io.Writer, s *discover.System, width int) error {
	var b strings.Builder
	banner := strings.ToUpper(string(s.Verdict)) + ": " + s.Summary
	if s.Verdict == discover.Critical || s.Verdict == discover.Unknown {
		line := strings.Repeat("!", min(len(banner), 78))
		fmt.Fprintf(&b, "%s\n%s\n%s\n\n", line, banner, line)
	} else {
		fmt.Fprintf(&b, "%s\n\n", banner)
	}
	if len(s.Arrays) > 0 {
		b.WriteString("ARRAYS\n")
		var rows [][]string
		var members [][][]string
		for _, a := range s.Arrays {
			st, sync := strings.ToUpper(string(a.State)), syncText(a.Sync)
			if r := a.Rebuilding(); r != "" && a.State == discover.ArrayRecovering {
				// "rebuilding, 42 % (one copy until done)": the words an operator needs.
				st, sync = strings.ToUpper(r[:1])+r[1:], speedText(a.Sync)
			}
			if a.Drill != "" && s.Scope == nil {
				st += " (drill, not judged)"
			}
			bar := a.Bar()
			if a.IsContainer() {
				bar = fmt.Sprintf("%d disk(s)", len(a.Members))
			} else if a.Container != "" {
				st += " (in " + a.Container + ")"
			}
			rows = append(rows, []string{a.Name, orDash(a.Level), "meta " + orDash(a.Metadata), bar, st, sync})
			var ms [][]string
			for _, m := range a.Members {
				ms = append(ms, []string{"  " + slotText(m.Slot), derefOr(m.Device, "-"), diskText(m), memberText(m), "", ""})
			}
			members = append(members, ms)
		}
		if width <= 0 {
			// One table: the members' columns line up with the arrays'.
			var all [][]string
			for i := range rows {
				all = append(append(all, rows[i]), members[i]...)
			}
			b.WriteString(Table{Rows: all}.Render(0))
		} else {
			// A terminal: the arrays' lines fit together (the metadata column goes for all
			// or none), and each array's members follow in a table of their own, so a long
			// member text widens no other line; Wrap breaks it at spaces.
			at := Table{Rows: rows, Optional: []int{2}}
			lines := strings.SplitAfter(strings.TrimSuffix(at.Render(width), "\n"), "\n")
			for i := range rows {
				b.WriteString(strings.TrimSuffix(lines[i], "\n") + "\n")
				b.WriteString(Table{Rows: members[i]}.Render(width))
			}
		}
		writeBitmaps(&b, s)
		b.WriteString("\n")
	}
	if len(s.Disks) > 0 {
		b.WriteString("DISKS\n")
		dt := Table{Header: []string{"NAME", "SERIAL", "MODEL", "SIZE", "SECTOR", "MEMBERS", "VERDICT", "BOOT"}, Optional: []int{2, 4, 5}}
		var bootWhy []string
		for _, d := range s.Disks {
			boot := bootText(d)
			if width > 0 {
				// The state in the table, the reason below it: a reason is a sentence.
				if st, why, ok := strings.Cut(boot, ": "); ok {
					boot = st
					bootWhy = append(bootWhy, "  "+d.Label()+": "+st+": "+why)
				}
			}
			dt.Rows = append(dt.Rows, []string{d.Name, orDash(d.Serial), orDash(d.Model), sizeText(d), sectorText(d), membersText(d), verdictText(d.Verdict), boot})
		}
		b.WriteString(dt.Render(width))
		if len(bootWhy) > 0 {
			b.WriteString("\nBOOT\n" + strings.Join(bootWhy, "\n") + "\n")
		}
		writeBays(&b, s)
	}
	writeSMART(&b, s)
	for _, d := range s.Disks {
		if !d.Present {
			fmt.Fprintf(&b, "\n%s is gone from the system; last seen %s", d.Label(), orDash(d.LastSeen))
			if d.ByPath != "" {
				fmt.Fprintf(&b, " at %s", d.ByPath)
			}
			if d.Model != "" || d.WWN != "" {
				fmt.Fprintf(&b, " (model %s, WWN %s)", orDash(d.Model), orDash(d.WWN))
			}
			b.WriteString(".\n")
		}
	}
	for _, d := range s.Disks {
		if d.IdentityProblem != "" {
			fmt.Fprintf(&b, "\nIDENTITY: %s; raidswap will not write to it.\n", d.IdentityProblem)
		}
	}
	writeUnfinished(&b, s)
	for _, a := range s.Arrays {
		for _, n := range a.Notes {
			fmt.Fprintf(&b, "\n%s: %s.", a.Name, n)
		}
	}
	if len(s.Problems) > 0 {
		b.WriteString("\nNOT READ (fields shown as unknown):\n")
		for _, p := range s.Problems {
			b.WriteString("  " + p + "\n")
		}
	}
	writeNext(&b, s.Verdict, s.Next)
	if s.Verdict == discover.Critical {
		fmt.Fprintf(&b, "\n%s\n", banner)
	}
	_, err := io.WriteString(w, Wrap(b.String(), width))
	return err
}

func orDash(s string) string { return or(s, "-") }

func derefOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

func slotText(p *int) string {
	if p == nil {
		return "slot -"
	}
	return fmt.Sprintf("slot %d", *p)
}

func diskText(m discover.Member) string {
	if m.Disk == nil {
		return "-"
	}
	if m.Serial != "" {
		return *m.Disk + " (" + m.Serial + ")"
	}
	return *m.Disk
}

// memberWords is a member's state in the operator's words: md's in_sync is "in sync" (JSON
// and the metrics keep md's own word).
func memberWords(st discover.MemberState) string {
	return strings.ReplaceAll(string(st), "_", " ")
}

func memberText(m discover.Member) string {
	t := memberWords(m.State)
	switch m.State {
	case discover.MemberFaulty:
		t = "FAULTY"
		if m.Gone {
			t = "FAULTY, device gone"
		}
	case discover.MemberMissing:
		t = "MISSING (empty slot)"
		if m.LastSerial != "" {
			t = "MISSING, last held by " + orDash(m.LastDisk) + " (" + m.LastSerial + ")"
		}
	case discover.MemberUnknown:
		t = "UNKNOWN"
	default:
		if m.Gone {
			t += ", device gone"
		}
	}
	if m.WriteMostly() {
		t += ", write-mostly"
	}
	if len(m.Warnings) > 0 {
		t += ": " + strings.Join(m.Warnings, "; ")
	}
	if m.State == discover.MemberFaulty || m.State == discover.MemberMissing || m.State == discover.MemberUnknown ||
		m.Gone || len(m.Warnings) > 0 {
		t += "  <=="
	}
	return t
}

func syncText(s *discover.Sync) string {
	if s == nil {
		return ""
	}
	if s.Pending {
		return string(s.Action) + " pending: md has not started it"
	}
	if s.Delayed {
		return string(s.Action) + " waiting for another array"
	}
	t := fmt.Sprintf("%s %.1f%%", s.Action, s.Percent)
	if s.SpeedKiB > 0 {
		t += " at " + human.RateKiB(s.SpeedKiB)
	}
	if s.ETASeconds >= 0 {
		t += " ETA " + human.Seconds(s.ETASeconds)
	}
	return t
}

// speedText is a running sync's speed and time left, for a state column that gives the
// progress already.
func speedText(s *discover.Sync) string {
	if s == nil || s.Delayed || s.Pending {
		return ""
	}
	var parts []string
	if s.SpeedKiB > 0 {
		parts = append(parts, "at "+human.RateKiB(s.SpeedKiB))
	}
	if s.ETASeconds >= 0 {
		parts = append(parts, "ETA "+human.Seconds(s.ETASeconds))
	}
	return strings.Join(parts, " ")
}

// writeNext says what to run for the verdict; with nothing to run, only a critical or
// unknown verdict says why (restore from backup, cannot judge).
func writeNext(b *strings.Builder, v discover.Verdict, n discover.NextStep) {
	if n.Command == "" {
		if v == discover.Critical || v == discover.Unknown {
			fmt.Fprintf(b, "\nNEXT: %s.\n", n.Why)
		}
		return
	}
	fmt.Fprintf(b, "\nNEXT: %s", n.Command)
	if n.Also != "" {
		fmt.Fprintf(b, " (or %s)", n.Also)
	}
	fmt.Fprintf(b, "\n  %s.\n", n.Why)
}

func sizeText(d discover.Disk) string {
	if !d.Present {
		return "gone"
	}
	return human.Bytes(d.SizeBytes)
}

func sectorText(d discover.Disk) string {
	if !d.Present {
		return "-"
	}
	return fmt.Sprintf("%d/%d", d.LogicalSectorSize, d.PhysicalSectorSize)
}

func membersText(d discover.Disk) string {
	if len(d.Members) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(d.Members))
	for _, m := range d.Members {
		parts = append(parts, fmt.Sprintf("%s:%s %s", m.Array, m.Device, memberWords(m.State)))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func verdictText(v discover.DiskState) string {
	switch v {
	case discover.DiskFailed, discover.DiskPartiallyFailed, discover.DiskVanished:
		return strings.ToUpper(string(v)) + "  <== replace this disk"
	}
	return string(v)
}
