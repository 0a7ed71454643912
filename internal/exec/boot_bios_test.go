package exec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host/hosttest"
	"github.com/raidswap/raidswap/internal/plan/plantest"
	"github.com/raidswap/raidswap/internal/testdisk"
)

// fakeDisks are in-memory devices for the boot steps' proofs: every whole disk vdX a GPT
// with a BIOS boot partition 1 at LBA 2048 and GRUB 2's boot.img and core.img installed (the
// byte layout of GRUB's boot.S and diskboot.S), every partition and array 2 MiB of zeros with
// md's data at [0, 1.5 MiB) of a member.
type fakeDisks struct {
	mu   sync.Mutex
	devs map[string][]byte
}

func newFakeDisks() *fakeDisks { return &fakeDisks{devs: map[string][]byte{}} }

func grubDisk() []byte {
	img := make([]byte, 4<<20)
	s0 := img[:512]
	copy(s0, []byte{0xeb, 0x63, 0x90})
	binary.LittleEndian.PutUint64(s0[0x5c:], 2048)
	copy(s0[0x180:], "GRUB \x00Geom\x00Hard Disk\x00Read\x00 Error")
	s0[446+4] = 0xee
	binary.LittleEndian.PutUint32(s0[446+8:], 1)
	binary.LittleEndian.PutUint32(s0[446+12:], uint32(len(img)/512-1))
	s0[510], s0[511] = 0x55, 0xaa
	h := img[512:1024]
	copy(h, "EFI PART")
	binary.LittleEndian.PutUint64(h[32:], uint64(len(img)/512-1))
	binary.LittleEndian.PutUint64(h[72:], 2)
	binary.LittleEndian.PutUint32(h[80:], 128)
	binary.LittleEndian.PutUint32(h[84:], 128)
	e := img[1024:]
	// 21686148-6449-6e6f-744e-656564454649, the BIOS boot partition type, as stored.
	copy(e, []byte{0x48, 0x61, 0x68, 0x21, 0x49, 0x64, 0x6f, 0x6e, 0x74, 0x4e, 0x65, 0x65, 0x64, 0x45, 0x46, 0x49})
	e[16] = 1
	binary.LittleEndian.PutUint64(e[32:], 2048)
	binary.LittleEndian.PutUint64(e[40:], 4095)
	testdisk.SealGPT(img, 512)
	core := img[2048*512:]
	copy(core[0x11b:], "loading\x00")
	core[0x1fe], core[0x1ff] = 0x20, 0x08
	return img
}

func (f *fakeDisks) dev(name string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.devs[name]; ok {
		return b
	}
	base := filepath.Base(name)
	var b []byte
	if len(base) == 3 && strings.HasPrefix(base, "vd") {
		b = grubDisk()
	} else {
		b = make([]byte, 2<<20)
	}
	f.devs[name] = b
	return b
}

func (f *fakeDisks) ReadAt(dev string, off int64, n int) ([]byte, error) {
	b := f.dev(dev)
	if off < 0 || off+int64(n) > int64(len(b)) {
		return nil, fmt.Errorf("%s: read past the end", dev)
	}
	return append([]byte(nil), b[off:off+int64(n)]...), nil
}

func (f *fakeDisks) Size(dev string) (int64, error) { return int64(len(f.dev(dev))), nil }

func (f *fakeDisks) MemberData(array, member string) (int64, int64, error) {
	return 0, 3 << 19, nil
}

func (f *fakeDisks) Sync() error { return nil }

// TestSurvivorProof: the bootloader step on the survivor fails loudly, naming the disk and
// serial, when grub-install changes its partition table or an md member behind md's back;
// a change md wrote through the array (the same bytes seen through /dev/md0) passes.
func TestSurvivorProof(t *testing.T) {
	for _, tt := range []struct {
		name  string
		write func(d *fakeDisks)
		want  string
	}{
		{"untouched", func(d *fakeDisks) {}, ""},
		{"partition table", func(d *fakeDisks) { d.dev("/dev/vda")[450] ^= 1 }, "partition table (MBR bytes 440–511) differs at byte 450"},
		{"backup GPT", func(d *fakeDisks) { b := d.dev("/dev/vda"); b[len(b)-512] ^= 1 }, "backup GPT header"},
		{"member behind md's back", func(d *fakeDisks) { d.dev("/dev/vda2")[8192] = 7 }, "vda2 (md0 member) first MiB differs at byte 8192"},
		{"member through md", func(d *fakeDisks) { d.dev("/dev/vda2")[8192] = 7; d.dev("/dev/md0")[8192] = 7 }, ""},
		{"md's superblock at the member's end", func(d *fakeDisks) { b := d.dev("/dev/vda2"); b[len(b)-100] = 9 }, ""},
		{"boot code and core.img", func(d *fakeDisks) { d.dev("/dev/vda")[0x70] ^= 1; d.dev("/dev/vda")[2048*512+5] ^= 1 }, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := seedWorld()
			p := build(t, w.Sys(), seedReq())
			disks := newFakeDisks()
			ex := seedExpect(w)
			ex[8].Do = func() { tt.write(disks) }
			if tt.want != "" {
				ex = ex[:9] // the run stops at the survivor's step
			}
			r := hosttest.NewFakeRunner(t, ex...)
			o := options(t, w, r, t.TempDir())
			o.Disks = disks
			_, err := Apply(t.Context(), p, o)
			var ce *SurvivorChangedError
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("apply: %v", err)
			case tt.want != "" && (!errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "/dev/vda (WD-SURV)")):
				t.Fatalf("apply: %v, want a SurvivorChangedError with %q", err, tt.want)
			}
		})
	}
}

// TestBootloaderVerifies: a grub-install that leaves the new disk without core.img fails the
// step.
func TestBootloaderVerifies(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	disks := newFakeDisks()
	disks.devs["/dev/vdb"] = make([]byte, 4<<20)
	r := hosttest.NewFakeRunner(t, seedExpect(w)[:10]...)
	o := options(t, w, r, t.TempDir())
	o.Disks = disks
	_, err := Apply(t.Context(), p, o)
	if err == nil || !strings.Contains(err.Error(), "vdb (WD-NEW) cannot boot alone: no boot code in the MBR") {
		t.Fatalf("apply: %v", err)
	}
}

type confirmView struct {
	nopView
	said  []string
	asked []string
}

func (v *confirmView) Say(s string) { v.said = append(v.said, s) }
func (v *confirmView) ConfirmTyped(q, want string) error {
	v.asked = append(v.asked, want)
	return nil
}

type sayView struct {
	nopView
	said []string
}

func (v *sayView) Say(s string) { v.said = append(v.said, s) }

// TestGrubLegacyByHand: GRUB 0.97 runs nothing; each disk's grub commands are printed and the
// operator confirms with the disk's serial; without a terminal the run stops there, resumable.
func TestGrubLegacyByHand(t *testing.T) {
	legacy := func() *plantest.World {
		w := seedWorld()
		sys := w.Sys()
		f := &sys.Host.Boot
		f.Loader, f.LoaderFrom = bootloader.LoaderGrubLegacy, "/boot/grub holds GRUB 0.97's stage1 and grub.conf"
		for i := range f.Disks {
			f.Disks[i].Label, f.Disks[i].BIOSBoot, f.Disks[i].MBRCode = "dos", nil, bootloader.MBRGrubLegacy
			f.Disks[i].BIOSDrive, f.Disks[i].BIOSDriveFrom = fmt.Sprintf("hd%d", i), "/boot/grub/device.map"
		}
		nw := plantest.NewWorld(sys)
		nw.When(func(s *discover.System) bool {
			d := s.DiskBySerial(plantest.Old)
			return d != nil && len(d.Members) == 0
		},
			func(w *plantest.World) { w.Pull(plantest.Old) })
		nw.When(func(s *discover.System) bool { return s.DiskBySerial(plantest.Old) == nil },
			func(w *plantest.World) { w.Insert(plantest.BlankDisk("vdb", plantest.New)) })
		return nw
	}
	t.Run("confirmed", func(t *testing.T) {
		w := legacy()
		p := build(t, w.Sys(), seedReq())
		r := hosttest.NewFakeRunner(t, seedExpect(w)[:8]...)
		o := options(t, w, r, t.TempDir())
		v := &confirmView{}
		o.View = v
		if _, err := Apply(t.Context(), p, o); err != nil {
			t.Fatal(err)
		}
		said := strings.Join(v.said, "\n")
		for _, want := range []string{"vda is hd0 (from /boot/grub/device.map)", "root (hd0,1)\n    setup (hd0)", "vdb is hd1", "root (hd1,1)\n    setup (hd1)"} {
			if !strings.Contains(said, want) {
				t.Errorf("said %q, want %q", said, want)
			}
		}
		if strings.Join(v.asked, " ") != plantest.Survivor+" "+plantest.New {
			t.Errorf("asked for %q", v.asked)
		}
	})
	t.Run("no terminal", func(t *testing.T) {
		w := legacy()
		p := build(t, w.Sys(), seedReq())
		r := hosttest.NewFakeRunner(t, seedExpect(w)[:8]...)
		o := options(t, w, r, t.TempDir())
		o.View = &sayView{}
		_, err := Apply(t.Context(), p, o)
		var wt *WaitTimeoutError
		if !errors.As(err, &wt) || !strings.Contains(err.Error(), "run them, then `raidswap resume` on a terminal") {
			t.Fatalf("apply: %v", err)
		}
	})
}

// TestSurvivorProofAcrossResume: a survivor changed by a bootloader step stays refused when
// the run is resumed: the proof holds against the hashes the first run journalled, not
// against the survivor as the resumed run finds it.
func TestSurvivorProofAcrossResume(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	disks := newFakeDisks()
	dir := t.TempDir()
	ex := seedExpect(w)[:9]
	ex[8].Do = func() { disks.dev("/dev/vda")[1024+40] ^= 1 } // the GPT's first entry
	o := options(t, w, hosttest.NewFakeRunner(t, ex...), dir)
	o.Disks = disks
	var ce *SurvivorChangedError
	if _, err := Apply(t.Context(), p, o); !errors.As(err, &ce) || ce.Region != "GPT entries" {
		t.Fatalf("first run: %v", err)
	}
	o.Runner = hosttest.NewFakeRunner(t, hosttest.Expect{Argv: seedExpect(w)[8].Argv})
	if _, err := Apply(t.Context(), p, o); !errors.As(err, &ce) || ce.Region != "GPT entries" || !strings.Contains(err.Error(), "WD-SURV") {
		t.Fatalf("resumed run: %v", err)
	}
	// The boot code was saved once, by the first run: the rerun's survivor may hold GRUB's
	// half-written code, which is no backup.
	if saved, _ := filepath.Glob(filepath.Join(dir, "backups", "WD-SURV-bootcode-*")); len(saved) != 1 {
		t.Errorf("boot code saved %d times: %v", len(saved), saved)
	}
}

// TestBootloaderRefusesUnmountedBoot: a plan built with /boot mounted refuses its bootloader
// step when /boot's array is no longer mounted (grub-install would write into the empty
// mount point on the root file system).
func TestBootloaderRefusesUnmountedBoot(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	sys := w.Sys()
	sys.Array("md0").Mountpoints = nil
	w2 := plantest.NewWorld(sys)
	w2.When(func(s *discover.System) bool {
		d := s.DiskBySerial(plantest.Old)
		return d != nil && len(d.Members) == 0
	},
		func(w *plantest.World) { w.Pull(plantest.Old) })
	w2.When(func(s *discover.System) bool { return s.DiskBySerial(plantest.Old) == nil },
		func(w *plantest.World) { w.Insert(plantest.BlankDisk("vdb", plantest.New)) })
	o := options(t, w2, hosttest.NewFakeRunner(t, seedExpect(w2)[:8]...), t.TempDir())
	_, err := Apply(t.Context(), p, o)
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "md0 is no longer mounted at /boot") {
		t.Fatalf("apply: %v", err)
	}
}

// TestBootloaderSavesSurvivorBootCode: before GRUB is reinstalled on the survivor, what it
// overwrites (sector 0 and the BIOS boot partition) is saved, read from the disk, beside the
// journal, with a README saying how to write it back; an interrupted step's rerun does not
// save again (the first copy is the old boot code); a save that fails refuses the step
// before grub-install runs (issue 20, item 6).
func TestBootloaderSavesSurvivorBootCode(t *testing.T) {
	w := seedWorld()
	p := build(t, w.Sys(), seedReq())
	disks := newFakeDisks()
	disks.dev("/dev/vda1")[7] = 0x5a // core.img's bytes in the BIOS boot partition
	dir := t.TempDir()
	o := options(t, w, hosttest.NewFakeRunner(t, seedExpect(w)...), dir)
	o.Disks = disks
	if _, err := Apply(t.Context(), p, o); err != nil {
		t.Fatal(err)
	}
	saved, _ := filepath.Glob(filepath.Join(dir, "backups", "WD-SURV-bootcode-*"))
	if len(saved) != 1 {
		t.Fatalf("saved %v", saved)
	}
	mbr, _ := os.ReadFile(filepath.Join(saved[0], "mbr.bin"))
	core, _ := os.ReadFile(filepath.Join(saved[0], "bios-boot.bin"))
	readme, _ := os.ReadFile(filepath.Join(saved[0], "README.txt"))
	if !bytes.Equal(mbr, disks.dev("/dev/vda")[:512]) || len(core) != 1<<20 || core[7] != 0x5a {
		t.Errorf("mbr.bin %d bytes, bios-boot.bin %d bytes (byte 7: %#x)", len(mbr), len(core), core[7])
	}
	for _, want := range []string{"dd if=mbr.bin of=/dev/vda bs=440 count=1", "dd if=bios-boot.bin of=/dev/vda1", "serial WD-SURV"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.txt lacks %q:\n%s", want, readme)
		}
	}

	t.Run("a save that fails refuses the step", func(t *testing.T) {
		w := seedWorld()
		p := build(t, w.Sys(), seedReq())
		dir := t.TempDir()
		o := options(t, w, hosttest.NewFakeRunner(t, seedExpect(w)[:8]...), dir)
		o.Paths.Backups = filepath.Join(dir, "a-file")
		os.WriteFile(o.Paths.Backups, nil, 0o600)
		var re *RefusedError
		if _, err := Apply(t.Context(), p, o); !errors.As(err, &re) || !strings.Contains(err.Error(), "cannot save the survivor's boot code") || re.Serial != "WD-SURV" {
			t.Fatalf("apply: %v", err)
		}
	})
}
