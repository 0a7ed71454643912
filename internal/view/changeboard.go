package view

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/internal/human"
	"github.com/raidswap/raidswap/internal/plan"
)

// changeBoard writes the sections a change advisory board asks of a markdown plan before its
// steps: risk (what has a single copy, from which step, for how long), prerequisites, roles,
// the window, and the go/no-go point. Everything comes from the plan; nothing is assumed
// that the plan does not say.
func changeBoard(b *strings.Builder, p *plan.Plan) {
	first, detach, rebuilt := -1, -1, -1
	var arrays []string
	var rebuildSecs int64
	for i, s := range p.Steps {
		if s.Destructive && first < 0 {
			first = i
		}
		switch s.Action {
		case plan.ActionDetach:
			if detach < 0 {
				detach = i
			}
			arrays = append(arrays, s.Target.Array)
		case plan.ActionAwaitRebuild:
			rebuilt = i
			rebuildSecs += s.EstimateSeconds
		}
	}
	b.WriteString("## Risk\n\n")
	switch {
	case detach >= 0 && rebuilt >= 0:
		var window int64
		for _, s := range p.Steps[detach : rebuilt+1] {
			window += s.EstimateSeconds
		}
		fmt.Fprintf(b, "- From step %d (the failed disk leaves %s) until step %d ends (the rebuild), about %s of machine time plus the time the disk swap takes, each array stands so:\n",
			detach+1, strings.Join(arrays, ", "), rebuilt+1, human.Seconds(window))
		single := false
		for _, a := range arrays {
			e := exposureOf(p, a)
			if e == nil {
				fmt.Fprintf(b, "  - %s: this plan does not record what it can lose (see *Observed state*)\n", a)
				single = true
				continue
			}
			single = single || len(e.Critical) > 0 || e.Tolerance == 0
			fmt.Fprintf(b, "  - %s\n", exposureText(e))
		}
		if single {
			b.WriteString("- A failure in that window of a disk named above as the only copy, or of any disk of an array with no redundancy left, loses data: have a verified backup first.\n")
		} else {
			b.WriteString("- Each array survives one more lost member in that window; have a verified backup first all the same.\n")
		}
	case rebuilt >= 0:
		fmt.Fprintf(b, "- Until step %d ends (the rebuild), the arrays keep the redundancy they have now; no step removes a working member first.\n", rebuilt+1)
	}
	for _, f := range p.RebuildsFrom {
		fmt.Fprintf(b, "- %s.\n", f)
	}
	b.WriteString("- The survivor is only read, except for GRUB's boot code (saved before it is rewritten); every step that writes re-checks its disk's serial right before it runs and refuses a disk holding a working md member.\n\n")

	b.WriteString("## Prerequisites\n\n")
	fmt.Fprintf(b, "- A new disk on site (%s): at least %d bytes (%s), with the survivor's logical sector size or 512 bytes (see *Observed state*), blank.\n",
		newText(p), p.Disks.New.MinSizeBytes, human.Bytes(p.Disks.New.MinSizeBytes))
	b.WriteString("- A verified backup of the data on the arrays above (the rebuild reads every sector of the survivor).\n")
	b.WriteString("- Root on the host, and a console that survives a network drop (tmux or screen): an interrupted run resumes with `raidswap resume`.\n")
	b.WriteString("- `raidswap status` shows no other failing disk, and the survivor's SMART healthy (the plan's notes say so loudly when it is not: the rebuild reads every sector of it).\n\n")

	b.WriteString("## Roles\n\n")
	b.WriteString("| role | who | does |\n|---|---|---|\n")
	b.WriteString("| Operator | (name) | runs `raidswap apply` on the host, watches each step, answers its questions |\n")
	fmt.Fprintf(b, "| Hands | (name, or the data centre's ticket) | pulls %s when told and inserts the new disk in the same bay, after checking the serial on the label (`raidswap ticket` prints their sheet) |\n", p.Disks.Failed.Label())
	b.WriteString("| Approver | (name) | gives the go at the go/no-go point below |\n\n")

	b.WriteString("## Window\n\n")
	fmt.Fprintf(b, "About %s of machine time, of which the rebuild is about %s at %s (%s), plus the disk swap by hand. The rebuild runs with the host in service; md gives way to other I/O, so a busy host rebuilds slower.\n\n",
		human.Seconds(estimateSeconds(p)), human.Seconds(rebuildSecs), human.RateKiB(p.SpeedKiB), p.SpeedSource)

	b.WriteString("## Go / no-go\n\n")
	if first >= 0 {
		fmt.Fprintf(b, "Steps before step %d only read. Go at step %d (`%s`), the first that changes the system, when: the prerequisites hold, `raidswap status` names the same failed disk as this plan, and the hands are ready. No-go before it costs nothing; `raidswap apply` itself refuses a plan that no longer matches the system.\n\n",
			first+1, first+1, p.Steps[first].ID)
	}
}

// exposureOf is the plan's record of what array can lose in the window, nil when the plan
// has none (one built before the plan recorded it).
func exposureOf(p *plan.Plan, array string) *plan.ArrayExposure {
	for i := range p.Exposure {
		if p.Exposure[i].Array == array {
			return &p.Exposure[i]
		}
	}
	return nil
}

// exposureText says what an array can lose while the failed disk's members are out of it:
// "md1 (raid6, 4 members): survives one more lost member", "md0 (raid1, 2 members): a single
// copy, on WD-A".
func exposureText(e *plan.ArrayExposure) string {
	name := fmt.Sprintf("%s (%s, %d members)", e.Array, e.Level, e.RaidDisks)
	switch {
	case e.Tolerance > 0:
		more := "one more lost member"
		if e.Tolerance > 1 {
			more = fmt.Sprintf("%d more lost members", e.Tolerance)
		}
		on := ""
		if len(e.Spared) > 0 {
			on = " (in sync on " + strings.Join(e.Spared, ", ") + ")"
		}
		return fmt.Sprintf("%s: survives %s%s", name, more, on)
	case len(e.Critical) > 0 && len(e.Spared) > 0:
		return fmt.Sprintf("%s: a single copy of part of its data, on %s (losing it stops the array); it survives the loss of one of %s",
			name, strings.Join(e.Critical, ", "), strings.Join(e.Spared, ", "))
	case len(e.Critical) == 1 && !e.Parity:
		return fmt.Sprintf("%s: a single copy, on %s", name, e.Critical[0])
	case len(e.Critical) > 0:
		return fmt.Sprintf("%s: no redundancy left: losing any one of %s stops it", name, strings.Join(e.Critical, ", "))
	}
	return name + ": can lose no more members"
}

// cannotUndo writes what the plan does that no back-out brings back, and what raidswap keeps
// so the rest can be put back.
func cannotUndo(b *strings.Builder, p *plan.Plan) {
	b.WriteString("## What cannot be undone\n\n")
	var lines []string
	seen := map[plan.Action]bool{}
	for i, s := range p.Steps {
		if !s.Destructive || seen[s.Action] {
			continue
		}
		var l string
		switch s.Action {
		case plan.ActionDetach:
			l = "the failed disk's members leave their arrays: from then on its copy falls behind, and taking it back means a rebuild (a full one without a write-intent bitmap)"
		case plan.ActionPartitionClone:
			l = "the new disk's partition table is replaced (its old table is saved in the backups directory beside the journal; any data it held is not: raidswap refuses a disk that holds data unless told to wipe it)"
		case plan.ActionZeroSuperblock:
			l = "old md superblocks on the new disk's partitions are erased"
		case plan.ActionESPFormat:
			l = "the new disk's ESP partition is formatted"
		case plan.ActionMkswap:
			l = "the new disk's swap partition is formatted"
		default:
			continue
		}
		seen[s.Action] = true
		lines = append(lines, fmt.Sprintf("- from step %d (`%s`): %s.\n", i+1, s.ID, l))
	}
	if len(lines) == 0 {
		b.WriteString("- nothing: every step has a back-out.\n")
	}
	for _, l := range lines {
		b.WriteString(l)
	}
	for i, s := range p.Steps {
		if s.Action == plan.ActionBootloader && s.Destructive && s.Target.Serial == p.Disks.Survivor.Serial && s.Target.Serial != "" {
			fmt.Fprintf(b, "- can be put back: the survivor's boot code, which step %d (`%s`) rewrites, is saved first (backups/%s-bootcode-TIME/, with the dd commands).\n", i+1, s.ID, s.Target.Serial)
		}
	}
}

// postChecks are what the change's owner checks after the run, before closing the change.
func postChecks(b *strings.Builder, p *plan.Plan) {
	b.WriteString("\n## Post-change checks\n\n")
	b.WriteString("- `raidswap status` says OK: every array redundant, each disk that should boot `BOOT ok`, no warning.\n")
	b.WriteString("- `cat /proc/mdstat`: no array degraded, no recovery running.\n")
	fmt.Fprintf(b, "- The new disk's serial is %s in `lsblk -o NAME,SERIAL`, and its SMART is healthy (`smartctl -H`).\n", newText(p))
	b.WriteString("- The bay's locate LED is off, and monitoring (the mdadm event hook, `raidswap_status_verdict`) is back to normal.\n")
	b.WriteString("- At the next maintenance window: boot once from each disk alone (the plan proved each can, but a reboot proves the firmware's choice).\n")
}
