package discover_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// benchLayout builds 96 disks (loop devices over files in tmpfs, each with a GPT and one RAID
// partition) and 48 RAID1 arrays on a real kernel, captures them, and unpacks the capture.
const benchLayout = `
set -eu
modprobe raid1
modprobe loop
mkdir -p /dev/shm/bench
# One partitioned image copied 96 times: sgdisk takes ~1.5 s a call under TCG.
truncate -s 8M /dev/shm/bench/template
sgdisk -n1:1M:0 -t1:fd00 /dev/shm/bench/template >/dev/null
i=0
while [ $i -lt 96 ]; do
	cp --sparse=always /dev/shm/bench/template /dev/shm/bench/d$i
	losetup -P -f /dev/shm/bench/d$i
	i=$((i+1))
done
udevadm settle
j=0
while [ $j -lt 48 ]; do
	a=$(losetup -j /dev/shm/bench/d$((2*j)) -O NAME -n)
	b=$(losetup -j /dev/shm/bench/d$((2*j+1)) -O NAME -n)
	mdadm --create /dev/md$j --run --quiet --level=1 --raid-devices=2 --metadata=1.2 --assume-clean ${a}p1 ${b}p1
	j=$((j+1))
done
udevadm settle
raidswap snapshot capture.tar.gz >/dev/null
# Unpacked in tmpfs like /sys is in memory: the share is 9p, whose every read crosses to the host.
mkdir -p /dev/shm/capture && tar xzf capture.tar.gz -C /dev/shm/capture
cat > manual.sh <<'MANUAL'
cat /proc/mdstat
for m in /dev/md[0-9]*; do mdadm --detail $m; done
lsblk -o NAME,SERIAL,MODEL,SIZE
MANUAL
`

type benchResult struct {
	Runs      int     `json:"runs"`
	MeanSec   float64 `json:"mean_seconds"`
	MinSec    float64 `json:"min_seconds"`
	MaxRSSKiB int64   `json:"max_rss_kib"`
}

// BenchmarkVMStatusVsManual compares `raidswap status --root` (and live `status`) on 96 disks
// and 48 arrays with the look-up an operator does by hand (cat /proc/mdstat, mdadm --detail
// per array, lsblk), all measured in one VM run. Goal: <= 0.5x the manual look-up, < 30 MB.
func BenchmarkVMStatusVsManual(b *testing.B) {
	vmtest.Require(b)
	bin := testbin.Raidswap(b)
	cb := testbin.Build(b, "./internal/cmdbench", "cmdbench")
	script := "export PATH=" + filepath.Dir(bin) + ":$PATH\n" + benchLayout + `
` + cb + ` -n 5 -- raidswap status --root /dev/shm/capture > root.json
` + cb + ` -n 5 -- raidswap status > live.json
` + cb + ` -n 5 -- bash manual.sh > manual.json
raidswap status --root /dev/shm/capture | head -3
`
	for i := 0; i < b.N; i++ {
		res, err := vmtest.Run(b.Context(), vmtest.Config{
			Disks: []vmtest.Disk{{Serial: "BENCH-ROOT", SizeBytes: 16 << 20}}, Script: script,
			Timeout: 20 * time.Minute, MemoryMB: 2048, Share: b.TempDir(),
		})
		if err != nil {
			b.Fatalf("VM: %v", err)
		}
		if res.ExitCode != 0 {
			b.Fatalf("bench script exit %d:\n%s", res.ExitCode, res.Output)
		}
		load := func(name string) benchResult {
			var r benchResult
			raw, err := os.ReadFile(filepath.Join(res.Share, name))
			if err != nil || json.Unmarshal(raw, &r) != nil || r.Runs == 0 {
				b.Fatalf("%s: %v %q", name, err, raw)
			}
			return r
		}
		root, live, manual := load("root.json"), load("live.json"), load("manual.json")
		b.ReportMetric(root.MeanSec/manual.MeanSec, "root/manual")
		b.ReportMetric(live.MeanSec/manual.MeanSec, "live/manual")
		b.ReportMetric(float64(root.MaxRSSKiB)/1024, "root-MaxRSS-MiB")
		b.ReportMetric(float64(live.MaxRSSKiB)/1024, "live-MaxRSS-MiB")
		b.Logf("96 disks, 48 arrays, 5 runs each, mean wall time: status --root %.3fs, status live %.3fs, manual look-up %.3fs; ratio %.2fx (--root), %.2fx (live); peak RSS status %.1f MiB, manual %.1f MiB\n%s",
			root.MeanSec, live.MeanSec, manual.MeanSec, root.MeanSec/manual.MeanSec, live.MeanSec/manual.MeanSec,
			float64(root.MaxRSSKiB)/1024, float64(manual.MaxRSSKiB)/1024, strings.TrimSpace(res.Output))
	}
}
