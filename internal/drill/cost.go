package drill

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/human"
)

// RealCost is what the rebuild of a real replacement on this host would take: every RAID1
// array on physical disks is rebuilt in full (md recovers the arrays that share disks one
// after the other, so the times add up) at bytesPerSec, the speed measured in the drill,
// capped by md's speed_limit_max (limitKiB, 0 when unknown) which bounds a real rebuild
// whatever the disks can do. The text says what the figure rests on; a host without such
// arrays costs nothing and says so.
func RealCost(sys *discover.System, bytesPerSec float64, limitKiB int64) (time.Duration, string) {
	if sys == nil || bytesPerSec <= 0 {
		return 0, "no rebuild speed was measured in this drill: no estimate"
	}
	speed := bytesPerSec
	capped := false
	if limitKiB > 0 && float64(limitKiB)*1024 < speed {
		speed, capped = float64(limitKiB)*1024, true
	}
	var total int64
	var parts []string
	arrays := append([]discover.Array(nil), sys.Arrays...)
	sort.Slice(arrays, func(i, j int) bool { return arrays[i].Name < arrays[j].Name })
	for _, a := range arrays {
		if a.Level != "raid1" || a.SizeKiB <= 0 || !onPhysicalDisks(a) {
			continue
		}
		total += a.SizeKiB * 1024
		parts = append(parts, fmt.Sprintf("%s %s", a.Name, human.Bytes(uint64(a.SizeKiB)*1024)))
	}
	if total == 0 {
		return 0, "this host has no RAID1 array on physical disks: a real replacement here rebuilds nothing"
	}
	d := time.Duration(float64(total) / speed * float64(time.Second)).Round(time.Second)
	how := fmt.Sprintf("at %s/s measured in this drill", human.Bytes(uint64(bytesPerSec)))
	if capped {
		how = fmt.Sprintf("at %s/s, md's speed_limit_max (the drill measured %s/s)", human.Bytes(uint64(speed)), human.Bytes(uint64(bytesPerSec)))
	}
	return d, fmt.Sprintf("rebuilding %s %s ≈ %s; the drill's disks are files in memory or on the page cache, so real disks (about 100–200 MB/s for a rotating one) take longer", strings.Join(parts, " + "), how, human.Duration(d))
}

func onPhysicalDisks(a discover.Array) bool {
	n := 0
	for _, m := range a.Members {
		if m.Disk == nil {
			continue
		}
		if !identify.IsPhysicalName(*m.Disk) {
			return false
		}
		n++
	}
	return n > 0
}

// realCost measures the rebuild in the journal and says what it would cost on this host.
func (s *scene) realCost() {
	bps := s.rebuildSpeed()
	s.card.RebuildBytesPerSec = bps
	if bps <= 0 {
		return
	}
	sys, err := discover.Discover(s.c.Root)
	if err != nil {
		return
	}
	cost := s.c.RealCost
	if cost == nil {
		cost = func(sys *discover.System, bps float64) (time.Duration, string) {
			var limit int64
			if v, err := s.c.Root.ReadString("/proc/sys/dev/raid/speed_limit_max"); err == nil {
				_, _ = fmt.Sscan(v, &limit)
			}
			return RealCost(sys, bps, limit)
		}
	}
	d, text := cost(sys, bps)
	s.card.RealCost, s.card.RealCostSeconds = text, d.Seconds()
}

// rebuildSpeed is the bytes of the lab's arrays over the time from the first add step's
// start to the rebuild wait's end, from the journal.
func (s *scene) rebuildSpeed() float64 {
	recs, err := s.journalRecords()
	if err != nil {
		return 0
	}
	var from, to time.Time
	for _, r := range recs {
		if addStarted(r) && from.IsZero() {
			from = r.Time
		}
		if rebuildDone(r) {
			to = r.Time
		}
	}
	if from.IsZero() || to.IsZero() || !to.After(from) {
		return 0
	}
	var bytes float64
	for _, name := range s.arrays {
		if v, err := s.c.Root.ReadString("/sys/block/" + name + "/size"); err == nil {
			var sectors int64
			if _, err := fmt.Sscan(v, &sectors); err == nil {
				bytes += float64(sectors) * 512
			}
		}
	}
	return bytes / to.Sub(from).Seconds()
}
