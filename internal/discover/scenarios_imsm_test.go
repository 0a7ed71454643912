package discover_test

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// IMSM (Intel RST) external metadata: the container md127 holds the physical disks, the
// volume md126 (a RAID1) is built inside it; mdmon records failures in the metadata. IMSM
// asks each disk for its SCSI serial, which virtio-blk has not: the disks are SATA (sdX, in
// the order the ports answered; the scripts find them by serial).
const imsmSetup = `
export IMSM_NO_PLATFORM=1
# SATA ports probe in any order: name the disks by serial.
byserial() { lsblk -ndo NAME,SERIAL | awk -v s="$1" '$2 == s {print $1}'; }
A=$(byserial ` + serialA + `); B=$(byserial ` + serialB + `)
[ -n "$A" ] && [ -n "$B" ] || { echo "disks not found"; lsblk; exit 12; }
mdadm --create /dev/md/imsm0 --run --quiet -e imsm -n 2 /dev/$A /dev/$B
mdadm --create /dev/md/vol0 --run --quiet -l 1 -n 2 /dev/md/imsm0
pgrep -x mdmon >/dev/null || { echo "mdmon is not running"; exit 13; }
mdadm --wait /dev/md126 || true
mkfs.ext4 -q /dev/md126; mkdir -p /mnt/data; mount /dev/md126 /mnt/data
udevadm settle
`

// imsmFailSetup fails WD-B's disk in the volume; mdmon takes it out of the volume and marks it failed
// in the metadata, while the container keeps it (as mdadm --detail of the container shows).
const imsmFailSetup = imsmSetup + `
mdadm /dev/md126 --fail /dev/$B
for i in $(seq 50); do [ ! -e /sys/block/md126/md/dev-$B ] && break; sleep 0.2; done
[ "$(cat /sys/block/md126/md/degraded)" = 1 ] || { echo "md126 not degraded"; exit 14; }
[ -e /sys/block/md127/md/dev-$B ] || { echo "the container lost $B"; exit 15; }
mdadm --detail /dev/md127
mdadm --detail /dev/md126
udevadm settle
`

func init() {
	scenarios = append(scenarios,
		scenario{
			name:  "imsm-clean",
			disks: []string{serialA, serialB},
			bus:   vmtest.BusSATA,
			setup: imsmSetup,
			exit:  0,
			check: func(t *testing.T, s *discover.System) {
				if s.Verdict != discover.OK {
					t.Errorf("verdict %s (%s), want ok: a container is inactive by design", s.Verdict, s.Summary)
				}
				c := s.Array("md127")
				if c == nil || c.State != discover.ArrayContainer || c.Metadata != "external:imsm" {
					t.Fatalf("md127: %+v, want a container", c)
				}
				wantVolume(t, s, discover.ArrayClean, 2)
				for _, serial := range []string{serialA, serialB} {
					if d := diskBySerial(t, s, serial); d.Verdict != discover.DiskHealthy {
						t.Errorf("%s: verdict %s, want healthy", serial, d.Verdict)
					}
				}
			},
		},
		scenario{
			name:  "imsm-failed",
			disks: []string{serialA, serialB},
			bus:   vmtest.BusSATA,
			setup: imsmFailSetup,
			exit:  2,
			check: func(t *testing.T, s *discover.System) {
				failed := diskBySerial(t, s, serialB)
				if s.Verdict != discover.Critical || !strings.Contains(s.Summary, "md126 is degraded") ||
					!strings.Contains(s.Summary, "disk "+failed.Label()+" has failed") || strings.Contains(s.Summary, "inactive") {
					t.Errorf("verdict %s (%s), want critical for md126 naming %s", s.Verdict, s.Summary, failed.Label())
				}
				c := s.Array("md127")
				if c == nil || c.State != discover.ArrayContainer {
					t.Fatalf("md127: %+v, want a container", c)
				}
				wantVolume(t, s, discover.ArrayDegraded, 1)
				if failed.Verdict != discover.DiskFailed || len(failed.Members) != 1 || failed.Members[0].Array != "md127" {
					t.Errorf("failed disk %s: verdict %s members %v, want failed, in the container only", failed.Label(), failed.Verdict, failed.Members)
				}
				if d := diskBySerial(t, s, serialA); d.Verdict != discover.DiskHealthy {
					t.Errorf("survivor verdict %s", d.Verdict)
				}
			},
		},
	)
}

// wantVolume checks the IMSM volume md126: a raid1 of 2 slots in container md127, with no
// uuid (md reads all zeros for external metadata).
func wantVolume(t *testing.T, s *discover.System, state discover.ArrayState, active int) {
	t.Helper()
	v := s.Array("md126")
	if v == nil {
		t.Fatal("no array md126")
	}
	if v.State != state || v.RaidDisks != 2 || v.ActiveDisks != active || v.Level != "raid1" {
		t.Errorf("md126: %s %s %d/%d, want raid1 %s 2/%d", v.Level, v.State, v.RaidDisks, v.ActiveDisks, state, active)
	}
	if v.Container != "md127" || v.UUID != "" {
		t.Errorf("md126: container %q uuid %q, want md127 and no uuid", v.Container, v.UUID)
	}
}
