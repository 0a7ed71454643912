package packaging

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/vmtest"
)

// installScript runs in the guest, whose root is the host's with a tmpfs overlay, so dpkg -i
// installs into a throw-away copy of this machine: the package's Depends must be met by what
// scripts/install-deps.sh installed, exactly as apt would have to meet them on a server.
const installScript = `
set -u
say() { echo "== $*"; }
fail() { echo "FAILED: $*"; exit 1; }
say "dpkg -i"
dpkg -i "$DEB" || fail "dpkg -i failed"
[ "$(dpkg-query -W -f='${Status} ${Version}' raidswap)" = "install ok installed $VERSION" ] && echo "INSTALLED $VERSION"
say "the installed binary"
[ "$(/usr/sbin/raidswap --version)" = "raidswap version $UPSTREAM" ] && echo "VERSION OK"
say "man page"
if command -v man >/dev/null; then
	[ "$(man -w raidswap)" = /usr/share/man/man8/raidswap.8.gz ] && echo "MAN OK (man -w)"
else
	zcat /usr/share/man/man8/raidswap.8.gz | grep -q '^\.TH "RAIDSWAP" "8"' && echo "MAN OK (file)"
fi
say "systemd units"
# With man-db, verify also checks that the units' Documentation= pages are installed.
man=no; command -v man >/dev/null && man=yes
out=$(systemd-analyze verify --man=$man /usr/lib/systemd/system/raidswap-inventory.service /usr/lib/systemd/system/raidswap-inventory.timer 2>&1)
rc=$?
[ -z "$out" ] || echo "$out"
[ $rc = 0 ] && [ -z "$out" ] && echo "UNITS VERIFY OK (man=$man)"
say "bash completion"
bash -c 'source /usr/share/bash-completion/completions/raidswap && complete -p raidswap' && echo "COMPLETION OK"
say "event hook from the package"
[ -e /etc/mdadm/mdadm.conf ] || printf 'HOMEHOST <system>\nMAILADDR root\n' > /etc/mdadm/mdadm.conf
/usr/sbin/raidswap event --install
grep -x 'PROGRAM /usr/sbin/raidswap-event' /etc/mdadm/mdadm.conf && echo "PROGRAM IS THE PACKAGED LINK"
[ "$(readlink /usr/sbin/raidswap-event)" = raidswap ] && echo "PACKAGED LINK KEPT"
dpkg --verify raidswap && echo "DPKG VERIFY OK"
/usr/sbin/raidswap-event NoSuchEvent /dev/md0; echo "EVENT LINK EXIT $?"
say "raidswap drill --auto, from the package"
modprobe -a md_mod raid1 loop dm_mod # loaded on a server with arrays; here they are modules
start=$(date +%s.%N)
/usr/sbin/raidswap drill --auto; drc=$?
echo "DRILL EXIT $drc after $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
say "nothing of the drill left"
losetup -a
[ -z "$(losetup -a)" ] && echo "NO LOOP DEVICE LEFT"
grep -q '^md' /proc/mdstat 2>/dev/null || echo "NO ARRAY LEFT"
[ "$(dmsetup ls 2>&1)" = "No devices found" ] && echo "NO DM TABLE LEFT"
say "dpkg --purge"
files=$(dpkg -L raidswap | while read -r f; do [ -d "$f" ] || echo "$f"; done)
dpkg --purge raidswap || fail "dpkg --purge failed"
left=0
for f in $files; do [ -e "$f" ] || [ -L "$f" ] && { echo "left behind: $f"; left=1; }; done
[ $left = 0 ] && ! dpkg-query -W raidswap 2>/dev/null | grep -q . && echo "PURGED CLEAN"
say "apt install, as README says (Depends and Recommends are met here: nothing to download)"
DEBIAN_FRONTEND=noninteractive apt-get install -y "$DEB" >/run/apt.log 2>&1 || { rc=$?; cat /run/apt.log; fail "apt-get install exited $rc"; }
grep -E '^(Setting up|E:|W:)' /run/apt.log
[ "$(dpkg-query -W -f='${Status}' raidswap)" = "install ok installed" ] && echo "APT INSTALLED"
DEBIAN_FRONTEND=noninteractive apt-get purge -y raidswap >/dev/null 2>&1 && [ ! -e /usr/sbin/raidswap ] && echo "APT PURGED"
exit $drc
`

// TestVMDebInstall builds the package, installs it with dpkg -i in a VM, checks what it
// installed (binary, man page, units with systemd-analyze, completion, the event hook's
// PROGRAM naming the packaged link), runs `raidswap drill --auto` from the installed package
// on the guest's real md and loop drivers, checks the drill left nothing behind, purges, and
// installs it once more with apt, as README says (offline: the host has every dependency).
func TestVMDebInstall(t *testing.T) {
	vmtest.Require(t)
	deb := buildDeb(t)
	version := debField(t, deb, "Version")
	upstream, _, _ := strings.Cut(version, "-")
	res := vmtest.RunT(t, vmtest.Config{
		Timeout: 15 * time.Minute, MemoryMB: drillMemoryMB,
		Env:    map[string]string{"DEB": deb, "VERSION": version, "UPSTREAM": upstream},
		Script: installScript,
	})
	for _, want := range []string{
		"INSTALLED " + version, "VERSION OK", "MAN OK", "UNITS VERIFY OK", "COMPLETION OK",
		"PROGRAM IS THE PACKAGED LINK", "PACKAGED LINK KEPT", "DPKG VERIFY OK", "EVENT LINK EXIT 64",
		"DRILL EXIT 0", "NO LOOP DEVICE LEFT", "NO ARRAY LEFT", "NO DM TABLE LEFT", "PURGED CLEAN", "APT INSTALLED", "APT PURGED",
	} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("the guest did not report %q", want)
		}
	}
	if res.ExitCode != 0 {
		t.Errorf("the guest script exited %d (the drill's exit code)", res.ExitCode)
	}
	if !t.Failed() {
		t.Logf("guest output:\n%s", res.Output)
	}
	if m := regexp.MustCompile(`DRILL EXIT \d+ after (\S+)s`).FindStringSubmatch(res.Output); m != nil {
		t.Logf("drill from the installed package: %ss in the guest; VM %s (boot %s)", m[1], res.Duration.Round(time.Millisecond), res.Boot.Round(time.Millisecond))
	}
}
