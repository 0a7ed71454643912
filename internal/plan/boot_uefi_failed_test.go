package plan

import (
	"strings"
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/inventory"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// The only ESP was on the failed disk (issue 17, item 14): the plan says how to remake it on
// the new disk from its facts (discovery's while the disk is attached, else the inventory's),
// and warns that the survivor cannot boot alone; a failed ESP whose FAT type is not known
// stays by hand, naming the missing fact.
func TestUEFIPlanFailedDiskHeldTheOnlyESP(t *testing.T) {
	const failedGUID = "7a4006c6-5042-4cf5-b2e5-f5a86e21c793"
	vanished := func(f *bootloader.Facts) { f.Disks = f.Disks[:1] }
	for name, tc := range map[string]struct {
		edit    func(*bootloader.Facts) // on uefiFacts with the survivor's ESP removed
		inv     *inventory.ESP          // the inventory's record of the failed disk's ESP
		kind    bootloader.Kind
		want    []string // in the bootloader step's reason
		notes   []string
		notWant []string
	}{
		"attached failed disk: discovery's facts": {
			kind: bootloader.UEFIESPFromFailed,
			// The inventory's stale record loses against discovery.
			inv: &inventory.ESP{Number: 1, Type: bootloader.ESPTypeGUID, SizeBytes: 32 << 20, FATBits: 16, Label: "OLD", VolumeID: "1111-2222"},
			want: []string{"vdb (" + plantest.Old + ")", "as discovery read it",
				"sgdisk --new=0:0:+65536K --typecode=0:ef00 --partition-guid=0:" + failedGUID,
				"mkfs.vfat -F 32 -n ESP -i EEA3787A /dev/<new ESP>",
				"--target=x86_64-efi --efi-directory=/boot/efi --bootloader-id=<distribution id> --no-nvram",
				"--removable", "docs/runbook.md section 8",
				"WARNING: the survivor vda (" + plantest.Survivor + ") has no ESP and cannot boot alone by UEFI"},
			notes:   []string{"the survivor vda (" + plantest.Survivor + ") has no ESP and cannot boot alone by UEFI", "needs 64 MiB"},
			notWant: []string{"-n OLD", "1111-2222", "+32768K"},
		},
		"vanished failed disk: the inventory's facts": {
			edit: vanished, kind: bootloader.UEFIESPFromFailed,
			inv: &inventory.ESP{Number: 1, Type: bootloader.ESPTypeGUID, SizeBytes: 512 << 20, FATBits: 16, Label: "EFI", VolumeID: "1A2B-3C4D"},
			want: []string{"as the inventory last saw it", "vdb1", "512 MiB, FAT16",
				"sgdisk --new=0:0:+524288K --typecode=0:ef00 --partition-guid=0:" + failedGUID,
				"mkfs.vfat -F 16 -n EFI -i 1A2B3C4D /dev/<new ESP>"},
			notes: []string{"needs 512 MiB"},
		},
		"vanished failed disk, FAT type not known": {
			edit: vanished, kind: bootloader.UEFIByHand,
			inv:   &inventory.ESP{Number: 1, Type: bootloader.ESPTypeGUID, SizeBytes: 512 << 20},
			notes: []string{"has no ESP", "not known: its FAT type (12, 16 or 32) of its ESP vdb1", "as the inventory last saw it"},
		},
		"vanished failed disk, its ESP never recorded": {
			edit: vanished, kind: bootloader.UEFIByHand,
			notes: []string{"neither discovery nor the inventory knows an ESP of the failed disk vdb (" + plantest.Old + ")"},
		},
		"a label and volume id that are not FAT's are dropped": {
			kind: bootloader.UEFIESPFromFailed,
			edit: func(f *bootloader.Facts) { f.Disks[1].ESP.FSLabel, f.Disks[1].ESP.FSUUID = "A;rm -rf", "zz" },
			want: []string{"mkfs.vfat -F 32 /dev/<new ESP>", `its label "A;rm -rf" is not a plain FAT label; its volume id "zz" is not one`},
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := uefiFacts()
			f.Disks[0].ESP = nil
			if tc.edit != nil {
				tc.edit(&f)
			}
			sys := plantest.Seed()
			if tc.inv != nil {
				sys.Inventory = &inventory.Inventory{Format: 1, Disks: map[string]inventory.Entry{
					plantest.Old: {Serial: plantest.Old, Name: "vdb", ESPPARTUUID: failedGUID, ESP: tc.inv}}}
			}
			// Decide sees what the plan puts into the facts: the failed disk's ESP.
			want := f
			(&builder{sys: sys, failed: &sys.Disks[indexOfSerial(t, sys.Disks, plantest.Old)]}).failedBootESP(&want, f.Disks)
			if d, err := bootloader.Decide(want); err != nil || d.Kind != tc.kind {
				t.Fatalf("the test's facts decide %v (%v), not %v", d.Kind, err, tc.kind)
			}
			// Discovery's facts hold no FailedESP: the plan fills it in.
			sys.Host.Boot = f
			req := uefiSeedReq
			req.Firmware = FirmwareUEFI
			p, err := Build(sys, req, testOpts)
			if err != nil {
				t.Fatal(err)
			}
			s, ok := stepNamed(p, "bootloader")
			if !ok {
				t.Fatalf("no bootloader step: %+v", p.Steps)
			}
			for _, w := range tc.want {
				if !strings.Contains(s.Reason, w) {
					t.Errorf("reason lacks %q:\n%s", w, s.Reason)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(s.Reason, w) {
					t.Errorf("reason holds %q:\n%s", w, s.Reason)
				}
			}
			notes := strings.Join(p.Notes, "\n")
			for _, w := range tc.notes {
				if !strings.Contains(notes, w) {
					t.Errorf("notes lack %q:\n%s", w, notes)
				}
			}
			for _, st := range p.Steps {
				if strings.HasPrefix(string(st.Action), "esp-") || strings.HasPrefix(string(st.Action), "efi-") {
					t.Errorf("step %s runs on an ESP raidswap did not make", st.ID)
				}
			}
		})
	}
}

func indexOfSerial(t *testing.T, disks []discover.Disk, serial string) int {
	t.Helper()
	for i, d := range disks {
		if d.Serial == serial {
			return i
		}
	}
	t.Fatalf("no disk %s", serial)
	return -1
}
