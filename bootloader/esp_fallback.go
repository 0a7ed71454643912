package bootloader

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/internal/host"
)

// The removable-media fallback path (EFI/BOOT) a disk boots by when no entry names it.

// FallbackFiles are the files the removable-media fallback needs in EFI/BOOT, each with the
// file on the ESP it is a copy of. loaderDir is the distribution's directory (EFI/debian),
// names its file names (host.Profile.EFIFiles). Without shim: BOOTX64.EFI is the loader
// (grubx64.efi: a core image that finds /boot by UUID, the same image grub-install
// --removable writes). With shim: BOOTX64.EFI is the shim (shimx64.efi; SUSE's shim.efi),
// which loads GRUB by its own name (grubx64.efi; grub.efi) from its own directory, so GRUB
// goes beside it under that name.
func FallbackFiles(loaderDir, loaderFile string, shim bool, names host.EFIFiles) map[string]string {
	if shim {
		return map[string]string{
			FallbackPath:             loaderDir + "/" + names.Shim,
			"EFI/BOOT/" + names.Grub: loaderDir + "/" + names.Grub,
		}
	}
	return map[string]string{FallbackPath: loaderDir + "/" + loaderFile}
}

// OptionalFallbackFiles are copied beside shim when the distribution's directory has them:
// shim's MOK manager.
func OptionalFallbackFiles(names host.EFIFiles) map[string]string {
	return map[string]string{"EFI/BOOT/" + names.MokManager: names.MokManager}
}

// FallbackResult says what EnsureFallback wrote.
type FallbackResult struct {
	// Present: the fallback path was already there; nothing was written.
	Present bool
	Wrote   []string
}

// EnsureFallback makes sure the ESP mounted at dir has the removable-media fallback path.
// An existing EFI/BOOT/BOOTX64.EFI is left as it is (it may be another system's loader,
// which raidswap does not judge); otherwise the loader is copied there under a temporary
// name, verified and renamed, so only the fallback files are ever written. loader is the
// ESP path of the loader the boot entries name (EFI/debian/grubx64.efi, or shimx64.efi).
func EnsureFallback(dir, loader string, shim bool, names host.EFIFiles) (FallbackResult, error) {
	if p := findFold(dir, FallbackPath); p != "" {
		st, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			return FallbackResult{}, err
		}
		if !st.Mode().IsRegular() {
			return FallbackResult{}, fmt.Errorf("%s on the ESP is not a regular file", FallbackPath)
		}
		return FallbackResult{Present: true}, nil
	}
	ldir, lfile := path.Split(loader)
	ldir = strings.TrimSuffix(ldir, "/")
	files := FallbackFiles(ldir, lfile, shim, names)
	if shim {
		for to, name := range OptionalFallbackFiles(names) {
			if findFold(dir, ldir+"/"+name) != "" {
				files[to] = ldir + "/" + name
			}
		}
	}
	var res FallbackResult
	targets := make([]string, 0, len(files))
	for to := range files {
		targets = append(targets, to)
	}
	sort.Strings(targets)
	// BOOTX64.EFI last: until it is in place the firmware does not look at EFI/BOOT.
	sort.SliceStable(targets, func(i, j int) bool { return targets[j] == FallbackPath && targets[i] != FallbackPath })
	for _, to := range targets {
		from := findFold(dir, files[to])
		if from == "" {
			return res, fmt.Errorf("the ESP has no %s to copy to %s", files[to], to)
		}
		if findFold(dir, to) != "" && to != FallbackPath {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, "EFI", "BOOT"), 0o700); err != nil {
			return res, err
		}
		sum, _, err := hashFile(filepath.Join(dir, from))
		if err != nil {
			return res, err
		}
		// EFI/BOOT may exist as EFI/boot or efi/Boot: write into the directory FAT has.
		parent := findFold(dir, path.Dir(to))
		final := filepath.Join(dir, parent, path.Base(to))
		tmp := filepath.Join(dir, parent, tmpPrefix+"-"+path.Base(to))
		os.Remove(tmp)
		if err := copyVerified(filepath.Join(dir, from), tmp, sum); err != nil {
			return res, err
		}
		if err := os.Rename(tmp, final); err != nil {
			return res, err
		}
		res.Wrote = append(res.Wrote, to)
	}
	return res, syncDir(dir)
}

// findFold resolves the slash path p below dir ignoring case, component by component, and
// returns it as stored; "" when it does not exist.
func findFold(dir, p string) string {
	cur := ""
	for _, part := range strings.Split(p, "/") {
		name := lookupFold(filepath.Join(dir, cur), part)
		if name == "" {
			return ""
		}
		cur = path.Join(cur, name)
	}
	return cur
}

// FindLoader finds the loader a boot entry should name on the ESP mounted at dir: with
// shim EFI/<distro>/shimx64.efi, with systemd-boot EFI/systemd/systemd-bootx64.efi,
// otherwise EFI/<distro>/grubx64.efi (names: the distribution's file names,
// host.Profile.EFIFiles; SUSE's are shim.efi and grub.efi). The fallback directory EFI/BOOT is not a distribution;
// but on an ESP that holds only the removable-media loader (grub-install --removable, or
// shim's fallback copy) and no distribution directory with one, that loader is the one that
// boots, and the boot entries name it: FallbackPath (issue 17, item 15). It fails when more
// than one distribution directory has the loader, or when neither it nor FallbackPath is
// there.
func FindLoader(dir string, l Loader, shim bool, names host.EFIFiles) (string, error) {
	want := names.Grub
	switch {
	case l == LoaderSystemdBoot:
		if p := findFold(dir, "EFI/systemd/systemd-bootx64.efi"); p != "" {
			return p, nil
		}
		return "", errors.New("the ESP has no EFI/systemd/systemd-bootx64.efi")
	case shim:
		want = names.Shim
	}
	efi := findFold(dir, "EFI")
	if efi == "" {
		return "", errors.New("the ESP has no EFI directory")
	}
	fallback := ""
	if p := findFold(dir, FallbackPath); p != "" {
		if st, err := os.Stat(filepath.Join(dir, p)); err == nil && st.Mode().IsRegular() {
			fallback = p
		}
	}
	es, err := os.ReadDir(filepath.Join(dir, efi))
	if err != nil {
		return "", err
	}
	var found []string
	for _, e := range es {
		if !e.IsDir() || strings.EqualFold(e.Name(), "BOOT") {
			continue
		}
		if n := lookupFold(filepath.Join(dir, efi, e.Name()), want); n != "" {
			found = append(found, efi+"/"+e.Name()+"/"+n)
		}
	}
	switch {
	case len(found) == 0 && fallback != "":
		return fallback, nil
	case len(found) == 0:
		return "", fmt.Errorf("no EFI/<distribution>/%s on the ESP, and no removable-media loader %s", want, FallbackPath)
	case len(found) == 1:
		return found[0], nil
	}
	return "", fmt.Errorf("more than one loader on the ESP (%s): raidswap does not guess which one boots", strings.Join(found, ", "))
}

// LoaderPathEFI is the loader path as firmware and efibootmgr --loader write it:
// EFI/debian/grubx64.efi -> \EFI\debian\grubx64.efi.
func LoaderPathEFI(p string) string {
	return `\` + strings.ReplaceAll(strings.TrimPrefix(p, "/"), "/", `\`)
}
