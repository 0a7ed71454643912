package discover_test

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
)

// A scenario is a state of a two- or three-disk server that the VM suite builds on a real
// kernel and captures with `raidswap snapshot`; the captures are the fixtures that the host
// tests read. check holds what must be true of the system in that state, live or captured.
type scenario struct {
	name  string
	disks []string // serials of vda, vdb, ...
	bus   string   // vmtest bus of every disk ("" is virtio: vda, vdb, ...)
	setup string   // bash, run in the guest after the common prelude
	exit  int      // status exit code
	check func(t *testing.T, s *discover.System)
	// volatile marks scenarios whose sync progress moves between two reads.
	volatile bool
}

const (
	serialA = "WD-WCC4N1KPA001"
	serialB = "WD-WCC4N1KPB002"
	serialC = "ST4000NM-ZC1C003"
)

// prelude defines the seed's layout: GPT with a BIOS boot partition, md0 (metadata 1.0) for
// /boot, a swap partition outside md, md1 (metadata 1.2) for /; ext4 on both, mounted.
const prelude = `
set -eu
modprobe raid1
part() { # disk
	sgdisk -Z /dev/$1 >/dev/null 2>&1 || true
	sgdisk -n1:1M:+1M -t1:ef02 -n2:0:+40M -t2:fd00 -n3:0:+16M -t3:8200 -n4:0:0 -t4:fd00 /dev/$1 >/dev/null
	partx -u /dev/$1 2>/dev/null || partx -a /dev/$1
	udevadm settle
}
mk() { # md metadata dev...
	local md=$1 meta=$2; shift 2
	mdadm --create /dev/$md --run --quiet --level=1 --raid-devices=$# --metadata=$meta "$@"
}
seed() { # disk disk
	part $1; part $2
	mk md0 1.0 /dev/${1}2 /dev/${2}2
	mk md1 1.2 /dev/${1}4 /dev/${2}4
	mdadm --wait /dev/md0 /dev/md1 || true
	mkfs.ext4 -q /dev/md0; mkfs.ext4 -q /dev/md1
	mkdir -p /mnt/boot /mnt/root
	mount /dev/md1 /mnt/root; mount /dev/md0 /mnt/boot
	mkswap -q /dev/${1}3; mkswap -q /dev/${2}3; swapon /dev/${1}3; swapon /dev/${2}3
	udevadm settle
}
`

// pendingSetup stops md1 as a power cut would: md1 is kept dirty (safe_mode_delay 60 s), written,
// and the metadata area of each member (everything before the data offset: superblock and
// bitmap) is copied as it is on disk at that moment; after a clean stop the copies are put
// back, so the members say "active" (dirty) like after a crash. Both arrays are then assembled
// with md_mod start_ro=1, as at boot: read-auto. md0 was stopped cleanly.
const pendingSetup = `
part vda; part vdb
mk md0 1.0 /dev/vda2 /dev/vdb2
mk md1 1.2 /dev/vda4 /dev/vdb4
mdadm --wait /dev/md0 /dev/md1 || true
mdadm --stop /dev/md0
echo 60 > /sys/block/md1/md/safe_mode_delay
dd if=/dev/urandom of=/dev/md1 bs=1M count=4 oflag=direct 2>/dev/null
[ "$(cat /sys/block/md1/md/array_state)" = active ] || { echo "md1 is not dirty: $(cat /sys/block/md1/md/array_state)"; exit 11; }
off=$(mdadm --examine /dev/vda4 | awk '/Data Offset/ {print $4}')
for d in vda4 vdb4; do dd if=/dev/$d of=/dev/shm/$d.meta bs=512 count=$off iflag=direct 2>/dev/null; done
mdadm --stop /dev/md1
udevadm control --stop-exec-queue
for d in vda4 vdb4; do dd if=/dev/shm/$d.meta of=/dev/$d bs=512 oflag=direct conv=notrunc 2>/dev/null; done
mdadm --examine /dev/vda4 | grep -q 'State : active' || { echo "the copied superblock is not dirty"; exit 12; }
echo 1 > /sys/module/md_mod/parameters/start_ro
mdadm --assemble /dev/md1 /dev/vda4 /dev/vdb4
mdadm --assemble /dev/md0 /dev/vda2 /dev/vdb2
udevadm control --start-exec-queue
udevadm settle
for f in array_state resync_start sync_action; do echo "md0 $f $(cat /sys/block/md0/md/$f)"; echo "md1 $f $(cat /sys/block/md1/md/$f)"; done
`

func diskBySerial(t *testing.T, s *discover.System, serial string) *discover.Disk {
	t.Helper()
	for i := range s.Disks {
		if s.Disks[i].Serial == serial {
			return &s.Disks[i]
		}
	}
	t.Fatalf("no disk with serial %s in %+v", serial, s.Disks)
	return nil
}

func wantArray(t *testing.T, s *discover.System, name string, state discover.ArrayState, raid, active int) *discover.Array {
	t.Helper()
	a := s.Array(name)
	if a == nil {
		t.Fatalf("no array %s", name)
	}
	if a.State != state || a.RaidDisks != raid || a.ActiveDisks != active {
		t.Errorf("%s: state %s %d/%d, want %s %d/%d", name, a.State, a.RaidDisks, a.ActiveDisks, state, raid, active)
	}
	if a.UUID == "" || a.Level != "raid1" {
		t.Errorf("%s: uuid %q level %q", name, a.UUID, a.Level)
	}
	return a
}

func memberStates(a *discover.Array) string {
	var out []string
	for _, m := range a.Members {
		d := "-"
		if m.Device != nil {
			d = *m.Device
		}
		out = append(out, d+"="+string(m.State))
	}
	return strings.Join(out, " ")
}

var scenarios = []scenario{
	{
		name:  "clean",
		disks: []string{serialA, serialB},
		setup: `seed vda vdb`,
		exit:  0,
		check: func(t *testing.T, s *discover.System) {
			if s.Verdict != discover.OK {
				t.Errorf("verdict %s (%s)", s.Verdict, s.Summary)
			}
			md0 := wantArray(t, s, "md0", discover.ArrayClean, 2, 2)
			md1 := wantArray(t, s, "md1", discover.ArrayClean, 2, 2)
			if md0.Metadata != "1.0" || md1.Metadata != "1.2" {
				t.Errorf("metadata %s %s", md0.Metadata, md1.Metadata)
			}
			if len(md1.Mountpoints) != 1 || md1.Mountpoints[0] != "/mnt/root" {
				t.Errorf("md1 mountpoints %v", md1.Mountpoints)
			}
			for _, serial := range []string{serialA, serialB} {
				d := diskBySerial(t, s, serial)
				if d.Verdict != discover.DiskHealthy || len(d.Members) != 2 || len(d.Swap) != 1 {
					t.Errorf("%s: verdict %s members %v swap %v", serial, d.Verdict, d.Members, d.Swap)
				}
				if d.LogicalSectorSize != 512 || len(d.ByID) == 0 {
					t.Errorf("%s: sector %d by-id %v", serial, d.LogicalSectorSize, d.ByID)
				}
			}
		},
	},
	{
		// md1 after a power cut (pendingSetup): assembled read-auto, md owes it a resync it
		// has not started; md0, stopped cleanly and assembled the same way, is in sync.
		name:  "pending",
		disks: []string{serialA, serialB},
		setup: pendingSetup,
		exit:  1,
		check: func(t *testing.T, s *discover.System) {
			md1 := wantArray(t, s, "md1", discover.ArrayResyncing, 2, 2)
			if md1.Sync == nil || !md1.Sync.Pending || md1.Sync.Action != discover.SyncResync || !strings.Contains(md1.Sync.Reason, "--readwrite /dev/md1") {
				t.Errorf("md1 sync %+v, want a pending resync that says --readwrite starts it", md1.Sync)
			}
			wantArray(t, s, "md0", discover.ArrayClean, 2, 2)
			if s.Verdict != discover.Warning || !strings.Contains(s.Summary, "md1: resync pending") || strings.Contains(s.Summary, "md0") {
				t.Errorf("verdict %s (%s), want a warning for md1 alone", s.Verdict, s.Summary)
			}
		},
	},
	{
		// The seed: every member of one disk failed, (F) in /proc/mdstat.
		name:  "failed",
		disks: []string{serialA, serialB},
		setup: `seed vda vdb
mdadm /dev/md0 --fail /dev/vdb2
mdadm /dev/md1 --fail /dev/vdb4`,
		exit: 2,
		check: func(t *testing.T, s *discover.System) {
			if s.Verdict != discover.Critical || !strings.Contains(s.Summary, serialB) {
				t.Errorf("verdict %s (%s), want critical naming %s", s.Verdict, s.Summary, serialB)
			}
			for _, md := range []string{"md0", "md1"} {
				a := wantArray(t, s, md, discover.ArrayDegraded, 2, 1)
				if got := memberStates(a); !strings.Contains(got, "vdb") || !strings.Contains(got, "=faulty") {
					t.Errorf("%s members: %s", md, got)
				}
				if a.Bar() != "[2/1] [U_]" {
					t.Errorf("%s bar %s", md, a.Bar())
				}
			}
			if d := diskBySerial(t, s, serialB); d.Verdict != discover.DiskFailed || d.Name != "vdb" {
				t.Errorf("failed disk: %s verdict %s", d.Name, d.Verdict)
			}
			if d := diskBySerial(t, s, serialA); d.Verdict != discover.DiskHealthy {
				t.Errorf("survivor verdict %s", d.Verdict)
			}
		},
	},
	{
		// The disk is pulled (QMP device_del): md fails its members at the next write and the
		// kernel forgets the disk; the inventory, kept by an earlier status, still names it.
		name:  "vanished",
		disks: []string{serialA, serialB},
		setup: `seed vda vdb
raidswap status >/dev/null || true
swapoff /dev/vdb3
vmtest-hotplug unplug ` + serialB + `
for f in /mnt/root/probe /mnt/boot/probe; do dd if=/dev/urandom of=$f bs=4k count=8 oflag=direct,sync 2>/dev/null; done
sync; sleep 1`,
		exit: 2,
		check: func(t *testing.T, s *discover.System) {
			if s.Verdict != discover.Critical {
				t.Errorf("verdict %s (%s)", s.Verdict, s.Summary)
			}
			d := diskBySerial(t, s, serialB)
			if d.Present || d.Verdict != discover.DiskVanished || d.Name != "vdb" {
				t.Errorf("vanished disk: %+v", d)
			}
			if !strings.Contains(s.Summary, serialB) {
				t.Errorf("summary %q does not name %s", s.Summary, serialB)
			}
			for _, md := range []string{"md0", "md1"} {
				a := s.Array(md)
				if a == nil || a.State != discover.ArrayDegraded || a.ActiveDisks != 1 {
					t.Errorf("%s: %+v", md, a)
				}
			}
		},
	},
	{
		// vdb was failed and removed, a new disk vdc added: md0 recovers while md1 waits.
		name:     "recovering",
		disks:    []string{serialA, serialB, serialC},
		volatile: true,
		setup: `seed vda vdb
swapoff /dev/vdb3
mdadm /dev/md0 --fail /dev/vdb2 --remove /dev/vdb2
mdadm /dev/md1 --fail /dev/vdb4 --remove /dev/vdb4
part vdc
echo 500 > /proc/sys/dev/raid/speed_limit_min
echo 500 > /proc/sys/dev/raid/speed_limit_max
mdadm /dev/md0 --add /dev/vdc2
mdadm /dev/md1 --add /dev/vdc4
sleep 2`,
		exit: 2,
		check: func(t *testing.T, s *discover.System) {
			// Both arrays recover from their last good copy, on vda (issue 17): critical.
			if s.Verdict != discover.Critical || !strings.Contains(s.Summary, "md0 is recovering from its last good copy vda2") {
				t.Errorf("verdict %s (%s), want critical: recovering from the last good copy", s.Verdict, s.Summary)
			}
			md0 := wantArray(t, s, "md0", discover.ArrayRecovering, 2, 1)
			if md0.Sync == nil || md0.Sync.Action != "recover" || md0.Sync.Delayed {
				t.Errorf("md0 sync %+v", md0.Sync)
			}
			md1 := wantArray(t, s, "md1", discover.ArrayRecovering, 2, 1)
			if md1.Sync == nil || !md1.Sync.Delayed {
				t.Errorf("md1 sync %+v, want delayed", md1.Sync)
			}
			if d := diskBySerial(t, s, serialC); d.Verdict != discover.DiskRebuilding {
				t.Errorf("new disk verdict %s", d.Verdict)
			}
			if d := diskBySerial(t, s, serialB); d.Verdict != discover.DiskUnused {
				t.Errorf("removed disk verdict %s", d.Verdict)
			}
		},
	},
	{
		// Three arrays; vdb's member failed in md1 only and is still in_sync in md0 and md2.
		name:  "partial",
		disks: []string{serialA, serialB},
		setup: `part vda; part vdb
mk md0 1.0 /dev/vda2 /dev/vdb2
mk md1 1.2 /dev/vda3 /dev/vdb3
mk md2 1.2 /dev/vda4 /dev/vdb4
mdadm --wait /dev/md0 /dev/md1 /dev/md2 || true
mdadm /dev/md1 --fail /dev/vdb3`,
		exit: 2,
		check: func(t *testing.T, s *discover.System) {
			if s.Verdict != discover.Critical {
				t.Errorf("verdict %s (%s)", s.Verdict, s.Summary)
			}
			wantArray(t, s, "md0", discover.ArrayClean, 2, 2)
			wantArray(t, s, "md1", discover.ArrayDegraded, 2, 1)
			wantArray(t, s, "md2", discover.ArrayClean, 2, 2)
			if d := diskBySerial(t, s, serialB); d.Verdict != discover.DiskPartiallyFailed || len(d.Members) != 3 {
				t.Errorf("vdb verdict %s members %v", d.Verdict, d.Members)
			}
		},
	},
	{
		// vdb failed and was removed; then the survivor vda is pulled. md1 (mounted) keeps
		// its last member, gone; md0 (not mounted) is stopped, as udev's `mdadm -If` was seen
		// to do to it, though not every time (so the script stops it too): md lists it
		// nowhere and only the inventory, kept by the earlier status runs, knows it.
		name:  "survivor",
		disks: []string{serialA, serialB},
		setup: `seed vda vdb
raidswap status >/dev/null || true
swapoff /dev/vdb3
mdadm /dev/md0 --fail /dev/vdb2 --remove /dev/vdb2
mdadm /dev/md1 --fail /dev/vdb4 --remove /dev/vdb4
raidswap status >/dev/null || true
swapoff /dev/vda3
umount /mnt/boot
vmtest-hotplug unplug ` + serialA + `
dd if=/dev/urandom of=/mnt/root/probe bs=4k count=8 oflag=direct,sync 2>/dev/null || true
sync || true
udevadm settle
mdadm --stop /dev/md0 2>/dev/null || true
for i in $(seq 50); do [ -e /sys/block/md0 ] || break; sleep 0.2; done
# md marks md1 broken a moment after its last member's write failed: wait (bounded) until it
# has, so live status and the capture read the same state.
for i in $(seq 50); do [ "$(cat /sys/block/md1/md/array_state 2>/dev/null)" = broken ] && break; sleep 0.2; done
cat /proc/mdstat`,
		exit: 2,
		check: func(t *testing.T, s *discover.System) {
			if s.Verdict != discover.Critical || !strings.Contains(s.Summary, serialA+") has vanished, last seen ") {
				t.Errorf("verdict %s (%s), want critical naming %s as vanished with when it was last seen", s.Verdict, s.Summary, serialA)
			}
			d := diskBySerial(t, s, serialA)
			if d.Present || d.Verdict != discover.DiskVanished || d.Name != "vda" || d.LastSeen == "" {
				t.Errorf("vanished survivor: %+v", d)
			}
			md0 := s.Array("md0")
			if md0 == nil || md0.State != discover.ArrayMissing || md0.UUID == "" {
				t.Fatalf("md0, stopped when it lost its last member, must still be shown as missing: %+v", md0)
			}
			if got := memberStates(md0); got != "-=missing -=missing" {
				t.Errorf("md0 members %s", got)
			}
			if md0.Members[0].LastSerial != serialA || md0.Members[1].LastSerial != serialB {
				t.Errorf("md0 slots last held by %q and %q", md0.Members[0].LastSerial, md0.Members[1].LastSerial)
			}
			md1 := wantArray(t, s, "md1", discover.ArrayDegraded, 2, 1)
			if m := md1.Members[0]; !m.Gone || m.Serial != serialA {
				t.Errorf("md1's last member: gone %v serial %q", m.Gone, m.Serial)
			}
			if !strings.Contains(s.Summary, "md0 is missing") || !strings.Contains(s.Summary, "md1 is degraded") {
				t.Errorf("summary %q", s.Summary)
			}
		},
	},
}
