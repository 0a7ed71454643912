package simulate

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// layoutScript is the guest's part of one layout row: build it, break it, show status, run
// `raidswap replace` with a person's hands (the failed disk is pulled when raidswap waits for
// it, the new disk inserted then unless it is already beside), and report what the kernel
// shows after: every array's state and lost-slot count, and each surviving array's canary.
// A watcher records md/degraded of every array throughout, so an array that went offline even
// for a moment is seen.
func layoutScript(l Layout) string {
	var disks, arrays []string
	for i := range l.Disks {
		disks = append(disks, fmt.Sprintf("vd%c", 'a'+i))
	}
	for _, a := range l.AllArrays() {
		arrays = append(arrays, a.Name)
	}
	plug := "/run/vmtest/bin/vmtest-hotplug plug " + NewSerial + " >/dev/null"
	if l.NewBeside {
		plug = ":"
	}
	newArg := "--new " + NewSerial
	if l.Outcome == Refused && !l.NewBeside {
		newArg = ""
	}
	return fmt.Sprintf(`
set -u
ARRAYS=%q
DURING=%q
$SIM layout %s %s >/dev/null
udevadm trigger --action=change --subsystem-match=block >/dev/null 2>&1 || true
udevadm settle || true
# A server's monitoring has run status before anything failed: its inventory knows each slot's
# disk, so a member md drops later is still named by serial.
$RS status >/dev/null || true
%s
sleep 1
echo "== status"
$RS status || true
# md/degraded alone misses a raid5 md failed ("Cannot continue operation": it stays 1 while
# mdstat shows [3/1]), so the worse of it and mdstat's [n/m] is recorded.
lost() {
	local deg bar l
	deg=$(cat /sys/block/$1/md/degraded 2>/dev/null || echo gone)
	bar=$(grep -A1 "^$1 :" /proc/mdstat | grep -o '\[[0-9]*/[0-9]*\]' | head -1 | tr -d '[]')
	if [ -n "$bar" ]; then
		l=$(( ${bar%%/*} - ${bar#*/} ))
		if [ "$deg" = gone ] || [ "$l" -gt "$deg" ]; then deg=$l; fi
	fi
	echo "$deg"
}
( while [ ! -e /run/stop ]; do for md in $ARRAYS; do echo "$md $(lost $md) $(cat /sys/block/$md/md/array_state 2>/dev/null || echo gone)"; done; sleep 0.2; done ) > /run/watch 2>&1 &
hands() {
	until grep -qsE '"event":"started".*"step":"[0-9]+-await-removal"' /var/lib/raidswap/journal/*.jsonl; do sleep 0.1; done
	/run/vmtest/bin/vmtest-hotplug unplug %s >/dev/null
	sleep 1
	%s
	[ -n "$DURING" ] || return 0
	until grep -qsE '"event":"started".*"step":"[0-9]+-await-rebuild"' /var/lib/raidswap/journal/*.jsonl; do sleep 0.1; done
	sleep 2
	date +%%s.%%N > /run/second.at
	eval "$DURING"
}
echo "== plan"
$RS --plan --failed %s %s || true
hands &
HANDS=$!
echo "== replace"
$RS replace --failed %s %s --yes --plain --wait-timeout 3m > /run/rs.out 2>&1
echo "RC=$?"
[ -e /run/second.at ] && echo "NOTICED_IN=$(awk -v a="$(date +%%s.%%N)" -v b="$(cat /run/second.at)" 'BEGIN { print a - b }')"
cat /run/rs.out
if [ -n "$DURING" ]; then $RS resume --yes --plain > /run/resume.out 2>&1; echo "RESUME_RC=$?"; cat /run/resume.out; fi
kill $HANDS 2>/dev/null || true
touch /run/stop; sleep 0.5
for md in $ARRAYS; do mdadm --wait /dev/$md >/dev/null 2>&1 || true; done
echo "== mdstat"
cat /proc/mdstat
echo "== end"
for md in $ARRAYS; do echo "END $md degraded=$(cat /sys/block/$md/md/degraded) state=$(cat /sys/block/$md/md/array_state) sync=$(cat /sys/block/$md/md/sync_action)"; done
for f in /sys/block/md*/md/dev-*/state; do echo "MEMBER $f $(cat $f)"; done
echo 3 > /proc/sys/vm/drop_caches
for md in $ARRAYS; do
	mkdir -p /mnt/$md
	if mount -o ro /dev/$md /mnt/$md 2>/dev/null; then echo "CANARY $md $(cat /mnt/$md/CANARY)"; umount /mnt/$md; else echo "CANARY $md unreadable"; fi
done
awk '$2 ~ /^[0-9]+$/ { seen[$1] = 1; if ($2 + 0 > max[$1] + 0) max[$1] = $2 + 0 } END { for (m in seen) print "MAXDEG " m " " max[m] + 0 }' /run/watch
grep -E ' (inactive|gone)$' /run/watch | sort -u | sed 's/^/OFFLINE /' || true
`, strings.Join(arrays, " "), l.DuringRebuild, l.Name, strings.Join(disks, " "), l.Break, l.Failed, plug, l.Failed, newArg, l.Failed, newArg)
}

// mostLost is the most slots a whole array of the spec can lose and keep running, if they
// are the right ones: what md/degraded may reach without the array having failed.
func mostLost(a ArraySpec, disks int) int {
	// disks: the disks the array is built over (Layout.DisksOf).
	n := disks - a.Spares
	switch a.Level {
	case "5", "4":
		return 1
	case "6":
		return 2
	case "10":
		return n / 2
	case "0":
		return 0
	}
	return n - 1
}

// TestVMLayouts runs every row of the layout table (layouts.go) on the VM's kernel.
func TestVMLayouts(t *testing.T) {
	vmtest.Require(t)
	rs := testbin.Raidswap(t)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range Layouts() {
		t.Run(l.Name, func(t *testing.T) {
			t.Parallel()
			var disks []vmtest.Disk
			for i := range l.Disks {
				disks = append(disks, vmtest.Disk{Serial: LayoutSerial(i), SizeBytes: 256 << 20})
			}
			newSize := int64(256 << 20)
			if l.NewSizeBytes > 0 {
				newSize = l.NewSizeBytes
			}
			disks = append(disks, vmtest.Disk{Serial: NewSerial, SizeBytes: newSize, Unplugged: !l.NewBeside})
			res := vmtest.RunT(t, vmtest.Config{Disks: disks, Timeout: 8 * time.Minute, MemoryMB: 1024,
				Env:    map[string]string{"RS": rs, "SIM": "env SIMULATE_HELPER=1 " + bin},
				Script: layoutScript(l)})
			if testing.Verbose() {
				t.Logf("guest output:\n%s", res.Output)
			}
			checkLayout(t, l, res.Output)
		})
	}
}

var (
	rcRE  = regexp.MustCompile(`(?m)^RC=(\d+)$`)
	endRE = regexp.MustCompile(`(?m)^END (\S+) degraded=(\d+) state=(\S+) sync=(\S+)$`)
	maxRE = regexp.MustCompile(`(?m)^MAXDEG (\S+) (\d+)$`)
)

// checkLayout checks the row's outcome from the guest's report.
func checkLayout(t *testing.T, l Layout, out string) {
	t.Helper()
	m := rcRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("raidswap did not run:\n%s", out)
	}
	rc, _ := strconv.Atoi(m[1])
	switch {
	case l.Outcome == Works && rc != 0:
		t.Errorf("raidswap replace exited %d, want 0:\n%s", rc, out)
	case l.Outcome == Refused && rc == 0:
		t.Errorf("raidswap replace exited 0, want a refusal:\n%s", out)
	case l.Outcome == Stops && rc != 67:
		t.Errorf("raidswap replace exited %d, want 67 (a second failure):\n%s", rc, out)
	}
	if l.Outcome == Stops {
		if !strings.Contains(out, "RESUME_RC=67\n") {
			t.Errorf("raidswap resume did not refuse with exit 67:\n%s", out)
		}
		m := regexp.MustCompile(`NOTICED_IN=([0-9.]+)`).FindStringSubmatch(out)
		if m == nil {
			t.Errorf("the second failure was not timed:\n%s", out)
		} else if secs, _ := strconv.ParseFloat(m[1], 64); secs > 15 {
			t.Errorf("the second failure was noticed after %.1f s, want within seconds", secs)
		} else {
			t.Logf("second failure noticed after %.1f s", secs)
		}
	}
	for _, s := range l.Says {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if l.Outcome == Refused && !strings.Contains(out, "refusing to plan") {
		t.Errorf("a refused replacement did not refuse to plan:\n%s", out)
	}
	lost := map[string]bool{}
	for _, a := range l.Lost {
		lost[a] = true
	}
	degraded := map[string]bool{}
	for _, a := range l.StaysDegraded {
		degraded[a] = true
	}
	ends := map[string][]string{}
	for _, e := range endRE.FindAllStringSubmatch(out, -1) {
		ends[e[1]] = e
	}
	maxDeg := map[string]int{}
	for _, e := range maxRE.FindAllStringSubmatch(out, -1) {
		maxDeg[e[1]], _ = strconv.Atoi(e[2])
	}
	for _, a := range l.AllArrays() {
		if _, ok := maxDeg[a.Name]; !ok && !lost[a.Name] {
			t.Errorf("%s: the watcher recorded no md/degraded:\n%s", a.Name, out)
		}
	}
	for _, a := range l.AllArrays() {
		if lost[a.Name] {
			continue
		}
		e, ok := ends[a.Name]
		if !ok {
			t.Errorf("%s: no end state reported:\n%s", a.Name, out)
			continue
		}
		deg, _ := strconv.Atoi(e[2])
		switch {
		case e[3] == "inactive" || e[3] == "broken":
			t.Errorf("%s ended %s", a.Name, e[3])
		case l.Outcome == Works && !degraded[a.Name] && (deg != 0 || e[4] != "idle"):
			t.Errorf("%s ended degraded=%d sync=%s, want every slot in sync", a.Name, deg, e[4])
		case degraded[a.Name] && deg == 0:
			t.Errorf("%s ended whole, but the row says it stays degraded", a.Name)
		}
		if maxDeg[a.Name] > mostLost(a, l.DisksOf(a)) {
			t.Errorf("%s had %d slots lost during the run: more than a whole %s-disk raid%s survives (it went offline)", a.Name, maxDeg[a.Name], strconv.Itoa(l.DisksOf(a)), a.Level)
		}
		if want := "CANARY " + a.Name + " " + strings.TrimSuffix(CanaryText(a.Name), "\n"); !strings.Contains(out, want) {
			t.Errorf("%s's canary is not intact: want %q in:\n%s", a.Name, want, out)
		}
	}
	if strings.Contains(out, "\nOFFLINE ") {
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "OFFLINE" && !lost[f[1]] {
				t.Errorf("an array went offline during the run: %s", line)
			}
		}
	}
}
