package simulate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/host"
)

// FailMember marks one member of an array faulty, as md does after an I/O error:
// mdadm MD --fail MEMBER.
func FailMember(ctx context.Context, r host.Runner, md, member string) error {
	_, err := run(ctx, r, "failing "+member+" in "+mdName(md), host.Mdadm, devPath(md), "--fail", devPath(member))
	return err
}

// RemoveMember takes a faulty member out of its array: mdadm MD --remove MEMBER.
func RemoveMember(ctx context.Context, r host.Runner, md, member string) error {
	_, err := run(ctx, r, "removing "+member+" from "+mdName(md), host.Mdadm, devPath(md), "--remove", devPath(member))
	return err
}

// FailDisk fails every member that lives on disk, in every array, and returns them.
func FailDisk(ctx context.Context, r host.Runner, root *host.Root, disk string) ([]Member, error) {
	ms, err := onDisk(root, disk)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("%s holds no md member", devPath(disk))
	}
	for _, m := range ms {
		if err := FailMember(ctx, r, m.Array, m.Device); err != nil {
			return ms, err
		}
	}
	return ms, nil
}

// Poke makes md do one write to every mirror of the array, so it notices a member whose disk
// is gone (md only finds out at the next I/O). It reads the array's first 4 KiB and writes
// the same bytes back with O_DIRECT: harmless while the array is not mounted, and refused
// when it is.
func Poke(ctx context.Context, r host.Runner, root *host.Root, md string) error {
	return poke(ctx, r, root, md, false)
}

// poke makes md write to every mirror of md: a direct rewrite of its first block when it is
// not mounted; when it is, a synced file in its filesystem if viaFS (raw writes under a
// mounted filesystem could undo its own), else a refusal.
func poke(ctx context.Context, r host.Runner, root *host.Root, md string, viaFS bool) error {
	dev := devPath(md)
	k := blockName(root, dev)
	for _, m := range readMounts(root) {
		if m.dev != k {
			continue
		}
		if !viaFS {
			return fmt.Errorf("refusing to poke %s: it is mounted on %s; write and sync a file there instead", dev, m.dir)
		}
		p := filepath.Join(m.dir, ".raidswap-drill-poke")
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_SYNC, 0o600)
		if err != nil {
			return fmt.Errorf("writing to %s so md notices its failing member: %w", m.dir, err)
		}
		f.Write(make([]byte, 4096))
		f.Sync()
		f.Close()
		os.Remove(p)
		// Deleting the file is one more metadata write: make it reach the disks.
		if d, err := os.Open(m.dir); err == nil {
			d.Sync()
			d.Close()
		}
		return nil
	}
	_, err := run(ctx, r, "writing to "+dev+" so md notices a missing member", host.Dd,
		"if="+dev, "of="+dev, "bs=4096", "count=1", "iflag=direct", "oflag=direct", "conv=notrunc", "status=none")
	return err
}

// How a disk vanishes.
const (
	// VanishAuto uses VanishHotplug inside an internal/vmtest VM, VanishPCIRemove elsewhere.
	VanishAuto = "auto"
	// VanishHotplug asks the VM's host to unplug the disk (QMP device_del): the drive drops
	// off the bus exactly as a dead or pulled drive does. Only inside an internal/vmtest VM.
	VanishHotplug = "hotplug"
	// VanishPCIRemove writes 1 to the disk's PCI device's remove attribute (in-guest unplug;
	// /sys/bus/pci/rescan brings it back).
	VanishPCIRemove = "pci-remove"
)

// settleTimeout bounds each wait for udev and md once a disk has gone: udev's remove events
// run one quick mdadm -If each, and md fails a member at the first I/O; 30 s leaves a slow
// TCG guest ample room.
const settleTimeout = 30 * time.Second

// Vanish makes disk disappear the way a dead drive does, pokes every array that had a member
// on it so md notices, and returns once md has settled each member, with its State saying
// how: "removed" (md no longer lists it: udev's mdadm rule, mdadm -If, took it out),
// "faulty" (md lists it failed: no udevd, or the rule did not remove it), or "stopped" (the
// array lost its last member).
//
// udev's rule fires only for a partition its database knows as a linux_raid_member. On a
// booted server it always does; right after the arrays were built it may not (udev misses a
// probe while mdadm writes), so with udevd running Vanish first has udev re-read the members,
// and after the unplug waits for udev to finish its remove events before judging.
func Vanish(ctx context.Context, r host.Runner, root *host.Root, disk, how string) ([]Member, error) {
	k := kname(disk)
	ms, err := onDisk(root, k)
	if err != nil {
		return nil, err
	}
	if how == "" || how == VanishAuto {
		how = VanishPCIRemove
		if root.Exists(host.VMTestHotplug) {
			how = VanishHotplug
		}
	}
	if how != VanishHotplug && how != VanishPCIRemove {
		return ms, fmt.Errorf("unknown vanish method %q: use auto, hotplug or pci-remove", how)
	}
	udev := udevRunning(ctx, r)
	if udev {
		argv := []string{host.Udevadm, "trigger", "--action=change"}
		for _, m := range ms {
			argv = append(argv, devPath(m.Device))
		}
		if _, err := run(ctx, r, "having udev re-read "+k+"'s md members", argv...); err != nil {
			return ms, err
		}
		if err := settleUdev(ctx, r); err != nil {
			return ms, err
		}
	}
	switch how {
	case VanishHotplug:
		if _, err := run(ctx, r, "unplugging "+k, host.VMTestHotplug, "unplug", k); err != nil {
			return ms, err
		}
	case VanishPCIRemove:
		pci, err := pciDevice(root, k)
		if err != nil {
			return ms, err
		}
		if err := writeAttr(root, pci+"/remove", "1"); err != nil {
			return ms, err
		}
	}
	if err := waitFor(ctx, 15*time.Second, "/sys/block/"+k+" to go", func() bool { return !root.Exists("/sys/block/" + k) }); err != nil {
		return ms, err
	}
	if udev {
		if err := settleUdev(ctx, r); err != nil {
			return ms, err
		}
	}
	if err := noticeLoss(ctx, r, root, ms); err != nil {
		return ms, err
	}
	return ms, settleMembers(ctx, root, k, ms)
}

// udevRunning asks udevd itself; without it nothing runs udev's rules.
func udevRunning(ctx context.Context, r host.Runner) bool {
	_, err := r.Run(ctx, host.Udevadm, "control", "--ping", "--timeout=5")
	return err == nil
}

func settleUdev(ctx context.Context, r host.Runner) error {
	_, err := run(ctx, r, "waiting for udev", host.Udevadm, "settle", "--timeout="+strconv.Itoa(int(settleTimeout/time.Second)))
	return err
}

// settleMembers waits until md has settled each member of a vanished disk and records how in
// its State; a member md still counts as working after settleTimeout is an error naming it.
func settleMembers(ctx context.Context, root *host.Root, disk string, ms []Member) error {
	pending := func() []string {
		var out []string
		for i, m := range ms {
			state, settled := vanishedState(root, m)
			ms[i].State = state
			if !settled {
				out = append(out, fmt.Sprintf("%s in %s as %q", m.Device, m.Array, state))
			}
		}
		return out
	}
	if err := waitFor(ctx, settleTimeout, "md to settle "+disk+"'s members", func() bool { return len(pending()) == 0 }); err != nil {
		return fmt.Errorf("%s vanished, but md still lists %s: %w", devPath(disk), strings.Join(pending(), ", "), err)
	}
	return nil
}

// vanishedState is how md holds a member whose disk has gone, and whether that is final.
func vanishedState(root *host.Root, m Member) (string, bool) {
	md := "/sys/block/" + m.Array + "/md"
	if !root.Exists(md) {
		return "stopped", true
	}
	state, err := root.ReadString(md + "/dev-" + m.Device + "/state")
	if err != nil {
		if !root.Exists(md + "/dev-" + m.Device) {
			return "removed", true
		}
		return "unreadable", false
	}
	for _, w := range strings.Split(state, ",") {
		if w == "faulty" {
			return "faulty", true
		}
	}
	return state, false
}

// noticeLoss pokes each array that had one of ms and waits until md counts it degraded.
func noticeLoss(ctx context.Context, r host.Runner, root *host.Root, ms []Member) error {
	return pokeArrays(ctx, r, root, ms, false, "to degrade", func(m Member) bool {
		d, err := root.ReadString("/sys/block/" + m.Array + "/md/degraded")
		return err == nil && d != "0"
	})
}

// pokeArrays pokes (poke, viaFS) each array that holds one of ms, once, so md notices that
// their disk failed (md finds out at the next I/O), and after each waits up to 15 s until
// noticed says md did ("md0 "+what names the wait). An array that stopped (it lost its last
// member: udev's mdadm -If stops such arrays) is passed over.
func pokeArrays(ctx context.Context, r host.Runner, root *host.Root, ms []Member, viaFS bool, what string, noticed func(Member) bool) error {
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.Array] {
			continue
		}
		seen[m.Array] = true
		if !root.Exists("/sys/block/" + m.Array + "/md") {
			continue
		}
		if err := poke(ctx, r, root, m.Array, viaFS); err != nil {
			return err
		}
		if err := waitFor(ctx, 15*time.Second, m.Array+" "+what, func() bool { return noticed(m) }); err != nil {
			return err
		}
	}
	return nil
}

// pciDevice finds the PCI device directory (with its remove attribute) a disk hangs off.
func pciDevice(root *host.Root, k string) (string, error) {
	p, err := root.ResolveLink("/sys/block/" + k)
	if err != nil {
		return "", fmt.Errorf("%s: %w", k, err)
	}
	for d := filepath.Dir(p); d != "/sys/devices" && d != "/"; d = filepath.Dir(d) {
		sub, err := root.ResolveLink(d + "/subsystem")
		if err == nil && filepath.Base(sub) == "pci" && root.Exists(d+"/remove") {
			return d, nil
		}
	}
	return "", fmt.Errorf("cannot make %s vanish: it is not on a PCI device (for loop devices build with dm members and use KillDM)", k)
}

// KillDM turns every simulate dm device over disk's partitions (BuildSeed with DMMembers)
// into an error table, so every I/O to those members fails as on a dead disk, then pokes the
// arrays until md has failed them. It returns the members affected.
func KillDM(ctx context.Context, r host.Runner, root *host.Root, disk string) ([]Member, error) {
	ms, err := onDisk(root, disk)
	if err != nil {
		return nil, err
	}
	var killed []Member
	for _, m := range ms {
		name, err := root.ReadString("/sys/class/block/" + m.Device + "/dm/name")
		if err != nil || !strings.HasPrefix(name, "rs-") {
			continue
		}
		if err := failDM(ctx, r, root, "", name, m); err != nil {
			return killed, err
		}
		killed = append(killed, m)
	}
	if len(killed) == 0 {
		return nil, fmt.Errorf("%s holds no md member on a simulate dm device (build with DMMembers)", devPath(disk))
	}
	return killed, noticeLoss(ctx, r, root, killed)
}

// dmMembers lists the md members on serial's disk and the rs-* dm device under each; a
// member not on such a device, or a mount or swap on the disk, is refused.
func (l *Lab) dmMembers(dev, serial, what string) ([]Member, []string, error) {
	ms, err := onDisk(l.root, dev)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		name, err := l.root.ReadString("/sys/block/" + m.Device + "/dm/name")
		if err != nil || !strings.HasPrefix(name, "rs-") {
			return nil, nil, fmt.Errorf("refusing to %s %s (%s): its member %s of %s is not on a simulate dm device (build the seed with DMDisks for it)", what, dev, serial, m.Device, m.Array)
		}
		names[i] = name
	}
	set := labSet(l.root, []string{kname(dev)})
	for _, m := range mountsOf(l.root, set, nil) {
		if !strings.HasPrefix(m.dev, "md") {
			return nil, nil, fmt.Errorf("refusing to %s %s (%s): /dev/%s is mounted at %s", what, dev, serial, m.dev, m.dir)
		}
	}
	if sw := swapsOf(l.root, set); len(sw) > 0 {
		return nil, nil, fmt.Errorf("refusing to %s %s (%s): %s is in use as swap", what, dev, serial, sw[0])
	}
	return ms, names, nil
}

// Vanish makes a disk that md still holds disappear the way a real pull does: its members'
// dm tables switch to error, a write to each array makes md fail them, mdadm --remove takes
// them out (what udev's mdadm -If does), then the dm devices and the loop go. The seed must
// have put this disk's members on dm (Options.DMDisks). It returns the members taken out.
func (l *Lab) Vanish(ctx context.Context, serial string) ([]Member, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	dev, err := l.labDevice(serial, "vanish")
	if err != nil {
		return nil, err
	}
	ms, names, err := l.dmMembers(dev, serial, "vanish")
	if err != nil {
		return nil, err
	}
	// Named now: under an error table a dm device no longer lists the partition as its slave.
	over := l.dmOver(kname(dev))
	for i, m := range ms {
		if err := failDM(ctx, l.r, l.root, l.Dir, names[i], m); err != nil {
			return nil, err
		}
	}
	// A mounted array is poked through its filesystem: the drill mounts the lab's arrays.
	if err := pokeArrays(ctx, l.r, l.root, ms, true, "to fail its member on "+serial, func(m Member) bool {
		_, settled := vanishedState(l.root, m)
		return settled
	}); err != nil {
		return nil, err
	}
	for i, m := range ms {
		ms[i].State = "removed"
		if st, _ := vanishedState(l.root, m); st == "removed" || st == "stopped" {
			continue // udev's mdadm -If was quicker
		}
		if err := RemoveMember(ctx, l.r, m.Array, "/dev/"+m.Device); err != nil {
			return ms, err
		}
	}
	for _, name := range over {
		if _, err := run(ctx, l.r, "removing dm "+name, host.Dmsetup, "remove", "--retry", name); err != nil {
			return ms, err
		}
	}
	_, err = l.detach(ctx, kname(dev))
	return ms, err
}

// failDM makes every I/O to member m's dm device name fail, as on a dead disk: an error
// table over its whole size (loadTable, through a file in dir unless dir is "").
func failDM(ctx context.Context, r host.Runner, root *host.Root, dir, name string, m Member) error {
	sectors, err := root.ReadString("/sys/class/block/" + m.Device + "/size")
	if err != nil {
		return err
	}
	return loadTable(ctx, r, dir, name, "0 "+sectors+" error")
}

// loadTable swaps a dm device's table: suspend, load, resume (resumed on the old table when
// the load fails). The table goes through a file in dir, removed after (a table of many
// lines, like Flaky's), or on the command line when dir is "".
func loadTable(ctx context.Context, r host.Runner, dir, name, table string) error {
	load := []string{host.Dmsetup, "load", name, "--table", table}
	if dir != "" {
		file := filepath.Join(dir, name+".table")
		if err := os.WriteFile(file, []byte(table+"\n"), 0o600); err != nil {
			return err
		}
		defer os.Remove(file)
		load = []string{host.Dmsetup, "load", name, file}
	}
	for _, argv := range [][]string{{host.Dmsetup, "suspend", name}, load, {host.Dmsetup, "resume", name}} {
		if _, err := run(ctx, r, "loading "+name+"'s table", argv...); err != nil {
			if argv[1] != "resume" {
				r.Run(ctx, host.Dmsetup, "resume", name)
			}
			return err
		}
	}
	return nil
}

// dmOver lists the rs-* dm devices whose slaves are partitions of loop k (or k itself).
func (l *Lab) dmOver(k string) []string {
	var out []string
	for _, x := range labSet(l.root, []string{k}).dms() {
		if name, err := l.root.ReadString("/sys/block/" + x + "/dm/name"); err == nil && strings.HasPrefix(name, "rs-") {
			out = append(out, name)
		}
	}
	return out
}

// Flaky makes reads of the disk's dm members fail in the middle of their data area, so a
// recovery that reads from this disk fails while the array stays up (its superblocks, at
// either end, and the rest of the data still work). Restore puts the linear tables back.
//
// The unreadable sectors are stripes (see flakyTable), not one range: md records an
// unreadable block in the bad block log of every member and carries on, so over one range a
// recovery "completes" [UU] with bad blocks listed (measured: TestVMLabFlaky). More stripes
// than the log's 512 entries fill it, and then md interrupts the recovery and disables it.
//
// With arrays named, only the disk's members of those arrays turn flaky (the drill keeps
// /boot readable, so it is the rebuild that meets the errors, not the boot code's install).
func (l *Lab) Flaky(ctx context.Context, serial string, arrays ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	dev, err := l.labDevice(serial, "make flaky")
	if err != nil {
		return err
	}
	ms, names, err := l.dmMembers(dev, serial, "make flaky")
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		return fmt.Errorf("%s (%s) holds no md member", dev, serial)
	}
	flaky := 0
	for i, m := range ms {
		if len(arrays) > 0 && !slices.Contains(arrays, m.Array) && !slices.Contains(arrays, "/dev/"+m.Array) {
			continue
		}
		flaky++
		part, sectors, err := l.dmSlave(m.Device)
		if err != nil {
			return err
		}
		off, err1 := readInt(l.root, "/sys/block/"+m.Array+"/md/dev-"+m.Device+"/offset")
		kib, err2 := readInt(l.root, "/sys/block/"+m.Array+"/md/dev-"+m.Device+"/size")
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("reading %s's data area in %s: %w", m.Device, m.Array, err)
		}
		table, err := flakyTable(part, sectors, off, kib*2)
		if err != nil {
			return fmt.Errorf("%s: %w", names[i], err)
		}
		if err := loadTable(ctx, l.r, l.Dir, names[i], table); err != nil {
			return err
		}
	}
	if flaky == 0 {
		return fmt.Errorf("%s (%s) holds no dm member of %s", dev, serial, strings.Join(arrays, ", "))
	}
	return nil
}

// flakyStripes is how many unreadable stripes Flaky puts in a member: more than the 512
// entries of md's bad block log (each stripe is one entry: they are never adjacent).
const flakyStripes = 640

// flakyTable is a dm table over part (sectors long) that reads like part except for
// flakyStripes unreadable 4 KiB stripes, 4 KiB apart, centred in the data area
// [off, off+data). A data area too small for them all gets as many as fit.
func flakyTable(part string, sectors, off, data int64) (string, error) {
	if off < 0 || data <= 0 || off+data > sectors {
		return "", fmt.Errorf("data area %d+%d does not fit %d sectors", off, data, sectors)
	}
	n := min(int64(flakyStripes), data/32)
	if n == 0 {
		return "", fmt.Errorf("data area of %d sectors is too small for unreadable stripes", data)
	}
	start := (off + data/2 - n*8) &^ 7
	var b strings.Builder
	fmt.Fprintf(&b, "0 %d linear %s 0\n", start, part)
	at := start
	for range n {
		fmt.Fprintf(&b, "%d 8 error\n%d 8 linear %s %d\n", at, at+8, part, at+8)
		at += 16
	}
	fmt.Fprintf(&b, "%d %d linear %s %d", at, sectors-at, part, at)
	return b.String(), nil
}

// Restore puts the linear tables back under the disk's dm members (after Flaky).
func (l *Lab) Restore(ctx context.Context, serial string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	dev, err := l.labDevice(serial, "restore")
	if err != nil {
		return err
	}
	for _, x := range labSet(l.root, []string{kname(dev)}).dms() {
		name, err := l.root.ReadString("/sys/block/" + x + "/dm/name")
		if err != nil || !strings.HasPrefix(name, "rs-") {
			continue
		}
		part, sectors, err := l.dmSlave(x)
		if err != nil {
			return err
		}
		if err := loadTable(ctx, l.r, l.Dir, name, fmt.Sprintf("0 %d linear %s 0", sectors, part)); err != nil {
			return err
		}
	}
	return nil
}

// dmSlave is the one device under dm device x and its size in sectors.
func (l *Lab) dmSlave(x string) (string, int64, error) {
	ents, err := l.root.ReadDir("/sys/block/" + x + "/slaves")
	if err != nil || len(ents) != 1 {
		return "", 0, fmt.Errorf("%s: want exactly one device under it", x)
	}
	s := ents[0].Name()
	n, err := readInt(l.root, "/sys/class/block/"+s+"/size")
	return "/dev/" + s, n, err
}

func readInt(root *host.Root, p string) (int64, error) {
	s, err := root.ReadString(p)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p, err)
	}
	return n, nil
}
