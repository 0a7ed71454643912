package view

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
)

// smartMetrics adds the SMART series for every disk whose SMART was read. None when no disk's
// was (a capture), so an alert on raidswap_disk_smart_ok can tell "not collected" from "ok".
func smartMetrics(b *strings.Builder, s *discover.System) {
	var disks []discover.Disk
	for _, d := range s.Disks {
		if d.SMART != nil {
			disks = append(disks, d)
		}
	}
	if len(disks) == 0 {
		return
	}
	metric := func(name, help string) {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	metric("raidswap_disk_smart_ok", "1 if the disk's SMART was read and says nothing needs attention.")
	for _, d := range disks {
		fmt.Fprintf(b, "raidswap_disk_smart_ok{disk=%q,serial=%q} %d\n", d.Name, d.Serial, boolNum(d.SMART.State == identify.SMARTOK))
	}
	metric("raidswap_disk_smart_state", "1 for the disk's SMART verdict: ok, warning, failing, unavailable (no SMART) or unknown (not judged).")
	for _, d := range disks {
		for _, st := range []identify.SMARTState{identify.SMARTOK, identify.SMARTWarning, identify.SMARTFailing, identify.SMARTUnavailable, identify.SMARTUnknown} {
			fmt.Fprintf(b, "raidswap_disk_smart_state{disk=%q,serial=%q,state=%q} %d\n", d.Name, d.Serial, st, boolNum(d.SMART.State == st))
		}
	}
	metric("raidswap_disk_smart_replace_candidate", "1 if SMART predicts the disk's failure while its members are in sync: replace it with --replace.")
	for _, d := range disks {
		fmt.Fprintf(b, "raidswap_disk_smart_replace_candidate{disk=%q,serial=%q} %d\n", d.Name, d.Serial, boolNum(d.SMARTReplaceCandidate))
	}
	for _, c := range []struct {
		name, help string
		get        func(*identify.Health) *uint64
	}{
		{"raidswap_disk_smart_reallocated_sectors", "ATA attribute 5, raw: sectors reallocated.", func(h *identify.Health) *uint64 { return h.Reallocated }},
		{"raidswap_disk_smart_pending_sectors", "ATA attribute 197, raw: sectors unreadable now, waiting to be reallocated.", func(h *identify.Health) *uint64 { return h.Pending }},
		{"raidswap_disk_smart_offline_uncorrectable_sectors", "ATA attribute 198, raw: sectors the offline scan could not read.", func(h *identify.Health) *uint64 { return h.Uncorrectable }},
		{"raidswap_disk_smart_reported_uncorrectable_errors", "ATA attribute 187, raw: errors ECC could not correct.", func(h *identify.Health) *uint64 { return h.Reported }},
		{"raidswap_disk_smart_command_timeouts", "ATA attribute 188, raw: commands that timed out.", func(h *identify.Health) *uint64 { return h.Timeouts }},
		{"raidswap_disk_smart_crc_errors", "ATA attribute 199, raw: interface CRC errors (cable, backplane).", func(h *identify.Health) *uint64 { return h.CRCErrors }},
	} {
		metric(c.name, c.help)
		for _, d := range disks {
			if p := c.get(d.SMART); p != nil {
				fmt.Fprintf(b, "%s{disk=%q,serial=%q} %d\n", c.name, d.Name, d.Serial, *p)
			}
		}
	}
	for _, c := range []struct {
		name, help string
		get        func(*identify.NVMeHealth) string
	}{
		{"raidswap_disk_nvme_critical_warning", "NVMe critical warning bits (0: none).", func(n *identify.NVMeHealth) string { return fmt.Sprint(n.CriticalWarning) }},
		{"raidswap_disk_nvme_available_spare_ratio", "NVMe available spare, 0 to 1.", func(n *identify.NVMeHealth) string { return fmt.Sprint(float64(n.AvailableSpare) / 100) }},
		{"raidswap_disk_nvme_available_spare_threshold_ratio", "NVMe available spare threshold, 0 to 1.", func(n *identify.NVMeHealth) string { return fmt.Sprint(float64(n.SpareThreshold) / 100) }},
		{"raidswap_disk_nvme_percentage_used_ratio", "NVMe estimate of life used (1: rated endurance used up; may exceed 1).", func(n *identify.NVMeHealth) string { return fmt.Sprint(float64(n.PercentageUsed) / 100) }},
		{"raidswap_disk_nvme_media_errors", "NVMe unrecovered data integrity errors over the device's life.", func(n *identify.NVMeHealth) string { return fmt.Sprint(n.MediaErrors) }},
	} {
		metric(c.name, c.help)
		for _, d := range disks {
			if n := d.SMART.NVMe; n != nil {
				fmt.Fprintf(b, "%s{disk=%q,serial=%q} %s\n", c.name, d.Name, d.Serial, c.get(n))
			}
		}
	}
}
