package view

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

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
func StatusHuman(w io.Writer, s *discover.System) error {
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
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
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
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, orDash(a.Level), "meta "+orDash(a.Metadata), bar, st, sync)
			for _, m := range a.Members {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t\n", slotText(m.Slot), derefOr(m.Device, "-"), diskText(m), memberText(m), "")
			}
		}
		tw.Flush()
		writeBitmaps(&b, s)
		b.WriteString("\n")
	}
	if len(s.Disks) > 0 {
		b.WriteString("DISKS\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSERIAL\tMODEL\tSIZE\tSECTOR\tMEMBERS\tVERDICT\tBOOT")
		for _, d := range s.Disks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, orDash(d.Serial), orDash(d.Model), sizeText(d), sectorText(d), membersText(d), verdictText(d.Verdict), bootText(d))
		}
		tw.Flush()
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
	_, err := io.WriteString(w, b.String())
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

func memberText(m discover.Member) string {
	t := string(m.State)
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
		parts = append(parts, fmt.Sprintf("%s:%s %s", m.Array, m.Device, m.State))
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
