package bootloader

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
)

// UEFIDiskCheck is one disk's UEFI readiness.
type UEFIDiskCheck struct {
	Disk   string    `json:"disk"`
	Serial string    `json:"serial"`
	State  BootState `json:"state"`
	Reason string    `json:"reason"`
	// Entry is the boot entry that boots the disk's ESP (Boot0003), "" when none or unread.
	Entry string `json:"entry,omitempty"`
}

// loaderDirs are the directories booting by loader depends on: the loader's own and the
// fallback directory EFI/BOOT (one, when the loader is the fallback path).
func loaderDirs(loader string) []string {
	d := path.Dir(loader)
	if strings.EqualFold(d, path.Dir(FallbackPath)) {
		return []string{d}
	}
	return []string{d, path.Dir(FallbackPath)}
}

// loaderFiles are the files of tree that booting depends on: those right in loaderDirs.
func loaderFiles(tree []File, loader string) []File {
	var out []File
	for _, f := range tree {
		if f.Dir {
			continue
		}
		for _, d := range loaderDirs(loader) {
			if strings.EqualFold(path.Dir(f.Path), d) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

func hasFile(tree []File, p string) bool {
	for _, f := range tree {
		if !f.Dir && strings.EqualFold(f.Path, p) {
			return true
		}
	}
	return false
}

// VerifyUEFI checks that each disk boots alone by UEFI: its ESP holds the loader and the
// removable fallback path, its loader files are identical to the first ESP's (the
// survivor's), and, when the boot manager's variables can be read, a boot entry boots the
// loader from that ESP's PARTUUID. Each ESP is mounted read-only at its private directory
// for the check. It judges nothing it could not read: a disk whose ESP cannot be mounted is
// unknown, with the reason. It is the postcondition of the UEFI steps and what status shows.
func VerifyUEFI(ctx context.Context, r host.Runner, root *host.Root, esps []ESPRef, loader string) []UEFIDiskCheck {
	out := make([]UEFIDiskCheck, len(esps))
	views := make([]ESPView, len(esps))
	for i, e := range esps {
		out[i] = UEFIDiskCheck{Disk: e.Disk, Serial: e.Serial, State: BootUnknown}
		views[i] = ESPView{Dev: e.Dev, Name: e.Label() + "'s"}
		dir, release, err := MountESP(ctx, r, root, e, true)
		if err != nil {
			views[i].Err = err
			continue
		}
		views[i].Files, err = ReadTree(dir)
		if rerr := release(); rerr != nil && err == nil {
			err = rerr
		}
		if err != nil {
			views[i].Files, views[i].Err = nil, fmt.Errorf("reading its ESP %s: %w", e.Dev, err)
		}
	}
	var vars *BootVars
	varsWhy := ""
	if res, err := r.Run(ctx, ListArgv()...); err != nil {
		varsWhy = "the boot entries could not be read (" + err.Error() + ")"
		if p := EFIVarsProblem(root.Exists("/sys/firmware/efi"), readOrNil(root, "/proc/self/mounts")); p != "" && !strings.Contains(p, "read-only") {
			varsWhy = p
		}
	} else if v, err := ParseBootVars(res.Stdout); err != nil {
		varsWhy = "efibootmgr's output could not be read: " + err.Error()
	} else {
		vars = &v
	}
	for i, e := range esps {
		if views[i].Err != nil {
			// The mount's or the read's own words: they name the disk and the device.
			out[i].Reason = views[i].Err.Error()
			continue
		}
		in := UEFIJudgeIn{Loader: loader, HasESP: true, PARTUUID: e.PARTUUID, Self: views[i], Entries: vars, EntriesWhy: varsWhy}
		if i > 0 {
			// The first ESP is the survivor's: every other is compared with it.
			in.SurvivorNamed, in.Refs = true, []ESPView{views[0]}
		}
		var r Readiness
		r, out[i].Entry = JudgeUEFI(in)
		out[i].State, out[i].Reason = r.State, r.Reason
	}
	return out
}

func readOrNil(root *host.Root, p string) []byte {
	b, _ := root.ReadFile(p)
	return b
}
