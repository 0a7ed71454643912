package view

import (
	"fmt"
	"strings"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
)

// bootText is a disk's BOOT column: ok, missing or unknown with the reason; "-" for a disk
// that holds no member of /boot's array.
func bootText(d discover.Disk) string {
	if d.Boot == nil || d.Boot.State == "" {
		return "-"
	}
	if d.Boot.State == bootloader.BootOK {
		return "ok"
	}
	if d.Boot.State == bootloader.BootMissing && d.BootPending != "" {
		return "pending: comes at a later step of plan " + d.BootPending
	}
	return string(d.Boot.State) + ": " + d.Boot.Reason
}

// bootMetrics are raidswap_disk_boot_ready (1: boots alone, 0: cannot) for each judged
// disk and, for a disk that could not be judged, no boot_ready sample but
// raidswap_disk_boot_unknown with the reason: an unknown is never counted as ready or not.
func bootMetrics(b *strings.Builder, s *discover.System, metric func(name, help, typ string)) {
	metric("raidswap_disk_boot_ready", "1 if the disk boots alone (boot code and core image verified), 0 if it cannot; no sample when it could not be judged (see raidswap_disk_boot_unknown).", "gauge")
	for _, d := range s.Disks {
		if d.Boot != nil && (d.Boot.State == bootloader.BootOK || d.Boot.State == bootloader.BootMissing) {
			fmt.Fprintf(b, "raidswap_disk_boot_ready{disk=%q,serial=%q} %d\n", d.Name, d.Serial, boolNum(d.Boot.State == bootloader.BootOK))
		}
	}
	metric("raidswap_disk_boot_pending", "1 for the new disk of an open replacement whose boot code comes at a later step of it (its raidswap_disk_boot_ready 0 is expected until then).", "gauge")
	for _, d := range s.Disks {
		if d.Boot != nil && d.Boot.State == bootloader.BootMissing && d.BootPending != "" {
			fmt.Fprintf(b, "raidswap_disk_boot_pending{disk=%q,serial=%q,plan=%q} 1\n", d.Name, d.Serial, d.BootPending)
		}
	}
	metric("raidswap_disk_boot_unknown", "1 for a disk of /boot's array whose boot readiness could not be judged, with the reason.", "gauge")
	for _, d := range s.Disks {
		if d.Boot != nil && d.Boot.State == bootloader.BootUnknown {
			fmt.Fprintf(b, "raidswap_disk_boot_unknown{disk=%q,serial=%q,reason=%q} 1\n", d.Name, d.Serial, d.Boot.Reason)
		}
	}
}
