package exec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/blockstack"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/stream"
)

// uefiRoot is where the UEFI steps read /proc/self/mounts and /sys/firmware/efi and make
// their private ESP mount directories: the live system (a test points it at a temporary
// tree, where the fake Runner's mount fills the directory).
var uefiRoot = host.NewRoot("/")

// doUEFI performs one UEFI step. Each one re-reads what it acts on right before writing
// (blkid for the partition's file system and PARTUUID, efibootmgr -v for the entries), so a
// step found done does nothing: a resumed run repeats none of their writes.
func (r *run) doUEFI(ctx context.Context, s plan.Step, argv []string) error {
	u := s.Target.UEFI
	if u == nil {
		return &RefusedError{Step: s.ID, Reason: "the step has no UEFI operands"}
	}
	switch s.Action {
	case plan.ActionESPFallback:
		return r.espFallback(ctx, s, u)
	case plan.ActionESPFormat:
		return r.espFormat(ctx, s, u, argv)
	case plan.ActionESPSync:
		return r.espSync(ctx, s, u)
	case plan.ActionESPInstall:
		return r.espInstall(ctx, s, u, argv)
	case plan.ActionEFIEntry:
		return r.efiEntry(ctx, s, u, argv)
	case plan.ActionEFIBootOrder:
		return r.efiBootOrder(ctx, s, u)
	case plan.ActionVerifyUEFI:
		return r.verifyUEFI(ctx, s, u)
	}
	return fmt.Errorf("unreachable: %q is not a UEFI action", s.Action)
}

// mountESP mounts an ESP privately for a step (read-only when ro); a mount that fails
// refuses the step, naming the ESP's device and serial. The caller defers r.unmount(release).
func (r *run) mountESP(ctx context.Context, s plan.Step, e bootloader.ESPRef, ro bool) (string, func() error, error) {
	dir, release, err := bootloader.MountESP(ctx, r.o.Runner, uefiRoot, e, ro)
	if err != nil {
		return "", nil, &RefusedError{Step: s.ID, Device: e.Dev, Serial: e.Serial, Reason: err.Error()}
	}
	return dir, release, nil
}

// unmount releases a private ESP mount, saying so when it could not (the next mount of it
// unmounts the leftover first).
func (r *run) unmount(release func() error) {
	if err := release(); err != nil {
		_ = r.emit(stream.Record{Kind: stream.Said, Name: "unmount", Level: stream.Warning, Say: err.Error()})
	}
}

// survivorESP is the survivor's ESP as attached now, found by serial.
func (r *run) survivorESP(s plan.Step, part int) (bootloader.ESPRef, error) {
	sv := r.p.Disks.Survivor
	d := r.w.sys.DiskBySerial(sv.Serial)
	if d == nil || !d.Present {
		return bootloader.ESPRef{}, &RefusedError{Step: s.ID, Device: sv.Device, Serial: sv.Serial, Reason: "the survivor is not attached"}
	}
	name := blockstack.PartitionName(d.Name, part)
	if !slices.Contains(d.Partitions, name) {
		return bootloader.ESPRef{}, &RefusedError{Step: s.ID, Device: "/dev/" + d.Name, Serial: d.Serial, Reason: fmt.Sprintf("the survivor has no partition %d (its ESP)", part)}
	}
	return bootloader.ESPRef{Disk: d.Name, Serial: d.Serial, Dev: "/dev/" + name}, nil
}

// newESP is the new disk's ESP as attached now.
func (r *run) newESP(s plan.Step, part int) (bootloader.ESPRef, *discover.Disk, error) {
	d := r.w.newDisk()
	if d == nil {
		return bootloader.ESPRef{}, nil, &RefusedError{Step: s.ID, Device: plan.NewDiskToken, Serial: r.w.newSerial, Reason: "the new disk is not attached"}
	}
	name := blockstack.PartitionName(d.Name, part)
	if !slices.Contains(d.Partitions, name) {
		return bootloader.ESPRef{}, nil, &RefusedError{Step: s.ID, Device: "/dev/" + d.Name, Serial: d.Serial, Reason: fmt.Sprintf("the new disk has no partition %d for its ESP", part)}
	}
	return bootloader.ESPRef{Disk: d.Name, Serial: d.Serial, Dev: "/dev/" + name}, d, nil
}

// probe reads the partition's file system and partition entry; a partition that is not an
// ESP by its type is refused.
func (r *run) probe(ctx context.Context, s plan.Step, e bootloader.ESPRef) (bootloader.ESPFS, error) {
	fs, err := bootloader.ProbeESP(ctx, r.o.Runner, e.Dev)
	if err != nil && !errors.Is(err, bootloader.ErrNoFS) {
		return fs, &RefusedError{Step: s.ID, Device: e.Dev, Serial: e.Serial, Reason: "blkid could not read it: " + err.Error()}
	}
	if fs.PartType != "" && fs.PartType != bootloader.ESPTypeGUID && fs.PartType != bootloader.ESPTypeMBR {
		return fs, &RefusedError{Step: s.ID, Device: e.Dev, Serial: e.Serial, Reason: fmt.Sprintf("it is not an EFI System Partition (partition type %s)", fs.PartType)}
	}
	return fs, nil
}

// ours says whether fs is the file system esp-mkfs makes from u (after a resume).
func ours(fs bootloader.ESPFS, u *plan.UEFITarget) bool {
	return fs.Type == "vfat" && u.VolumeID != "" && strings.EqualFold(fs.UUID, u.VolumeID) && fs.Label == u.Label
}

func (r *run) espFallback(ctx context.Context, s plan.Step, u *plan.UEFITarget) error {
	e, err := r.survivorESP(s, u.Part)
	if err != nil {
		return err
	}
	if e.Dev != "/dev/"+s.Target.Device && s.Target.Device != "" {
		// The survivor's name moved: its ESP is found by serial, and said so.
		r.say(fmt.Sprintf("the survivor's ESP is now %s (the plan named %s)", e.Dev, s.Target.Device))
	}
	if _, err := r.probe(ctx, s, e); err != nil {
		return err
	}
	if u.MDArray != "" {
		// An ESP on md is written through the array: md copies it to every member.
		e.Dev = "/dev/" + u.MDArray
	}
	dir, release, err := r.mountESP(ctx, s, e, false)
	if err != nil {
		return err
	}
	defer r.unmount(release)
	res, err := bootloader.EnsureFallback(dir, u.Loader, u.Shim, r.w.sys.Host.Profile.EFIFiles())
	if err != nil {
		return fmt.Errorf("the fallback path on the survivor's ESP %s (%s): %w", e.Dev, e.Serial, err)
	}
	if res.Present {
		r.say(fmt.Sprintf("%s already has %s: nothing written", e.Dev, bootloader.FallbackPath))
		return nil
	}
	r.say(fmt.Sprintf("wrote %s on the survivor's ESP %s", strings.Join(res.Wrote, ", "), e.Dev))
	return r.note(s, map[string]string{"esp": e.Dev, "wrote": strings.Join(res.Wrote, ",")})
}

func (r *run) espFormat(ctx context.Context, s plan.Step, u *plan.UEFITarget, argv []string) error {
	e, _, err := r.newESP(s, u.Part)
	if err != nil {
		return err
	}
	fs, err := r.probe(ctx, s, e)
	if err != nil {
		return err
	}
	switch {
	case ours(fs, u):
		r.say(fmt.Sprintf("%s already holds the ESP file system raidswap made (volume id %s): not made again", e.Dev, fs.UUID))
		return nil
	case fs.Type != "" && !r.p.Disks.New.Wipe:
		return &RefusedError{Step: s.ID, Device: e.Dev, Serial: e.Serial,
			Reason: fmt.Sprintf("it holds a %s file system (label %q, id %s) that raidswap did not make: build the plan with --wipe to allow erasing it", fs.Type, fs.Label, fs.UUID)}
	}
	if _, err := r.output(ctx, s, argv); err != nil {
		return err
	}
	fs, err = r.probe(ctx, s, e)
	if err != nil {
		return err
	}
	if fs.Type != "vfat" || fs.FATBits() != u.FATBits {
		return fmt.Errorf("after mkfs, %s holds %q %s, not FAT%d", e.Dev, fs.Type, fs.Version, u.FATBits)
	}
	return r.note(s, map[string]string{"esp": e.Dev, "volume_id": fs.UUID})
}

// madeESP is the new disk's ESP as the esp-mkfs step left it, right before a step writes
// into it: not the survivor's, in no array, not mounted, not swap, holding the FAT file
// system esp-mkfs made (its volume id).
func (r *run) madeESP(ctx context.Context, s plan.Step, u *plan.UEFITarget) (bootloader.ESPRef, error) {
	dst, nd, err := r.newESP(s, u.Part)
	if err != nil {
		return dst, err
	}
	if nd.Serial == r.p.Disks.Survivor.Serial {
		return dst, &RefusedError{Step: s.ID, Device: dst.Dev, Serial: nd.Serial, Reason: "it is the survivor"}
	}
	if why := partitionInUse(r.w.sys, nd, strings.TrimPrefix(dst.Dev, "/dev/")); why != "" {
		return dst, &RefusedError{Step: s.ID, Device: dst.Dev, Serial: nd.Serial, Reason: why}
	}
	fs, err := r.probe(ctx, s, dst)
	if err != nil {
		return dst, err
	}
	if fs.Type != "vfat" || (u.VolumeID != "" && !strings.EqualFold(fs.UUID, u.VolumeID)) {
		return dst, &RefusedError{Step: s.ID, Device: dst.Dev, Serial: nd.Serial,
			Reason: fmt.Sprintf("it does not hold the FAT file system the esp-mkfs step made (found %q, id %q)", fs.Type, fs.UUID)}
	}
	return dst, nil
}

func (r *run) espSync(ctx context.Context, s plan.Step, u *plan.UEFITarget) error {
	dst, err := r.madeESP(ctx, s, u)
	if err != nil {
		return err
	}
	src, err := r.survivorESP(s, u.Part)
	if err != nil {
		return err
	}
	from, releaseFrom, err := r.mountESP(ctx, s, src, true)
	if err != nil {
		return err
	}
	defer r.unmount(releaseFrom)
	to, releaseTo, err := r.mountESP(ctx, s, dst, false)
	if err != nil {
		return err
	}
	defer r.unmount(releaseTo)
	res, err := bootloader.SyncTree(from, to)
	if err != nil {
		var full *bootloader.FullError
		if errors.As(err, &full) {
			return &RefusedError{Step: s.ID, Device: dst.Dev, Serial: dst.Serial, Reason: err.Error()}
		}
		return fmt.Errorf("copying %s (%s) to %s (%s): %w", src.Dev, src.Serial, dst.Dev, dst.Serial, err)
	}
	if res.AlreadyInSync {
		r.say(fmt.Sprintf("%s already holds the survivor's ESP tree: nothing copied", dst.Dev))
		return nil
	}
	r.say(fmt.Sprintf("copied %d files (%d bytes) from %s to %s, each verified by SHA-256", res.Files, res.Bytes, src.Dev, dst.Dev))
	return r.note(s, map[string]string{"from": src.Dev, "to": dst.Dev, "files": fmt.Sprint(res.Files), "bytes": fmt.Sprint(res.Bytes)})
}

// espInstall installs GRUB into the new disk's ESP with the distribution's grub-install
// (argv, its --efi-directory the private mount), then the fallback path beside it. The ESP
// must hold the file system esp-mkfs made; a resumed step whose ESP already holds the loader
// and the fallback path runs nothing.
func (r *run) espInstall(ctx context.Context, s plan.Step, u *plan.UEFITarget, argv []string) error {
	dst, err := r.madeESP(ctx, s, u)
	if err != nil {
		return err
	}
	dir, release, err := r.mountESP(ctx, s, dst, false)
	if err != nil {
		return err
	}
	defer r.unmount(release)
	names := r.w.sys.Host.Profile.EFIFiles()
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(u.Loader))); err != nil {
		argv = slices.Clone(argv)
		for i, a := range argv {
			argv[i] = strings.ReplaceAll(a, bootloader.ESPDirToken, dir)
		}
		if _, err := r.output(ctx, s, argv); err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(u.Loader))); err != nil {
			return fmt.Errorf("after grub-install, the new ESP %s (%s) has no %s", dst.Dev, dst.Serial, u.Loader)
		}
		r.say(fmt.Sprintf("installed GRUB into the new ESP %s (%s): %s", dst.Dev, dst.Serial, u.Loader))
	} else {
		r.say(fmt.Sprintf("%s already holds %s: grub-install not run again", dst.Dev, u.Loader))
	}
	res, err := bootloader.EnsureFallback(dir, u.Loader, u.Shim, names)
	if err != nil {
		return fmt.Errorf("the fallback path on the new ESP %s (%s): %w", dst.Dev, dst.Serial, err)
	}
	if !res.Present {
		r.say(fmt.Sprintf("wrote %s on the new ESP %s", strings.Join(res.Wrote, ", "), dst.Dev))
	}
	return r.note(s, map[string]string{"esp": dst.Dev, "loader": u.Loader, "wrote": strings.Join(res.Wrote, ",")})
}

// efiVars reads the boot manager's variables, refusing (with the fix) when efivarfs is not
// there or read-only: never a silent skip.
func (r *run) efiVars(ctx context.Context, s plan.Step, write bool) (bootloader.BootVars, error) {
	mounts, _ := uefiRoot.ReadFile("/proc/self/mounts")
	if p := bootloader.EFIVarsProblem(uefiRoot.Exists("/sys/firmware/efi"), mounts); p != "" && (write || !strings.Contains(p, "read-only")) {
		return bootloader.BootVars{}, &RefusedError{Step: s.ID, Reason: p}
	}
	res, err := r.output(ctx, s, bootloader.ListArgv())
	if err != nil {
		return bootloader.BootVars{}, err
	}
	v, err := bootloader.ParseBootVars(res.Stdout)
	if err != nil {
		return v, fmt.Errorf("reading efibootmgr -v: %w", err)
	}
	return v, nil
}

// entryESP is the ESP an efi-boot-entry step names, with its PARTUUID read now.
func (r *run) entryESP(ctx context.Context, s plan.Step, u *plan.UEFITarget) (bootloader.ESPRef, error) {
	var e bootloader.ESPRef
	var err error
	if _, ok := plan.ParsePlaceholder(s.Target.Device); ok {
		e, _, err = r.newESP(s, u.Part)
	} else {
		e, err = r.survivorESP(s, u.Part)
	}
	if err != nil {
		return e, err
	}
	fs, err := r.probe(ctx, s, e)
	if err != nil {
		return e, err
	}
	if fs.PARTUUID == "" {
		return e, &RefusedError{Step: s.ID, Device: e.Dev, Serial: e.Serial, Reason: "blkid shows no PARTUUID for it"}
	}
	if u.PARTUUID != "" && fs.PARTUUID != strings.ToLower(u.PARTUUID) {
		return e, &RefusedError{Step: s.ID, Device: e.Dev, Serial: e.Serial,
			Reason: fmt.Sprintf("its PARTUUID is %s, the plan was built for %s: build a new plan", fs.PARTUUID, u.PARTUUID)}
	}
	e.PARTUUID = fs.PARTUUID
	return e, nil
}

func (r *run) efiEntry(ctx context.Context, s plan.Step, u *plan.UEFITarget, argv []string) error {
	e, err := r.entryESP(ctx, s, u)
	if err != nil {
		return err
	}
	v, err := r.efiVars(ctx, s, true)
	if err != nil {
		return err
	}
	loader := bootloader.LoaderPathEFI(u.Loader)
	if en := v.EntryFor(e.PARTUUID, loader); en != nil {
		r.say(fmt.Sprintf("Boot%s %q already boots %s from %s: no entry made", en.Num, en.Label, loader, e.Dev))
		return r.note(s, map[string]string{"entry": en.Num, "partuuid": e.PARTUUID})
	}
	argv = slices.Clone(argv)
	for i, a := range argv {
		if a == plan.NewEntryLabelToken {
			argv[i] = bootloader.EntryLabel(e.Serial)
		}
	}
	if _, err := r.output(ctx, s, argv); err != nil {
		return err
	}
	v, err = r.efiVars(ctx, s, false)
	if err != nil {
		return err
	}
	en := v.EntryFor(e.PARTUUID, loader)
	if en == nil {
		return fmt.Errorf("after efibootmgr --create no boot entry boots %s from %s (PARTUUID %s)", loader, e.Dev, e.PARTUUID)
	}
	r.say(fmt.Sprintf("Boot%s %q boots %s from %s (%s)", en.Num, en.Label, loader, e.Dev, e.Serial))
	return r.note(s, map[string]string{"entry": en.Num, "partuuid": e.PARTUUID, "label": en.Label})
}

func (r *run) efiBootOrder(ctx context.Context, s plan.Step, u *plan.UEFITarget) error {
	var surv bootloader.ESPRef
	if !u.OnlyNew {
		var err error
		if surv, err = r.entryESP(ctx, plan.Step{ID: s.ID, Target: plan.Target{Device: r.p.Disks.Survivor.Device}}, u); err != nil {
			return err
		}
	}
	nw, err := r.entryESP(ctx, plan.Step{ID: s.ID, Target: plan.Target{Device: plan.NewDiskToken}}, &plan.UEFITarget{Part: u.Part})
	if err != nil {
		return err
	}
	v, err := r.efiVars(ctx, s, true)
	if err != nil {
		return err
	}
	loader := bootloader.LoaderPathEFI(u.Loader)
	se, ne := v.EntryFor(surv.PARTUUID, loader), v.EntryFor(nw.PARTUUID, loader)
	if u.OnlyNew {
		// The survivor has no ESP, so no entry: the new disk's alone takes the failed one's place.
		se = &bootloader.BootEntry{}
	}
	if se == nil || ne == nil {
		return fmt.Errorf("a boot entry is missing (survivor %s: %v, new disk %s: %v): the efi-boot-entry steps should have made them", surv.Dev, se != nil, nw.Dev, ne != nil)
	}
	var failedIDs []string
	if u.FailedPARTUUID != "" && u.FailedPARTUUID != surv.PARTUUID && u.FailedPARTUUID != nw.PARTUUID {
		failedIDs = append(failedIDs, u.FailedPARTUUID)
	}
	failed := v.FailedEntries(failedIDs, u.Failed, se.Num, ne.Num)
	var removed []string
	for _, e := range failed {
		removed = append(removed, e.Num)
	}
	// BootOrder first, then the deletions: a resumed step finds the order it set and the
	// entries it has still to delete.
	order := v.ReplaceOrder(se.Num, ne.Num, removed)
	if !slices.Equal(order, v.Order) {
		if _, err := r.output(ctx, s, bootloader.BootOrderArgv(order)); err != nil {
			return err
		}
	}
	for _, e := range failed {
		if _, err := r.output(ctx, s, bootloader.DeleteEntryArgv(e.Num)); err != nil {
			return err
		}
		why := fmt.Sprintf("raidswap's entry for the failed disk %s", u.Failed)
		if e.PARTUUID != "" && strings.EqualFold(e.PARTUUID, u.FailedPARTUUID) {
			why = fmt.Sprintf("it boots from the failed disk's ESP (PARTUUID %s)", e.PARTUUID)
		}
		r.say(fmt.Sprintf("removed Boot%s %q: %s", e.Num, e.Label, why))
	}
	if u.OnlyNew {
		r.say(fmt.Sprintf("BootOrder %s (was %s; new disk %s; the survivor has no ESP)", strings.Join(order, ","), strings.Join(v.Order, ","), ne.Num))
	} else {
		r.say(fmt.Sprintf("BootOrder %s (was %s; survivor %s, new disk %s)", strings.Join(order, ","), strings.Join(v.Order, ","), se.Num, ne.Num))
	}
	return r.note(s, map[string]string{"old_order": strings.Join(v.Order, ","), "order": strings.Join(order, ","), "removed": strings.Join(removed, ",")})
}

func (r *run) verifyUEFI(ctx context.Context, s plan.Step, u *plan.UEFITarget) error {
	nw, _, err := r.newESP(s, u.Part)
	if err != nil {
		return err
	}
	esps := []bootloader.ESPRef{nw}
	if !u.OnlyNew {
		surv, err := r.survivorESP(s, u.Part)
		if err != nil {
			return err
		}
		esps = []bootloader.ESPRef{surv, nw}
	}
	for i := range esps {
		fs, err := r.probe(ctx, s, esps[i])
		if err != nil {
			return err
		}
		esps[i].PARTUUID = fs.PARTUUID
	}
	if u.MDArray != "" {
		for i := range esps {
			esps[i].Dev = "/dev/" + u.MDArray
		}
	}
	checks := bootloader.VerifyUEFI(ctx, r.o.Runner, uefiRoot, esps, u.Loader)
	var bad []string
	for _, c := range checks {
		r.say(fmt.Sprintf("UEFI %s (%s): %s: %s", c.Disk, c.Serial, c.State, c.Reason))
		if c.State != bootloader.BootOK {
			bad = append(bad, fmt.Sprintf("%s (%s): %s", c.Disk, c.Serial, c.Reason))
		}
		if u.Rescue || c.State != bootloader.BootOK || c.Entry != "" {
			continue
		}
		// With the boot manager's variables readable, each disk needs its entry.
		bad = append(bad, fmt.Sprintf("%s (%s): no boot entry was read: %s", c.Disk, c.Serial, c.Reason))
	}
	if len(bad) > 0 {
		return fmt.Errorf("a disk does not boot alone by UEFI: %s", strings.Join(bad, "; "))
	}
	return nil
}
