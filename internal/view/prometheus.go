package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
)

// StatusPrometheus writes node_exporter textfile-collector metrics. Every series is present
// even when healthy (value 0), so an alert rule can tell "fine" from "not collected". A
// drill's arrays and disks (raidswap drill) are left out: the textfile is the host's alarm.
func StatusPrometheus(w io.Writer, s *discover.System) error {
	s = s.WithoutDrills()
	var b strings.Builder
	metric := func(name, help, typ string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	metric("raidswap_status_verdict", "Overall verdict: 0 ok, 1 warning, 2 critical, 3 unknown.", "gauge")
	fmt.Fprintf(&b, "raidswap_status_verdict %d\n", s.Verdict.ExitCode())
	metric("raidswap_md_up", "1 if md state could be read (0: no md driver, or nothing of md readable).", "gauge")
	fmt.Fprintf(&b, "raidswap_md_up %d\n", boolNum(s.Verdict != discover.Unknown || len(s.Arrays) > 0))
	metric("raidswap_next_step_info", "The command status names for its verdict (command=\"\" when there is none to run).", "gauge")
	fmt.Fprintf(&b, "raidswap_next_step_info{command=%q} 1\n", s.Next.Command)

	metric("raidswap_array_degraded", "1 if the array is missing a member or has a faulty one.", "gauge")
	for _, a := range s.Arrays {
		deg := a.State == discover.ArrayDegraded || a.State == discover.ArrayRecovering || a.State == discover.ArrayMissing || a.State == discover.ArrayFailed ||
			a.ActiveDisks < a.RaidDisks
		fmt.Fprintf(&b, "raidswap_array_degraded{array=%q,uuid=%q,level=%q} %d\n", a.Name, a.UUID, a.Level, boolNum(deg))
	}
	metric("raidswap_array_redundant", "1 if the array can lose one more member and keep its data, 0 if not (a mirror rebuilding its last missing member until the rebuild is done; raid0 and linear never); no sample when it cannot be judged.", "gauge")
	for _, a := range s.Arrays {
		if red, known := a.Redundant(); known {
			fmt.Fprintf(&b, "raidswap_array_redundant{array=%q,uuid=%q,level=%q} %d\n", a.Name, a.UUID, a.Level, boolNum(red))
		}
	}
	metric("raidswap_array_state", "1 for the array's current state.", "gauge")
	for _, a := range s.Arrays {
		for _, st := range []discover.ArrayState{discover.ArrayClean, discover.ArrayDegraded, discover.ArrayRecovering, discover.ArrayResyncing, discover.ArrayInactive, discover.ArrayMissing, discover.ArrayFailed, discover.ArrayUnknown} {
			fmt.Fprintf(&b, "raidswap_array_state{array=%q,state=%q} %d\n", a.Name, st, boolNum(a.State == st))
		}
		if a.IsContainer() {
			// An IMSM/DDF container is inactive by design: its own state, never "inactive".
			fmt.Fprintf(&b, "raidswap_array_state{array=%q,state=%q} 1\n", a.Name, discover.ArrayContainer)
		}
	}
	metric("raidswap_array_disks", "Member disks the array needs (raid) and has in sync (active).", "gauge")
	for _, a := range s.Arrays {
		fmt.Fprintf(&b, "raidswap_array_disks{array=%q,kind=\"raid\"} %d\n", a.Name, a.RaidDisks)
		fmt.Fprintf(&b, "raidswap_array_disks{array=%q,kind=\"active\"} %d\n", a.Name, a.ActiveDisks)
	}
	metric("raidswap_array_sync_ratio", "Progress of the running resync or recovery, 0 to 1.", "gauge")
	for _, a := range s.Arrays {
		if a.Sync != nil {
			fmt.Fprintf(&b, "raidswap_array_sync_ratio{array=%q,action=%q} %g\n", a.Name, a.Sync.Action, a.Sync.Percent/100)
		}
	}
	metric("raidswap_array_sync_pending", "1 if md owes the array a resync or recovery it has not started (e.g. read-auto after an unclean shutdown).", "gauge")
	for _, a := range s.Arrays {
		fmt.Fprintf(&b, "raidswap_array_sync_pending{array=%q} %d\n", a.Name, boolNum(a.Sync != nil && a.Sync.Pending))
	}
	metric("raidswap_array_sync_speed_bytes", "Speed of the running resync or recovery in bytes per second.", "gauge")
	for _, a := range s.Arrays {
		if a.Sync != nil {
			fmt.Fprintf(&b, "raidswap_array_sync_speed_bytes{array=%q,action=%q} %d\n", a.Name, a.Sync.Action, a.Sync.SpeedKiB*1024)
		}
	}
	metric("raidswap_array_sync_eta_seconds", "Estimated seconds until the running resync or recovery ends (-1 unknown).", "gauge")
	for _, a := range s.Arrays {
		if a.Sync != nil {
			fmt.Fprintf(&b, "raidswap_array_sync_eta_seconds{array=%q,action=%q} %d\n", a.Name, a.Sync.Action, a.Sync.ETASeconds)
		}
	}
	metric("raidswap_member_state", "1 for each array member's state; missing members have device=\"\".", "gauge")
	for _, a := range s.Arrays {
		for _, m := range a.Members {
			slot := ""
			if m.Slot != nil {
				slot = fmt.Sprint(*m.Slot)
			}
			fmt.Fprintf(&b, "raidswap_member_state{array=%q,device=%q,disk=%q,serial=%q,slot=%q,state=%q} 1\n",
				a.Name, derefOr(m.Device, ""), derefOr(m.Disk, ""), m.Serial, slot, m.State)
		}
	}
	metric("raidswap_member_warnings", "Reasons an array member needs attention (write_error, want_replacement, blocked, an unknown flag).", "gauge")
	for _, a := range s.Arrays {
		for _, m := range a.Members {
			if m.Device != nil {
				fmt.Fprintf(&b, "raidswap_member_warnings{array=%q,device=%q,serial=%q} %d\n", a.Name, *m.Device, m.Serial, len(m.Warnings))
			}
		}
	}
	metric("raidswap_disk_failed", "1 if the disk is failed, partially failed or vanished and must be replaced.", "gauge")
	for _, d := range s.Disks {
		bad := d.Verdict == discover.DiskFailed || d.Verdict == discover.DiskPartiallyFailed || d.Verdict == discover.DiskVanished
		fmt.Fprintf(&b, "raidswap_disk_failed{disk=%q,serial=%q,model=%q,wwn=%q,verdict=%q} %d\n", d.Name, d.Serial, d.Model, d.WWN, d.Verdict, boolNum(bad))
	}
	unfinishedMetrics(&b, s, metric)
	smartMetrics(&b, s)
	bootMetrics(&b, s, metric)
	_, err := io.WriteString(w, b.String())
	return err
}

func boolNum(b bool) int {
	if b {
		return 1
	}
	return 0
}
