package exec_test

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// BenchmarkVMRebuild measures, in one VM run on 1 GiB disks, with --rebuild-speed 1000000
// (which raises speed_limit_min and speed_limit_max for the wait and restores them): the time from raidswap's first
// `mdadm --add` to full redundancy, divided by the time a raw sequential copy (dd, 4 MiB
// direct I/O) of the same bytes takes between the same two disks (goal <= 1.10); and when
// /boot (md0) became redundant, as a share of that time (goal <= 2 %). TCG makes absolute
// speeds vary 2x between runs, so only ratios measured in the same run are reported.
func BenchmarkVMRebuild(b *testing.B) {
	vmtest.Require(b)
	rs := testbin.Raidswap(b)
	script := `
set -eu
RS=$RS
$RS simulate build /dev/vda /dev/vdb >/dev/null
$RS simulate fail --disk vdb >/dev/null
now() { date +%s.%N; }
# The observer: when md0 first lists the new disk's member, when md0 is redundant, when both are.
(
	# The new disk takes the old one's name (vdb), so wait for it by serial first: before
	# that, "vdb2" in md0 is the old, faulty member.
	new=""; until [ -n "$new" ]; do
		for f in /sys/block/vd*/serial; do [ "$(cat $f 2>/dev/null)" = WD-NEW ] && new=$(basename $(dirname $f)); done
		sleep 0.02
	done
	until grep '^md0' /proc/mdstat | grep -qE "${new}2\\["; do sleep 0.02; done; now > /run/t.start
	until grep -A1 '^md0' /proc/mdstat | grep -q '\[UU\]'; do sleep 0.02; done; now > /run/t.boot
	until [ "$(grep -c '\[UU\]' /proc/mdstat)" = 2 ]; do sleep 0.02; done; now > /run/t.full
) &
obs=$!
( until grep -q "waiting for the failed disk to be pulled" /run/rs.out 2>/dev/null; do sleep 0.1; done
  /run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null; /run/vmtest/bin/vmtest-hotplug plug WD-NEW >/dev/null ) &
$RS replace --failed WD-OLD --new WD-NEW --yes --plain --rebuild-speed 1000000 --wait-timeout 10m > /run/rs.out 2>&1 || { cat /run/rs.out; exit 1; }
wait $obs
NEW=$(for f in /sys/block/*/serial; do [ "$(cat $f)" = WD-NEW ] && basename $(dirname $f); done)
b0=$(( $(cat /sys/block/md0/md/component_size) * 1024 )); b1=$(( $(cat /sys/block/md1/md/component_size) * 1024 ))
# The same bytes, raw, between the same disks: take the new members out, copy, time it.
mdadm /dev/md0 --fail /dev/${NEW}2 --remove /dev/${NEW}2 >/dev/null
mdadm /dev/md1 --fail /dev/${NEW}4 --remove /dev/${NEW}4 >/dev/null
sync; echo 3 > /proc/sys/vm/drop_caches
d0=$(now)
dd if=/dev/vda2 of=/dev/${NEW}2 bs=4M iflag=direct,count_bytes oflag=direct count=$b0 status=none
dd if=/dev/vda4 of=/dev/${NEW}4 bs=4M iflag=direct,count_bytes oflag=direct count=$b1 status=none
d1=$(now)
echo "LIMITS $(cat /proc/sys/dev/raid/speed_limit_min) $(cat /proc/sys/dev/raid/speed_limit_max)"
echo "BYTES $((b0 + b1))"
echo "REBUILD $(echo "$(cat /run/t.full) - $(cat /run/t.start)" | bc)"
echo "BOOT $(echo "$(cat /run/t.boot) - $(cat /run/t.start)" | bc)"
echo "DD $(echo "$d1 - $d0" | bc)"
`
	for i := 0; i < b.N; i++ {
		res, err := vmtest.Run(b.Context(), vmtest.Config{
			Disks:   []vmtest.Disk{{Serial: "WD-SURV", SizeBytes: 1 << 30}, {Serial: "WD-OLD", SizeBytes: 1 << 30}, {Serial: "WD-NEW", SizeBytes: 1 << 30, Unplugged: true}},
			Timeout: 15 * time.Minute, Env: map[string]string{"RS": rs}, Script: script,
		})
		if err != nil {
			b.Fatal(err)
		}
		if res.ExitCode != 0 {
			b.Fatalf("guest exit %d:\n%s", res.ExitCode, res.Output)
		}
		get := func(name string) float64 {
			m := regexp.MustCompile(`(?m)^` + name + ` ([0-9.]+)$`).FindStringSubmatch(res.Output)
			if m == nil {
				b.Fatalf("no %s figure in:\n%s", name, res.Output)
			}
			v, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				b.Fatal(err)
			}
			return v
		}
		// --rebuild-speed raised both limits for the wait; afterwards they are md's defaults again.
		if !regexp.MustCompile(`(?m)^LIMITS 1000 200000$`).MatchString(res.Output) {
			b.Errorf("speed limits not restored to 1000 200000:\n%s", res.Output)
		}
		bytes, rebuild, boot, dd := get("BYTES"), get("REBUILD"), get("BOOT"), get("DD")
		ratio, bootShare := rebuild/dd, 100*boot/rebuild
		b.Logf("%.0f MiB: rebuild %.2fs (%.0f MB/s), dd %.2fs (%.0f MB/s): ratio %.2f (goal <= 1.10); /boot redundant after %.2fs = %.1f%% of the rebuild (goal <= 2%%)",
			bytes/(1<<20), rebuild, bytes/rebuild/1e6, dd, bytes/dd/1e6, ratio, boot, bootShare)
		b.ReportMetric(ratio, "rebuild/dd")
		b.ReportMetric(bootShare, "boot%")
	}
}
