package view

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/human"
	"github.com/raidswap/raidswap/internal/plan"
)

// TicketOptions say what the ticket cannot read from the system.
type TicketOptions struct {
	// Host names the server for the technician (its hostname).
	Host string
	// Cold: the chassis has no hot-swap bays; the server is shut down for the swap.
	Cold bool
	// Now dates the ticket.
	Now time.Time
}

// Ticket writes a copy-paste request for remote hands (a data-centre technician who swaps the
// disk from a ticket): the disk to pull by serial, model, size and bay; the serials that must
// stay; whether the server stays up; what new disk is needed; and what to expect. It fits 80
// columns and holds no command: the technician touches hardware only.
func Ticket(w io.Writer, p *plan.Plan, sys *discover.System, o TicketOptions) error {
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	failed := p.Disks.Failed
	host := o.Host
	if host == "" {
		host = p.Host.Hostname
	}
	line("DISK REPLACEMENT on server %s (%s)", orDash(host), o.Now.UTC().Format("2006-01-02 15:04 UTC"))
	line("")
	line("Please replace ONE disk. Check the serial on its label before you pull it.")
	line("")
	line("PULL this disk (it has failed):")
	line("  serial  %s", orDash(failed.Serial))
	if failed.Model != "" {
		line("  model   %s", failed.Model)
	}
	if failed.SizeBytes > 0 {
		line("  size    %s", ticketSize(failed.SizeBytes))
	}
	if d := sys.DiskBySerial(failed.Serial); d != nil && failed.Serial != "" {
		ticketWhere(line, *d)
	} else if failed.Bay != "" {
		line("  where   %s", failed.Bay)
	}
	if !failed.Present {
		line("  (the server no longer sees this disk: find it by its serial and bay)")
	}
	line("")
	keep := keepDisks(p, sys)
	line("KEEP these disks: they hold the data. Do not pull or touch them:")
	for _, d := range keep {
		parts := []string{d.Serial}
		if d.Model != "" {
			parts = append(parts, d.Model)
		}
		if d.SizeBytes > 0 {
			parts = append(parts, human.DecimalBytes(d.SizeBytes))
		}
		line("  %s", strings.Join(parts, ", "))
		ticketWhere(func(format string, a ...any) { line("  "+format, a...) }, d)
	}
	if len(keep) == 0 {
		line("  (none known)")
	}
	line("If the label of the disk you are about to pull shows one of these serials, STOP")
	line("and call back: pulling it destroys the server's data.")
	line("")
	line("NEW DISK needed:")
	line("  at least %s", ticketSize(p.Disks.New.MinSizeBytes))
	if surv := sys.DiskBySerial(p.Disks.Survivor.Serial); surv != nil && surv.LogicalSectorSize > 0 {
		if surv.LogicalSectorSize == 512 {
			line("  512-byte logical sectors (512n or 512e); not a 4Kn disk")
		} else {
			line("  %d-byte or 512-byte logical sectors", surv.LogicalSectorSize)
		}
	}
	line("  blank (a used disk is refused unless the administrator agrees to wipe it)")
	line("")
	if o.Cold {
		line("The chassis has no hot-swap bays. The administrator shuts the server down")
		line("first. Then: pull the disk above, insert the new one in the same bay, power")
		line("the server on, and tell the administrator.")
	} else {
		line("The server stays running (hot-swap). The administrator removes the disk from")
		line("the server's arrays first and tells you when to pull it. Then: pull it, wait")
		line("10 seconds, insert the new disk in the same bay, and tell the administrator.")
	}
	line("Expect: the pulled disk's bay LED may be lit (locate) or dark; the new disk")
	line("needs nothing else from you; the administrator copies the data onto it.")
	_, err := io.WriteString(w, b.String())
	return err
}

// keepDisks are the present disks other than the failed one that hold a member of an array:
// the survivor first, then by serial.
func keepDisks(p *plan.Plan, sys *discover.System) []discover.Disk {
	holds := map[string]bool{}
	for _, a := range sys.Arrays {
		for _, m := range a.Members {
			if m.Disk != nil {
				holds[*m.Disk] = true
			}
		}
	}
	var out []discover.Disk
	for _, d := range sys.Disks {
		if d.Present && holds[d.Name] && d.Serial != p.Disks.Failed.Serial && !(p.Disks.Failed.Serial == "" && d.Name == p.Disks.Failed.Device) {
			out = append(out, d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		si, sj := out[i].Serial == p.Disks.Survivor.Serial, out[j].Serial == p.Disks.Survivor.Serial
		if si != sj {
			return si
		}
		return out[i].Serial < out[j].Serial
	})
	return out
}

// ticketWhere says where a disk sits: its bay (enclosure slot or PCIe slot) and its
// controller port.
func ticketWhere(line func(string, ...any), d discover.Disk) {
	if d.Bay != nil {
		line("  bay     %s", d.Bay.Label())
	}
	if d.ByPath != "" {
		line("  port    %s", d.ByPath)
	}
}

// ticketSize is a size as the disk's label gives it (decimal) with the exact bytes.
func ticketSize(n uint64) string {
	return fmt.Sprintf("%s (%d bytes, %s)", human.DecimalBytes(n), n, human.Bytes(n))
}
