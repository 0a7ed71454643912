package exec

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/plan"
)

// Confirmer is a View that can ask the operator (a terminal). A manual step asks through
// it; without one (no terminal, --yes) the run stops at the manual step and says what to do.
type Confirmer interface {
	ConfirmTyped(question, want string) error
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
			if err := r.note(s, data); err != nil {
				return err
			}
			r.say(fmt.Sprintf("saved the survivor's boot code to %s (%s/README.txt says how to put it back)", saved, saved))
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
		r.say(msg)
	}
	disk := "/dev/" + d.Name
	size, err := r.disks().Size(disk)
	if err != nil {
		return fmt.Errorf("after grub-install, whether %s can boot alone: size of %s: %w", d.Label(), disk, err)
	}
	rd := bootloader.VerifyBIOS(func(off int64, n int) ([]byte, error) { return r.disks().ReadAt(disk, off, n) }, size, d.LogicalSectorSize)
	if rd.State != bootloader.BootOK {
		return fmt.Errorf("after grub-install, %s cannot boot alone: %s", d.Label(), rd.Reason)
	}
	r.say(fmt.Sprintf("%s boots alone: %s", d.Label(), rd.Reason))
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
		r.say(fmt.Sprintf("%s %s mounted at %s already", a.Name, map[bool]string{true: "is", false: "is not"}[mounted], dir))
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
			r.say(fmt.Sprintf("%s stays behind: %v", dir, err))
		}
	}
	return nil
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
	r.say(fmt.Sprintf("GRUB 0.97 on %s: %s is %s (from %s). Run `grub` and type:\n    %s\n    quit",
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
