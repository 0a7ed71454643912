package view

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
)

func ip(i int) *int { return &i }

// TestStatusDuringRebuild: a mirror rebuilding its second member reads "rebuilding, N %
// (one copy until done)", its raidswap_array_redundant is 0 (a redundant array's 1, an
// array the model cannot read has no sample), the bitmap command is suggested only on the
// redundant array, the new disk's missing boot code during its run is pending, and the next
// step is named in text and as an info metric (issue 20, items 2 and 5).
func TestStatusDuringRebuild(t *testing.T) {
	in := func(slot int) discover.Member { return discover.Member{Slot: ip(slot), State: discover.MemberInSync} }
	rebuilding := discover.Array{Name: "md1", UUID: "u1", Level: "raid1", State: discover.ArrayRecovering, RaidDisks: 2, ActiveDisks: 1, Bitmap: "none",
		Sync:    &discover.Sync{Action: discover.SyncRecover, Percent: 42.7, SpeedKiB: 1024, ETASeconds: 90},
		Members: []discover.Member{in(0), {Slot: ip(1), State: discover.MemberRebuilding}}}
	whole := discover.Array{Name: "md0", UUID: "u0", Level: "raid1", State: discover.ArrayClean, RaidDisks: 2, ActiveDisks: 2, Bitmap: "none",
		Members: []discover.Member{in(0), in(1)}}
	unread := discover.Array{Name: "md2", UUID: "u2", Level: "raid1", State: discover.ArrayUnknown, RaidDisks: 2, MDStatOnly: true, MDDegraded: 0, Bitmap: "none",
		Members: []discover.Member{{Device: ptrTo("vda4"), State: discover.MemberInSync}}}
	s := &discover.System{Verdict: discover.Critical, Summary: "x", Arrays: []discover.Array{whole, rebuilding, unread},
		Disks: []discover.Disk{{Name: "vdc", Serial: "WD-NEW", Present: true, BootPending: "p1",
			Boot: &bootloader.Readiness{State: bootloader.BootMissing, Reason: "no boot code in the MBR"}}},
		Next: discover.NextStep{Command: "raidswap watch", Why: "md1 rebuilding with one copy until done"}}
	var b strings.Builder
	if err := StatusHuman(&b, s); err != nil {
		t.Fatal(err)
	}
	txt := b.String()
	for _, want := range []string{"Rebuilding, 42 % (one copy until done)", "at 1.0 MB/s ETA 1m30s", "md0: bitmap: none (a disk that drops out for a moment costs a full rebuild): mdadm --grow --bitmap=internal /dev/md0",
		"md1: bitmap: none (a disk that drops out for a moment costs a full rebuild); add one once md1 is redundant again, not now",
		"pending: comes at a later step of plan p1", "NEXT: raidswap watch\n  md1 rebuilding with one copy until done."} {
		if !strings.Contains(txt, want) {
			t.Errorf("status lacks %q:\n%s", want, txt)
		}
	}
	for _, bad := range []string{"--bitmap=internal /dev/md1", "--bitmap=internal /dev/md2", "missing: no boot code"} {
		if strings.Contains(txt, bad) {
			t.Errorf("status says %q:\n%s", bad, txt)
		}
	}
	if got := NoBitmap(s); len(got) != 1 || got[0] != "md0" {
		t.Errorf("NoBitmap = %v, want [md0]", got)
	}
	b.Reset()
	if err := StatusPrometheus(&b, s); err != nil {
		t.Fatal(err)
	}
	prom := b.String()
	for _, want := range []string{`raidswap_array_redundant{array="md0",uuid="u0",level="raid1"} 1`, `raidswap_array_redundant{array="md1",uuid="u1",level="raid1"} 0`,
		`raidswap_next_step_info{command="raidswap watch"} 1`, `raidswap_disk_boot_pending{disk="vdc",serial="WD-NEW",plan="p1"} 1`} {
		if !strings.Contains(prom, want) {
			t.Errorf("metrics lack %q:\n%s", want, prom)
		}
	}
	if strings.Contains(prom, `raidswap_array_redundant{array="md2"`) {
		t.Errorf("an array the model cannot read has a redundant sample")
	}
}

func ptrTo(s string) *string { return &s }
