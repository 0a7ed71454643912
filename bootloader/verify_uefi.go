package bootloader

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
)

// BootState is whether a disk boots alone, for status's BOOT column.
type BootState string

// Boot states.
const (
	BootOK      BootState = "ok"
	BootMissing BootState = "missing"
	BootUnknown BootState = "unknown"
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

// loaderFiles are the files of tree that booting depends on: the loader's directory and the
// fallback directory EFI/BOOT.
func loaderFiles(tree []File, loader string) []File {
	dirs := []string{strings.ToLower(path.Dir(loader)) + "/", "efi/boot/"}
	var out []File
	for _, f := range tree {
		p := strings.ToLower(f.Path)
		for _, d := range dirs {
			if strings.HasPrefix(p, d) && !f.Dir {
				out = append(out, f)
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
	trees := make([][]File, len(esps))
	for i, e := range esps {
		out[i] = UEFIDiskCheck{Disk: e.Disk, Serial: e.Serial, State: BootUnknown}
		dir, release, err := MountESP(ctx, r, root, e, true)
		if err != nil {
			out[i].Reason = err.Error()
			continue
		}
		trees[i], err = ReadTree(dir)
		if rerr := release(); rerr != nil && err == nil {
			err = rerr
		}
		if err != nil {
			trees[i] = nil
			out[i].Reason = fmt.Sprintf("reading its ESP %s: %v", e.Dev, err)
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
	var ref []File
	if trees[0] != nil {
		ref = loaderFiles(trees[0], loader)
	}
	for i, e := range esps {
		if trees[i] == nil {
			continue
		}
		c := &out[i]
		switch {
		case !hasFile(trees[i], loader):
			c.State, c.Reason = BootMissing, fmt.Sprintf("its ESP %s has no %s", e.Dev, loader)
			continue
		case !hasFile(trees[i], FallbackPath):
			c.State, c.Reason = BootMissing, fmt.Sprintf("its ESP %s has no removable fallback path %s", e.Dev, FallbackPath)
			continue
		case i > 0 && ref == nil:
			c.Reason = "the survivor's ESP could not be read to compare with"
			continue
		case i > 0:
			if m := Mismatch(ref, trees[i]); m != "" {
				c.State, c.Reason = BootMissing, fmt.Sprintf("its ESP %s differs from %s's: %s", e.Dev, esps[0].Label(), m)
				continue
			}
		}
		if vars == nil {
			c.State, c.Reason = BootOK, "boots by the fallback path; "+varsWhy
			continue
		}
		en := vars.EntryFor(e.PARTUUID, LoaderPathEFI(loader))
		if en == nil {
			c.State, c.Reason = BootMissing, fmt.Sprintf("no firmware boot entry boots %s from its ESP (PARTUUID %s); the fallback path is there", LoaderPathEFI(loader), orUnknown(e.PARTUUID))
			continue
		}
		c.State, c.Entry = BootOK, "Boot"+en.Num
		c.Reason = fmt.Sprintf("loader and fallback path on %s, boot entry Boot%s %q", e.Dev, en.Num, en.Label)
	}
	return out
}

func readOrNil(root *host.Root, p string) []byte {
	b, _ := root.ReadFile(p)
	return b
}
