package exec

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"unsafe"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/journal"
	"github.com/raidswap/raidswap/internal/plan"
)

// DiskReader reads what the boot steps prove things with: a block device's bytes, past the
// page cache (md writes a member's blocks beneath the member's own cache), its size, and
// where md keeps array data on a member. Options.Disks; nil reads the live system.
type DiskReader interface {
	ReadAt(dev string, off int64, n int) ([]byte, error)
	Size(dev string) (int64, error)
	// MemberData is the byte range of member (vda2) that holds array's data.
	MemberData(array, member string) (off, size int64, err error)
	// Sync flushes every file system and block device, so what md and the file systems hold
	// is on the disks before they are read.
	Sync() error
}

// Confirmer is a View that can ask the operator (a terminal). A manual step asks through
// it; without one (no terminal, --yes) the run stops at the manual step and says what to do.
type Confirmer interface {
	ConfirmTyped(question, want string) error
}

// liveDisks reads the live system's devices under root, each read with O_DIRECT through
// host.Root.OpenDirect and never through the page cache: a cached read of a member shows
// md's pages, not what is on the disk, and would let the survivor proof pass without proving.
type liveDisks struct{ root *host.Root }

// DirectReadError is a survivor proof that could not read a device past the page cache
// (O_DIRECT refused or the read failed): the proof fails loudly instead of reading cached
// pages. Disk and Serial name the survivor the read was for; Device is what was read (the
// disk, one of its md members, or the array explaining a change).
type DirectReadError struct {
	Device, Disk, Serial string
	Err                  error
}

func (e *DirectReadError) Error() string {
	on := ""
	if e.Disk != "" && e.Disk != e.Device {
		on = " for " + e.Disk
	}
	if e.Serial != "" {
		on += " (" + e.Serial + ")"
	}
	return fmt.Sprintf("the survivor proof cannot read %s%s past the page cache (O_DIRECT): %v; a cached read would show md's pages, not the disk, so nothing is proven", e.Device, on, e.Err)
}

func (e *DirectReadError) Unwrap() error { return e.Err }

// nameSurvivor puts the survivor's name and serial into a DirectReadError within err.
func nameSurvivor(err error, d *discover.Disk) error {
	var de *DirectReadError
	if errors.As(err, &de) {
		de.Disk, de.Serial = "/dev/"+d.Name, d.Serial
	}
	return err
}

func (l liveDisks) ReadAt(dev string, off int64, n int) ([]byte, error) {
	const align = 4096
	f, err := l.root.OpenDirect(dev)
	if err != nil {
		return nil, &DirectReadError{Device: dev, Err: err}
	}
	defer f.Close()
	start := off / align * align
	end := (off + int64(n) + align - 1) / align * align
	raw := make([]byte, end-start+align)
	pad := align - int(uintptrOf(raw)%align)
	if pad == align {
		pad = 0
	}
	buf := raw[pad : pad+int(end-start)]
	// The aligned read may run past the device's end (a partition whose size is not a
	// multiple of 4 KiB): what was asked for must have been read.
	if got, err := f.ReadAt(buf, start); err != nil && !(errors.Is(err, io.EOF) && int64(got) >= off-start+int64(n)) {
		return nil, &DirectReadError{Device: dev, Err: err}
	}
	return slices.Clone(buf[off-start : off-start+int64(n)]), nil
}

func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

func (l liveDisks) Size(dev string) (int64, error) {
	var sectors int64
	s, err := l.root.ReadString("/sys/class/block/" + path.Base(dev) + "/size")
	if err != nil {
		return 0, err
	}
	if _, err := fmt.Sscan(s, &sectors); err != nil {
		return 0, fmt.Errorf("/sys/class/block/%s/size: %q", path.Base(dev), s)
	}
	return sectors * 512, nil
}

func (l liveDisks) MemberData(array, member string) (int64, int64, error) {
	var off, kib int64
	s, err := l.root.ReadString("/sys/block/" + array + "/md/dev-" + member + "/offset")
	if err != nil {
		return 0, 0, err
	}
	if _, err := fmt.Sscan(s, &off); err != nil {
		return 0, 0, fmt.Errorf("md offset of %s in %s: %q", member, array, s)
	}
	if s, err = l.root.ReadString("/sys/block/" + array + "/md/component_size"); err != nil {
		return 0, 0, err
	}
	if _, err := fmt.Sscan(s, &kib); err != nil {
		return 0, 0, fmt.Errorf("component_size of %s: %q", array, s)
	}
	return off * 512, kib * 1024, nil
}

func (l liveDisks) Sync() error {
	syscall.Sync()
	return nil
}

func (r *run) disks() DiskReader {
	if r.o.Disks != nil {
		return r.o.Disks
	}
	return liveDisks{root: host.NewRoot(r.w.sys.Root)}
}

// region is a stretch of the survivor that the bootloader step must leave as it was.
type region struct {
	what string // "partition table (MBR bytes 440–511)", "vda2 first MiB"
	dev  string // /dev/vda or /dev/vda2
	off  int64
	data []byte
	// array and dataOff/dataLen: the region lies on a member of array, whose data the
	// member holds at [dataOff, dataOff+dataLen); changes md wrote there through the array
	// are the file system's, not the boot code's.
	array            string
	dataOff, dataLen int64
}

// survivorRegions reads the survivor's partition table (MBR bytes 440–511; with a GPT both
// headers and entry arrays) and the first and last MiB of each of its md members.
func (r *run) survivorRegions(d *discover.Disk) (_ []region, err error) {
	defer func() { err = nameSurvivor(err, d) }()
	dr := r.disks()
	disk := "/dev/" + d.Name
	ss := int64(d.LogicalSectorSize)
	if ss <= 0 {
		ss = 512
	}
	s0, err := dr.ReadAt(disk, 0, 512)
	if err != nil {
		return nil, err
	}
	out := []region{{what: "partition table (MBR bytes 440–511)", dev: disk, off: 440, data: slices.Clone(s0[440:512])}}
	l, err := bootloader.ParseMBR(s0)
	if err != nil {
		return nil, fmt.Errorf("the survivor's partition table: %w", err)
	}
	if l.Kind == "gpt" {
		hdr, err := dr.ReadAt(disk, ss, int(ss))
		if err != nil {
			return nil, err
		}
		if err := bootloader.ParseGPTHeader(hdr, &l); err != nil {
			return nil, err
		}
		n := l.NumEntries * l.EntrySize
		entSectors := (int64(n) + ss - 1) / ss
		for _, g := range []struct {
			what string
			lba  int64
			size int
		}{
			{"GPT header", 1, int(ss)}, {"GPT entries", l.EntriesLBA, n},
			{"backup GPT header", l.BackupLBA, int(ss)}, {"backup GPT entries", l.BackupLBA - entSectors, n},
		} {
			b, err := dr.ReadAt(disk, g.lba*ss, g.size)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", g.what, err)
			}
			out = append(out, region{what: g.what, dev: disk, off: g.lba * ss, data: b})
		}
	}
	const mib = 1 << 20
	for _, m := range d.Members {
		part := "/dev/" + m.Device
		size, err := dr.Size(part)
		if err != nil {
			return nil, fmt.Errorf("size of %s: %w", part, err)
		}
		dataOff, dataLen, err := dr.MemberData(m.Array, m.Device)
		if err != nil {
			return nil, fmt.Errorf("where %s keeps data on %s: %w", m.Array, m.Device, err)
		}
		for _, g := range []struct {
			what string
			off  int64
		}{{"first MiB", 0}, {"last MiB", max(size-mib, 0)}} {
			n := int(min(mib, size))
			b, err := dr.ReadAt(part, g.off, n)
			if err != nil {
				return nil, err
			}
			out = append(out, region{what: m.Device + " (" + m.Array + " member) " + g.what, dev: part, off: g.off, data: b,
				array: m.Array, dataOff: dataOff, dataLen: dataLen})
		}
	}
	return out, nil
}

// SurvivorChangedError is a survivor region that the bootloader step changed: the loud
// failure of the byte-identity proof.
type SurvivorChangedError struct {
	Step, Device, Serial, Region string
	At                           int64
}

func (e *SurvivorChangedError) Error() string {
	return fmt.Sprintf("step %s: THE SURVIVOR %s (%s) CHANGED where boot code must not write: %s differs at byte %d of %s after the bootloader step; stop and inspect the disk before anything else (`raidswap status`, compare with the backup under /var/lib/raidswap/backups)",
		e.Step, e.Device, e.Serial, e.Region, e.At, e.Device)
}

// proveSurvivor reads the regions again and compares them with before. A member region may
// differ only where md itself wrote the array's data (the same bytes read through the array)
// or md's own metadata outside the data area; any other difference is a SurvivorChangedError.
func (r *run) proveSurvivor(s plan.Step, d *discover.Disk, before []region) (_ string, err error) {
	defer func() { err = nameSurvivor(err, d) }()
	dr := r.disks()
	if err := dr.Sync(); err != nil {
		return "", err
	}
	identical, viaMD := 0, 0
	for _, b := range before {
		same, err := compareRegion(dr, b)
		if err != nil {
			var ce *SurvivorChangedError
			if !errors.As(err, &ce) {
				return "", err
			}
			// The array may have moved on between the two reads (a live file system): look
			// once more after another flush.
			if err := dr.Sync(); err != nil {
				return "", err
			}
			if same, err = compareRegion(dr, b); err != nil {
				if errors.As(err, &ce) {
					ce.Step, ce.Device, ce.Serial = s.ID, "/dev/"+d.Name, d.Serial
				}
				return "", err
			}
		}
		if same {
			identical++
		} else {
			viaMD++
		}
	}
	msg := fmt.Sprintf("survivor %s: %d regions (partition table, first and last MiB of each md member) byte-identical after the step", d.Label(), identical)
	if viaMD > 0 {
		msg += fmt.Sprintf("; %d changed only where md wrote its array's data or metadata (the files grub-install put in /boot/grub, md's superblock)", viaMD)
	}
	return msg, nil
}

// compareRegion reads b again: same when byte-identical; otherwise nil when every change is
// md's (see proveSurvivor), else a *SurvivorChangedError naming where.
func compareRegion(dr DiskReader, b region) (same bool, err error) {
	const block = 4096
	after, err := dr.ReadAt(b.dev, b.off, len(b.data))
	if err != nil {
		return false, fmt.Errorf("reading %s again: %w", b.what, err)
	}
	if b.data != nil && bytes.Equal(after, b.data) {
		return true, nil
	}
	changed := func(at int64) error { return &SurvivorChangedError{Region: b.what, At: at} }
	if b.data == nil && b.array == "" {
		return false, changed(b.off)
	}
	for i := 0; i < len(after); i += block {
		j := min(i+block, len(after))
		if b.data != nil && bytes.Equal(after[i:j], b.data[i:j]) {
			continue
		}
		at := b.off + int64(i)
		if b.array == "" && b.data != nil {
			for k := i; k < j; k++ {
				if after[k] != b.data[k] {
					return false, changed(b.off + int64(k))
				}
			}
		}
		if at < b.dataOff || at >= b.dataOff+b.dataLen {
			continue // md's superblock or bitmap: md's own writes
		}
		// The array's view of the same bytes: equal means md wrote them, for the array.
		arr, err := dr.ReadAt("/dev/"+b.array, at-b.dataOff, j-i)
		if err != nil {
			return false, fmt.Errorf("reading /dev/%s to explain a change of %s: %w", b.array, b.what, err)
		}
		if !bytes.Equal(arr, after[i:j]) {
			return false, changed(at)
		}
	}
	return false, nil
}

// firstHashes are the survivor's region hashes the first run of step journalled, or nil.
func (r *run) firstHashes(step string) map[string]string {
	for _, rec := range r.j.Records {
		if rec.Step != step || rec.Event != journal.EventNote {
			continue
		}
		for k := range rec.Data {
			if strings.HasPrefix(k, "survivor_sha256 ") {
				return rec.Data
			}
		}
	}
	return nil
}

func hashRegions(rs []region) map[string]string {
	out := map[string]string{}
	for _, g := range rs {
		out["survivor_sha256 "+g.what] = fmt.Sprintf("%x", sha256.Sum256(g.data))
	}
	return out
}

// bootloaderStep runs a bootloader step's grub-install: /boot's private mount must be in
// place, the survivor's regions are read before and proven unchanged after, and the disk's
// boot code is verified.
func (r *run) bootloaderStep(ctx context.Context, s plan.Step, argv []string) error {
	t := s.Target
	dev, err := r.w.resolveName(t.Device)
	if err != nil {
		return &RefusedError{Step: s.ID, Device: t.Device, Reason: err.Error()}
	}
	d, _ := r.w.owner(dev)
	if d == nil {
		return &RefusedError{Step: s.ID, Device: "/dev/" + dev, Reason: "no attached disk has this name"}
	}
	if t.PrivateBoot {
		dir := bootloader.PrivateBootDir(t.Array)
		if a := r.w.arrayByUUID(t.ArrayUUID); a == nil || !slices.Contains(a.Mountpoints, dir) {
			return &RefusedError{Step: s.ID, Device: "/dev/" + t.Array, Reason: fmt.Sprintf("%s is not mounted at %s (the mount-boot step's mount is gone, e.g. after a reboot): mount it there (mount /dev/%s %s) and resume", t.Array, dir, t.Array, dir)}
		}
	}
	if t.BootDir != "" {
		// /boot's array is mounted elsewhere (a drill's lab): it must still be mounted there.
		if a := r.w.arrayByUUID(t.ArrayUUID); a == nil || !(slices.Contains(a.Mountpoints, t.BootDir) ||
			(path.Base(t.BootDir) == "boot" && slices.Contains(a.Mountpoints, path.Dir(t.BootDir)))) {
			return &RefusedError{Step: s.ID, Device: "/dev/" + t.Array, Reason: fmt.Sprintf("%s is no longer mounted at %s, as it was when the plan was built: mount it again and resume, or build a new plan", t.Array, t.BootDir)}
		}
	}
	if !t.PrivateBoot && t.BootDir == "" && t.Array != "" {
		// The plan found /boot mounted (or on /): grub-install writes into /boot/grub, which
		// must still be the array's, not an empty mount point on another file system.
		if a := r.w.arrayByUUID(t.ArrayUUID); a == nil || !(slices.Contains(a.Mountpoints, "/boot") || slices.Contains(a.Mountpoints, "/")) {
			return &RefusedError{Step: s.ID, Device: "/dev/" + t.Array, Reason: fmt.Sprintf("%s is no longer mounted at /boot (or /), as it was when the plan was built: mount it again and resume, or build a new plan", t.Array)}
		}
	}
	survivor := d.Serial == r.p.Disks.Survivor.Serial
	var before []region
	if survivor {
		if err := r.disks().Sync(); err != nil {
			return err
		}
		if before, err = r.survivorRegions(d); err != nil {
			return &RefusedError{Step: s.ID, Device: "/dev/" + d.Name, Serial: d.Serial, Reason: "cannot read the survivor's regions to prove them unchanged: " + err.Error()}
		}
		if first := r.firstHashes(s.ID); first != nil {
			// An earlier run of this step was interrupted (after its hashes, maybe inside
			// grub-install): the proof holds against what the survivor was before that run.
			// A region that differs from then keeps no "before" bytes: only md's own
			// changes may explain it.
			for i := range before {
				if first["survivor_sha256 "+before[i].what] != fmt.Sprintf("%x", sha256.Sum256(before[i].data)) {
					before[i].data = nil
				}
			}
		} else {
			// The first run of this step: what grub-install overwrites on the survivor is saved
			// first, so the old boot code can be put back (an interrupted run saved it then).
			saved, err := r.saveSurvivorBootCode(d)
			if err != nil {
				return &RefusedError{Step: s.ID, Device: "/dev/" + d.Name, Serial: d.Serial, Reason: "cannot save the survivor's boot code before GRUB overwrites it: " + err.Error()}
			}
			data := hashRegions(before)
			data["bootcode_backup"] = saved
			if err := r.j.Append(journal.Record{Event: journal.EventNote, Step: s.ID, Data: data}); err != nil {
				return err
			}
			r.o.View.Say(fmt.Sprintf("saved the survivor's boot code to %s (%s/README.txt says how to put it back)", saved, saved))
		}
	}
	if err := r.command(ctx, s, argv); err != nil {
		return err
	}
	if survivor {
		msg, err := r.proveSurvivor(s, d, before)
		if err != nil {
			return err
		}
		r.o.View.Say(msg)
	}
	ss := d.LogicalSectorSize
	rd := bootloader.VerifyBIOS(func(off int64, n int) ([]byte, error) { return r.disks().ReadAt("/dev/"+d.Name, off, n) }, ss)
	if rd.State != bootloader.BootOK {
		return fmt.Errorf("after grub-install, %s cannot boot alone: %s", d.Label(), rd.Reason)
	}
	r.o.View.Say(fmt.Sprintf("%s boots alone: %s", d.Label(), rd.Reason))
	return nil
}

// mountBootStep mounts /boot's array at its private directory (a no-op when it is mounted
// there already); unmountBootStep takes it away again.
func (r *run) mountBootStep(ctx context.Context, s plan.Step, argv []string, mount bool) error {
	dir := bootloader.PrivateBootDir(s.Target.Array)
	a := r.w.arrayByUUID(s.Target.ArrayUUID)
	if a == nil || a.Name != s.Target.Array {
		return &RefusedError{Step: s.ID, Device: "/dev/" + s.Target.Array, Reason: "no array " + s.Target.Array + " with UUID " + s.Target.ArrayUUID}
	}
	mounted := slices.Contains(a.Mountpoints, dir)
	switch {
	case mount && mounted, !mount && !mounted:
		r.o.View.Say(fmt.Sprintf("%s %s mounted at %s already", a.Name, map[bool]string{true: "is", false: "is not"}[mounted], dir))
		return nil
	case mount:
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	if err := r.command(ctx, s, argv); err != nil {
		return err
	}
	if !mount {
		if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			r.o.View.Say(fmt.Sprintf("%s stays behind: %v", dir, err))
		}
	}
	return nil
}

// installDeviceName is the /dev/disk/by-id name debconf's grub-pc/install_devices should
// hold for a disk: one that names the disk itself (model and serial), not a partition, not a
// WWN or EUI alias.
func installDeviceName(d *discover.Disk) string {
	var best string
	for _, id := range d.ByID {
		base := path.Base(id)
		if strings.Contains(base, "-part") || strings.HasPrefix(base, "wwn-") || strings.HasPrefix(base, "nvme-eui.") {
			continue
		}
		if best == "" || (d.Serial != "" && strings.Contains(base, d.Serial) && !strings.Contains(path.Base(best), d.Serial)) {
			best = id
		}
	}
	if best != "" && !strings.HasPrefix(best, "/dev/disk/by-id/") {
		best = "/dev/disk/by-id/" + path.Base(best)
	}
	return best
}

// debconfStep sets grub-pc/install_devices to the survivor's and the new disk's by-id names
// (Ubuntu's grub-efi/install_devices, for a step naming the ESP's partition: those of each
// disk's ESP) and reads debconf's database back.
func (r *run) debconfStep(ctx context.Context, s plan.Step, argv []string) error {
	question, owner, suffix := "grub-pc/install_devices", "grub-pc", ""
	if u := s.Target.UEFI; u != nil {
		question, owner, suffix = bootloader.DebconfGrubEFIQuestion, "grub-efi-amd64", fmt.Sprintf("-part%d", u.Part)
	}
	var names []string
	for _, serial := range []string{r.p.Disks.Survivor.Serial, r.w.newSerial} {
		d := r.w.sys.DiskBySerial(serial)
		if d == nil {
			return &RefusedError{Step: s.ID, Serial: serial, Reason: "the disk is not attached"}
		}
		n := installDeviceName(d)
		if n == "" {
			return &RefusedError{Step: s.ID, Device: "/dev/" + d.Name, Serial: d.Serial, Reason: "udev gives it no /dev/disk/by-id name to record in " + question}
		}
		names = append(names, n+suffix)
	}
	want := strings.Join(names, ", ")
	root := host.NewRoot(r.w.sys.Root)
	read := func() ([]string, error) {
		b, err := root.ReadFile("/var/cache/debconf/config.dat")
		if err != nil {
			return nil, err
		}
		if o := bootloader.DebconfOwner(b, question); o != "" && question != "grub-pc/install_devices" {
			owner = o
		}
		v, _ := bootloader.DebconfValue(b, question)
		return v, nil
	}
	if v, err := read(); err == nil && strings.Join(v, ", ") == want {
		r.o.View.Say(question + " is " + want + " already")
		return nil
	}
	if err := os.MkdirAll(path.Dir(plan.DebconfSelectionsFile), 0o700); err != nil {
		return err
	}
	if !safeDebconfWord(owner) {
		owner = "grub-efi-amd64"
	}
	line := owner + " " + question + " multiselect " + want + "\n"
	if err := os.WriteFile(plan.DebconfSelectionsFile, []byte(line), 0o600); err != nil {
		return err
	}
	if err := r.j.Append(journal.Record{Event: journal.EventNote, Step: s.ID, Data: map[string]string{"install_devices": want}}); err != nil {
		return err
	}
	if err := r.command(ctx, s, argv); err != nil {
		return err
	}
	v, err := read()
	if err != nil {
		return fmt.Errorf("reading debconf's database back: %w", err)
	}
	if got := strings.Join(v, ", "); got != want {
		return fmt.Errorf("after debconf-set-selections, %s is %q, not %q", question, got, want)
	}
	r.o.View.Say(question + " is now " + want)
	return nil
}

// safeDebconfWord is a package name fit for a debconf-set-selections line (config.dat is
// read as untrusted input).
func safeDebconfWord(w string) bool {
	if w == "" || len(w) > 64 {
		return false
	}
	for _, c := range w {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.') {
			return false
		}
	}
	return true
}

// bootByHandStep prints the GRUB 0.97 commands for one disk, from device.map or EDD as they
// are now, and waits for the operator to confirm by typing the disk's serial.
func (r *run) bootByHandStep(s plan.Step) error {
	dev, err := r.w.resolveName(s.Target.Device)
	if err != nil {
		return &RefusedError{Step: s.ID, Device: s.Target.Device, Reason: err.Error()}
	}
	d, _ := r.w.owner(dev)
	if d == nil {
		return &RefusedError{Step: s.ID, Device: "/dev/" + dev, Reason: "no attached disk has this name"}
	}
	var facts *bootloader.Disk
	for i := range r.w.sys.Host.Boot.Disks {
		if bd := &r.w.sys.Host.Boot.Disks[i]; bd.Name == d.Name {
			facts = bd
		}
	}
	if facts == nil {
		return &RefusedError{Step: s.ID, Device: "/dev/" + d.Name, Serial: d.Serial, Reason: "discovery read no boot facts of this disk"}
	}
	cmds, err := bootloader.GrubLegacyCommands(*facts)
	if err != nil {
		return &RefusedError{Step: s.ID, Device: "/dev/" + d.Name, Serial: d.Serial, Reason: err.Error()}
	}
	r.o.View.Say(fmt.Sprintf("GRUB 0.97 on %s: %s is %s (from %s). Run `grub` and type:\n    %s\n    quit",
		d.Label(), d.Name, facts.BIOSDrive, facts.BIOSDriveFrom, strings.Join(cmds, "\n    ")))
	c, ok := r.o.View.(Confirmer)
	if !ok {
		return &WaitTimeoutError{Step: s.ID, Waiting: fmt.Sprintf("the operator's confirmation that the GRUB 0.97 commands above ran on %s; run them, then `raidswap resume` on a terminal, which asks for the disk's serial", d.Label())}
	}
	if err := c.ConfirmTyped(fmt.Sprintf("Type %s's serial (%s) once the commands above have run on it: ", d.Name, d.Serial), d.Serial); err != nil {
		return &RefusedError{Step: s.ID, Device: "/dev/" + d.Name, Serial: d.Serial, Reason: "not confirmed: " + err.Error()}
	}
	return nil
}
