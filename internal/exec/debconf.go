package exec

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/raidswap/raidswap/bootloader"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/plan"
)

// This file is the debconf step: grub-pc/install_devices (and grub-efi's) set to the
// disks that boot.

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
		r.say(question + " is " + want + " already")
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
	if err := r.note(s, map[string]string{"install_devices": want}); err != nil {
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
	r.say(question + " is now " + want)
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
