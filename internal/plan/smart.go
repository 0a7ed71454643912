package plan

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
)

// This file is what SMART adds to a plan: loud notes when the survivor, which the rebuild
// reads end to end, reports bad sectors, and the rule that a new disk reporting bad sectors
// is refused unless the operator accepts it (--accept-new-disk-smart, Request and
// NewDisk.AcceptSMART).

// newDiskSMARTProblem says why a disk's own SMART makes it unfit to be the new disk: it
// reports reallocated, pending or uncorrectable sectors (NVMe: media errors), or predicts
// its failure. "" when it does not, or when its SMART was not read or judges nothing (a
// virtio disk, a capture): those are not refused.
func newDiskSMARTProblem(h *identify.Health) string {
	if !h.Judged() {
		return ""
	}
	var why []string
	if n, _ := h.BadSectors(); n > 0 {
		why = append(why, "reports "+h.SectorSummary()+" by its own SMART")
	}
	if h.State == identify.SMARTFailing {
		why = append(why, "its SMART predicts its failure ("+strings.Join(h.Reasons, "; ")+")")
	}
	return strings.Join(why, ", and ")
}

// smartNotes adds the plan's SMART notes: the survivor's bad sectors or failure prediction,
// a survivor whose SMART could not be judged, and a new disk accepted despite its SMART.
func (b *builder) smartNotes() {
	if n := survivorSMARTNote(b.survivor, b.arrays); n != "" {
		b.notes = append(b.notes, n)
	}
	if f := b.failed; b.req.Mode == ReplaceWorking && f != nil && f.SMART.Judged() && f.SMART.State != identify.SMARTOK {
		b.notes = append(b.notes, fmt.Sprintf("the disk coming out, %s, says by SMART: %s. mdadm --replace copies it while the arrays stay redundant: a sector it cannot read is still on the survivor",
			f.Label(), strings.Join(f.SMART.Reasons, "; ")))
	}
	if d := b.newDisk; d != nil && b.req.AcceptNewDiskSMART {
		if why := newDiskSMARTProblem(d.SMART); why != "" {
			b.notes = append(b.notes, fmt.Sprintf("the new disk %s %s; it is used anyway because the plan was made with --accept-new-disk-smart", d.Label(), why))
		}
	}
}

// survivorSMARTNote warns of a survivor that may not survive its own rebuild.
func survivorSMARTNote(d *discover.Disk, arrays []arrayRole) string {
	if d == nil || d.SMART == nil {
		return ""
	}
	h := d.SMART
	var held []string
	for _, r := range arrays {
		t := "/dev/" + r.a.Name
		if len(r.a.Mountpoints) > 0 {
			t += " (" + strings.Join(r.a.Mountpoints, ", ") + ")"
		}
		held = append(held, t)
	}
	data := strings.Join(held, ", ")
	if data == "" {
		data = "its arrays"
	}
	n, _ := h.BadSectors()
	switch {
	case h.State == identify.SMARTUnknown && !h.Denied:
		return fmt.Sprintf("the survivor %s's SMART could not be judged (%s): check it (smartctl -a /dev/%s) before the rebuild reads every sector of it",
			d.Label(), strings.Join(h.Reasons, "; "), d.Name)
	case !h.Judged() || (n == 0 && h.State != identify.SMARTFailing):
		return ""
	}
	var why []string
	if n > 0 {
		why = append(why, "reports "+h.SectorSummary())
	}
	if h.State == identify.SMARTFailing {
		why = append(why, "predicts its own failure ("+strings.Join(h.Reasons, "; ")+")")
	}
	return fmt.Sprintf("WARNING: THE SURVIVOR %s %s (SMART). The rebuild reads every sector of it: a sector it cannot read stops the rebuild of that array "+
		"(md leaves the new member a spare) and the data in that sector has no other copy. BACK UP FIRST what is on %s to another machine "+
		"(databases, /etc, /home and whatever cannot be rebuilt), then apply this plan",
		strings.ToUpper(d.Label()), strings.Join(why, " and "), data)
}
