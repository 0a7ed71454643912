package packaging

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// drillMemoryMB is the guest memory for a drill: its sparse disk files live in the guest's
// tmpfs root overlay, and a rebuild fills the new disk's file (`make drill` gives the same).
const drillMemoryMB = 2048

// drillBenchScript runs the default scenario's --auto drill and times it inside the guest.
const drillBenchScript = `
modprobe -a md_mod raid1 loop dm_mod
start=$(date +%s.%N)
"$RS" drill --auto
rc=$?
echo "NATIVE DRILL $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }') s, exit $rc"
exit $rc
`

var nativeDrill = regexp.MustCompile(`NATIVE DRILL ([0-9.]+) s, exit (\d+)`)

// BenchmarkVMDrill times the full `raidswap drill --auto` of the default scenario as
// `make drill` runs it: s/vm-drill is from QEMU's start to its end (kernel boot, udev, the
// drill, power-off; not the wait for a free VM slot), s/native-drill the drill alone, measured
// inside the guest. Goals on 2 cores:
// under 60 s and under 10 s.
func BenchmarkVMDrill(b *testing.B) {
	vmtest.Require(b)
	rs := testbin.Raidswap(b)
	var vm, native time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := vmtest.Run(context.Background(), vmtest.Config{Timeout: 10 * time.Minute, MemoryMB: drillMemoryMB,
			Env: map[string]string{"RS": rs}, Script: drillBenchScript})
		wall := time.Since(start)
		if err != nil {
			if res != nil {
				b.Logf("console:\n%s\noutput:\n%s", res.Console, res.Output)
			}
			b.Fatal(err)
		}
		m := nativeDrill.FindStringSubmatch(res.Output)
		if res.ExitCode != 0 || m == nil || m[2] != "0" {
			b.Fatalf("the drill failed (exit %d):\n%s", res.ExitCode, res.Output)
		}
		secs, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			b.Fatal(err)
		}
		// QEMU start to QEMU gone: the wait for a VM slot (other VMs on the machine) is not the drill's.
		vm += res.Duration
		native += time.Duration(secs * float64(time.Second))
		if i == 0 {
			b.Logf("%s", lastLines(res.Output, 30))
		}
		b.Logf("run %d: VM %.1f s (boot %.1f s), drill in the guest %.1f s; %.1f s with the wait for a VM slot", i+1, res.Duration.Seconds(), res.Boot.Seconds(), secs, wall.Seconds())
	}
	b.ReportMetric(vm.Seconds()/float64(b.N), "s/vm-drill")
	b.ReportMetric(native.Seconds()/float64(b.N), "s/native-drill")
}

func lastLines(s string, n int) string {
	lines := regexp.MustCompile(`\n`).Split(s, -1)
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := ""
	for _, l := range lines {
		out += fmt.Sprintln(l)
	}
	return out
}
