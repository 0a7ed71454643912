package contrib

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// TestVMAnsibleReplace runs the playbook's replace inside a VM guest on a real degraded RAID1
// (the seed layout: /boot on md0, / on md1, GRUB on both disks; WD-OLD failed in both
// arrays): Debian's ansible-playbook (the host's, seen through the guest's root) runs
// `raidswap replace --yes` with the serials from the host's inventory vars, while the
// operator's hands pull WD-OLD when raidswap waits for it and plug WD-NEW.
func TestVMAnsibleReplace(t *testing.T) {
	vmtest.Require(t)
	need(t, "ansible-playbook")
	rs := testbin.Raidswap(t)
	dir, err := filepath.Abs("ansible")
	if err != nil {
		t.Fatal(err)
	}
	res := vmtest.RunT(t, vmtest.Config{
		Disks: []vmtest.Disk{
			{Serial: "WD-SURV", SizeBytes: 256 << 20},
			{Serial: "WD-OLD", SizeBytes: 256 << 20},
			{Serial: "WD-NEW", SizeBytes: 256 << 20, Unplugged: true},
		},
		Timeout: 15 * time.Minute, MemoryMB: 1024, Env: map[string]string{"RS": rs, "PLAYBOOK_DIR": dir},
		Script: `
set -eu
` + vmtest.GuestLib + `$RS simulate build /dev/vda /dev/vdb >/dev/null
udevadm trigger --action=change --subsystem-match=block >/dev/null 2>&1 || true
udevadm settle || true
mkdir -p /boot /mnt/root; mount /dev/md0 /boot; mount /dev/md1 /mnt/root
grub-install --target=i386-pc /dev/vda >/dev/null 2>&1
grub-install --target=i386-pc /dev/vdb >/dev/null 2>&1
$RS simulate fail --disk vdb >/dev/null
( await_journal started await-removal 600; /run/vmtest/bin/vmtest-hotplug unplug WD-OLD >/dev/null; sleep 1; /run/vmtest/bin/vmtest-hotplug plug WD-NEW >/dev/null ) &
cat > /run/hosts.ini <<EOI
[raidswap]
guest ansible_connection=local ansible_python_interpreter=/usr/bin/python3 raidswap_failed_serial=WD-OLD raidswap_new_serial=WD-NEW
EOI
cd $PLAYBOOK_DIR
ANSIBLE_NOCOLOR=1 ansible-playbook -i /run/hosts.ini playbook.yml -e raidswap_become=false -e raidswap_bin=$RS \
	-e raidswap_collect_dir=/mnt/share/collected -e raidswap_action=replace -e raidswap_wait_timeout=5m -e raidswap_replace_poll=2
wait
grep -c '\[UU\]' /proc/mdstat | grep -qx 2 && echo "REDUNDANT OK"
`})
	if testing.Verbose() || res.ExitCode != 0 {
		t.Logf("guest output:\n%s", res.Output)
	}
	if res.ExitCode != 0 {
		t.Fatalf("guest script exit %d", res.ExitCode)
	}
	golden.Contains(t, res.Output, "REDUNDANT OK", `"guest: CRITICAL: `, `"guest: OK: 2 array(s) clean"`)
	host := filepath.Join(res.Share, "collected", "guest")
	for file, want := range map[string]string{"status.json": "critical", "status-after.json": "ok"} {
		var st struct{ Verdict string }
		b, err := os.ReadFile(filepath.Join(host, file))
		if err != nil || json.Unmarshal(b, &st) != nil || st.Verdict != want {
			t.Errorf("%s: verdict %q, want %q (%v)", file, st.Verdict, want, err)
		}
	}
	log, err := os.ReadFile(filepath.Join(host, "replace.log"))
	if err != nil || !strings.Contains(string(log), "done: every step of plan") {
		t.Errorf("replace.log: %v\n%s", err, log)
	}
}
