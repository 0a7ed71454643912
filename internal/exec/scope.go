package exec

import (
	"fmt"
	"path"
	"strings"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/mdadm"
)

// checkScope confines a drill's run (Options.Scope) to its lab: every device the step
// writes or names, and every member of every array it names (in its target or its
// conditions), must lie on a drill disk of the lab, judged right before the step from the
// live kernel (the loop's backing file and the inode behind it, identify.ProveDrillDisk),
// never from discovery's filtered view, the plan or any file raidswap wrote. Host-wide state a drill never owns (debconf, EFI
// variables, bay LEDs) is refused outright. Without a scope it allows everything: the other
// safety rules apply either way.
func (w *world) checkScope(p *plan.Plan, s plan.Step) error {
	sc := w.scope
	if sc == nil {
		return nil
	}
	refuse := func(dev, serial, reason string) error {
		return &RefusedError{Step: s.ID, Device: dev, Serial: serial, Reason: reason}
	}
	if err := sc.Check(); err != nil {
		return refuse("", "", err.Error())
	}
	root := host.NewRoot(w.sys.Root)
	t := s.Target
	switch s.Action {
	case plan.ActionDebconfDevices:
		return refuse("", "", "debconf's grub-pc/install_devices is the host's, never a drill's (lab "+sc.Lab+")")
	case plan.ActionEFIEntry, plan.ActionEFIBootOrder:
		return refuse("", "", "the firmware's EFI variables are the host's, never a drill's (lab "+sc.Lab+")")
	case plan.ActionESPInstall:
		return refuse("", "", "grub-install writes GRUB's modules into the host's /boot, never a drill's (lab "+sc.Lab+")")
	}
	if t.LED != nil {
		return refuse(orDev(t.LED.Device), t.LED.Serial, "it drives a bay LED, and no drill disk sits in a bay: "+sc.RefusalReason())
	}
	if t.BootDir != "" && !within(t.BootDir, sc.Lab) {
		return refuse(orDev(t.Array), "", fmt.Sprintf("its boot directory %s is outside the drill's lab %s", t.BootDir, sc.Lab))
	}
	readOnly := scopeReadOnly(s.Action)

	// onLab refuses a device not on one of the lab's drill disks. A device sysfs does not
	// know is refused when the step writes it (nothing says it is the drill's) and passed
	// over when the step only names it (a pulled disk a wait step waits for).
	onLab := func(dev string, write bool, why string) error {
		disks, err := discover.UnderlyingDisks(root, dev)
		if err != nil {
			if write {
				return refuse("/dev/"+dev, "", fmt.Sprintf("%v, so nothing shows it is one of this drill's disks (lab %s)", err, sc.Lab))
			}
			return nil
		}
		for _, disk := range disks {
			if _, lab, ok := identify.DrillDisk(root, disk); !ok || lab != sc.Lab {
				return refuse("/dev/"+dev, identify.Serial(root, disk), sc.RefusalReason()+why)
			}
			// Named like one of the lab's disks: it is one only if the kernel's file behind
			// the loop is the image raidswap made (identify.ProveDrillDisk).
			if serial, _, err := identify.ProveDrillDisk(root, disk); err != nil {
				return refuse("/dev/"+dev, serial, sc.RefusalReason()+why+": "+err.Error())
			}
		}
		return nil
	}

	writes, err := w.writes(s)
	if err != nil {
		return refuse(t.Device, w.newSerial, err.Error())
	}
	if s.Action == plan.ActionPartitionClone {
		// The clone writes the new disk and reads the survivor.
		if d := w.newDisk(); d != nil {
			writes = append(writes, d.Name)
		} else if !readOnly {
			return refuse(t.Device, w.newSerial, "the new disk is not attached")
		}
	}
	for _, dev := range writes {
		if err := onLab(dev, true, ""); err != nil {
			return err
		}
	}
	named := []string{t.Device, t.With}
	if s.Action == plan.ActionPartitionClone {
		src := p.Disks.Survivor.Device
		if sd := w.sys.DiskBySerial(p.Disks.Survivor.Serial); sd != nil {
			src = sd.Name
		}
		named = append(named, src)
	}
	for _, c := range append(append([]plan.Condition{}, s.Preconditions...), s.Postconditions...) {
		named = append(named, c.Device)
	}
	for _, dev := range named {
		if dev == "" {
			continue
		}
		name, err := w.resolveName(dev)
		if err != nil {
			continue // a new disk not attached yet: nothing of it to judge or touch
		}
		if err := onLab(name, false, ""); err != nil {
			return err
		}
	}

	// Arrays, by UUID and by name, from md's own sysfs.
	type arrayRef struct{ name, uuid string }
	refs := []arrayRef{{t.Array, t.ArrayUUID}}
	for _, c := range append(append([]plan.Condition{}, s.Preconditions...), s.Postconditions...) {
		refs = append(refs, arrayRef{c.Array, c.ArrayUUID})
	}
	arrays, _ := mdadm.ReadSysArrays(root)
	for _, ref := range refs {
		if ref.name == "" && ref.uuid == "" {
			continue
		}
		found := false
		for _, a := range arrays {
			if (ref.uuid == "" || a.UUID != ref.uuid) && (ref.name == "" || a.Name != ref.name) {
				continue
			}
			found = true
			present := 0
			for _, m := range a.Members {
				if m.Gone {
					continue
				}
				present++
				if err := onLab(m.Device, true, fmt.Sprintf("; it holds %s's member %s, which this step names", a.Name, m.Device)); err != nil {
					return err
				}
			}
			if present == 0 && !readOnly {
				return refuse(orDev(a.Name), "", fmt.Sprintf("%s has no member left to judge, so nothing shows it is one of this drill's arrays (lab %s)", a.Name, sc.Lab))
			}
		}
		if !found && !readOnly && ref.name == t.Array && ref.uuid == t.ArrayUUID {
			return refuse(orDev(ref.name), "", fmt.Sprintf("md lists no array %s (UUID %s), so nothing shows it is one of this drill's arrays (lab %s)", ref.name, ref.uuid, sc.Lab))
		}
	}
	return nil
}

// scopeReadOnly are the actions that change no disk and no array by themselves: a device or
// array they name that is gone is nothing to refuse.
func scopeReadOnly(a plan.Action) bool {
	switch a {
	case plan.ActionAwaitRemoval, plan.ActionAwaitNewDisk, plan.ActionCheckNewDisk, plan.ActionVerify,
		plan.ActionLocate, plan.ActionLEDOff, plan.ActionBootByHand, plan.ActionVerifyUEFI,
		plan.ActionRaiseSpeed, plan.ActionRestoreSpeed, plan.ActionPreflight:
		return true
	}
	return false
}

// within reports whether p is dir or below it (both clean absolute paths).
func within(p, dir string) bool {
	p = path.Clean(p)
	return p == dir || strings.HasPrefix(p, dir+"/")
}

func orDev(name string) string {
	if name == "" {
		return ""
	}
	return "/dev/" + strings.TrimPrefix(name, "/dev/")
}
