package discover_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// TestVMStatusThroughRebuild samples `raidswap status --format prometheus` on a real kernel
// while a RAID1 rebuilds onto a new disk after losing its second member (issue 20, item 5):
// every sample taken while md recovers says verdict 2 and raidswap_array_redundant 0, and the
// next step is `raidswap watch`; once md is done, the verdict is 0 and the array redundant.
func TestVMStatusThroughRebuild(t *testing.T) {
	vmtest.Require(t)
	bin := testbin.Raidswap(t)
	script := "export PATH=" + filepath.Dir(bin) + ":$PATH\n" + `
set -eu
modprobe raid1
for d in vda vdb vdc; do
	sgdisk -Z /dev/$d >/dev/null 2>&1 || true
	sgdisk -n1:1M:+48M -t1:fd00 /dev/$d >/dev/null
	partx -u /dev/$d 2>/dev/null || partx -a /dev/$d
done
udevadm settle
mdadm --create /dev/md0 --run --quiet --level=1 --raid-devices=2 --metadata=1.2 --bitmap=none /dev/vda1 /dev/vdb1
mdadm --wait /dev/md0 || true
mdadm /dev/md0 --fail /dev/vdb1 --remove /dev/vdb1
echo 3000 > /proc/sys/dev/raid/speed_limit_min
echo 3000 > /proc/sys/dev/raid/speed_limit_max
set +e
raidswap status --format prometheus > degraded.prom
mdadm /dev/md0 --add /dev/vdc1
i=0
while grep -q recovery /proc/mdstat; do
	raidswap status --format prometheus > s.prom
	# keep the sample only if md was still recovering after it was taken
	if grep -q recovery /proc/mdstat; then i=$((i+1)); mv s.prom sample-$i.prom; fi
	sleep 0.5
done
echo $i > samples
mdadm --wait /dev/md0
raidswap status --format prometheus > done.prom; echo $? > done.rc
cat /proc/mdstat > done.mdstat
exit 0
`
	res := vmtest.RunT(t, vmtest.Config{
		Disks:   []vmtest.Disk{{Serial: serialA, SizeBytes: 64 << 20}, {Serial: serialB, SizeBytes: 64 << 20}, {Serial: serialC, SizeBytes: 64 << 20}},
		Script:  script,
		Timeout: 3 * time.Minute,
	})
	if res.ExitCode != 0 {
		t.Fatalf("script exit %d:\n%s", res.ExitCode, res.Output)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(res.Share, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	value := func(prom, series string) string {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(prom)
		if m == nil {
			return "absent"
		}
		return m[1]
	}
	redundant := `raidswap_array_redundant{array="md0",`
	redundantOf := func(prom string) string {
		for _, line := range strings.Split(prom, "\n") {
			if strings.HasPrefix(line, redundant) {
				return line[strings.LastIndexByte(line, ' ')+1:]
			}
		}
		return "absent"
	}
	n, _ := strconv.Atoi(strings.TrimSpace(read("samples")))
	if n < 3 {
		t.Fatalf("only %d samples taken while md recovered; the rebuild was too quick to watch", n)
	}
	if v, r := value(read("degraded.prom"), "raidswap_status_verdict"), redundantOf(read("degraded.prom")); v != "2" || r != "0" {
		t.Errorf("degraded: verdict %s, redundant %s; want 2, 0", v, r)
	}
	for i := 1; i <= n; i++ {
		p := read("sample-" + strconv.Itoa(i) + ".prom")
		v, r, next := value(p, "raidswap_status_verdict"), redundantOf(p), value(p, `raidswap_next_step_info{command="raidswap watch"}`)
		if v != "2" || r != "0" || next != "1" {
			t.Errorf("sample %d of %d, taken while md recovered: verdict %s, redundant %s, next step watch %s; want 2, 0, 1\n%s", i, n, v, r, next, p)
		}
	}
	done := read("done.prom")
	if v, r := value(done, "raidswap_status_verdict"), redundantOf(done); v != "0" || r != "1" || strings.TrimSpace(read("done.rc")) != "0" {
		t.Errorf("after the rebuild: verdict %s, redundant %s, exit %s; want 0, 1, 0\n%s\n%s", v, r, read("done.rc"), read("done.mdstat"), done)
	}
	t.Logf("%d samples during the rebuild, all verdict 2 and redundant 0", n)
}
