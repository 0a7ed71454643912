package discover_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// TestVMIMSMContainer: on a real kernel with mdmon, an IMSM RAID1 volume whose disk failed is
// CRITICAL for the volume and names the failed disk (never "md127 is inactive"); the plan is
// refused (exit 65) in one line that gives the mdadm commands, and those commands, run as
// given with the new disk's name, bring the volume back with its data: status is OK again.
func TestVMIMSMContainer(t *testing.T) {
	vmtest.Require(t)
	bin := testbin.Raidswap(t)
	disks := []vmtest.Disk{
		{Serial: serialA, SizeBytes: 128 << 20, Bus: vmtest.BusSATA},
		{Serial: serialB, SizeBytes: 128 << 20, Bus: vmtest.BusSATA},
		{Serial: "WD-NEW", SizeBytes: 128 << 20, Bus: vmtest.BusSATA},
	}
	script := "export PATH=" + filepath.Dir(bin) + ":$PATH\n" + imsmSetup + `
dd if=/dev/urandom of=/mnt/data/canary bs=1M count=8 2>/dev/null; sync
md5sum < /mnt/data/canary > canary.md5
` + imsmFailSetup[len(imsmSetup):] + `
set +e
N=$(byserial WD-NEW)
echo $B > failed.name
mdadm --examine /dev/$A > examine.txt 2>&1
raidswap status > status1.txt; echo $? > status1.rc
raidswap --plan --failed ` + serialB + ` > plan.out 2> plan.err; echo $? > plan.rc
line=$(cat plan.err)
cmds=${line#*from the container): }
[ "$cmds" != "$line" ] || { echo "no commands in: $line"; exit 20; }
IFS=';' read -ra parts <<< "$cmds"
for c in "${parts[@]}"; do
	c=${c# }; c=${c//\/dev\/NEW//dev/$N}
	[ "$c" = "swap the disk" ] && continue
	echo "+ $c" >> ran.txt
	$c >> ran.txt 2>&1 || { echo "failed: $c"; cat ran.txt; exit 21; }
done
for i in $(seq 100); do [ "$(cat /sys/block/md126/md/degraded)" = 0 ] && [ "$(cat /sys/block/md126/md/sync_action)" = idle ] && break; sleep 0.3; done
mdadm --wait /dev/md126
sleep 1
mdadm --detail /dev/md126 > detail2.txt
raidswap status > status2.txt; echo $? > status2.rc
echo $N > new.name
echo 3 > /proc/sys/vm/drop_caches
md5sum < /mnt/data/canary | cmp -s - canary.md5; echo $? > canary.rc
exit 0
`
	res := vmtest.RunT(t, vmtest.Config{Disks: disks, Script: script, Timeout: 4 * time.Minute})
	if res.ExitCode != 0 {
		t.Fatalf("script exit %d:\n%s", res.ExitCode, res.Output)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(res.Share, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	failed, newDisk := read("failed.name"), read("new.name")
	t.Logf("status with %s failed:\n%s\nmdadm --examine of the survivor:\n%s\nplan: %s\nran:\n%s\nmdadm --detail after:\n%s\nstatus after:\n%s",
		failed, read("status1.txt"), read("examine.txt"), read("plan.err"), read("ran.txt"), read("detail2.txt"), read("status2.txt"))

	st1 := read("status1.txt")
	if read("status1.rc") != "2" || !strings.Contains(st1, "md126 is degraded") || !strings.Contains(st1, "disk "+failed+" ("+serialB+") has failed") ||
		strings.Contains(st1, "inactive") {
		t.Errorf("status with %s failed (exit %s): want CRITICAL for md126 naming %s (%s), never inactive", failed, read("status1.rc"), failed, serialB)
	}
	// mdadm's authority: the metadata mdmon keeps on the survivor says the disk status calls
	// failed is failed (the failed disk's own copy is stale).
	if st := examineDiskState(read("examine.txt"), serialB); !strings.Contains(strings.ToLower(st), "failed") {
		t.Errorf("mdadm --examine of the survivor gives %s the state %q, want failed", serialB, st)
	}
	plan := read("plan.err")
	if read("plan.rc") != "65" || strings.Contains(plan, "\n") || strings.Contains(plan, "restore from backup") ||
		!strings.Contains(plan, "container md127") {
		t.Errorf("plan exit %s, want 65 and one line naming the container, no backup advice", read("plan.rc"))
	}
	ran := read("ran.txt")
	for _, c := range []string{"+ mdadm /dev/md127 --remove /dev/" + failed, "+ mdadm --zero-superblock /dev/" + newDisk, "+ mdadm /dev/md127 --add /dev/" + newDisk} {
		if !strings.Contains(ran, c) {
			t.Errorf("the refusal's commands did not include %q", c)
		}
	}
	if d := read("detail2.txt"); !strings.Contains(d, "active sync   /dev/"+newDisk) || strings.Contains(d, "degraded") {
		t.Errorf("md126 after the commands: want clean with %s active sync", newDisk)
	}
	if read("status2.rc") != "0" || !strings.Contains(read("status2.txt"), "OK:") {
		t.Errorf("status after the commands: exit %s, want 0", read("status2.rc"))
	}
	if read("canary.rc") != "0" {
		t.Errorf("the canary on md126 changed")
	}
}

// examineDiskState is the "State :" line that follows the disk's "Serial :" line in mdadm
// --examine's IMSM output, "" when there is none.
func examineDiskState(out, serial string) string {
	found := false
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case strings.HasSuffix(k, "Serial"):
			// IMSM keeps the last 16 characters of a serial and marks a failed disk's
			// with ":0", cutting the front ("-WCC4N1KPB002:0" for WD-WCC4N1KPB002).
			base, _, _ := strings.Cut(v, ":")
			found = base != "" && strings.HasSuffix(serial, base)
		case found && k == "State":
			return v
		}
	}
	return ""
}
