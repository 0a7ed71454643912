package bootloader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/raidswap/raidswap/internal/host"
)

// The UEFI path keeps one EFI System Partition per disk: the new disk's ESP gets a file
// system like the survivor's, a verified copy of the survivor's tree, and each ESP the
// removable-media fallback path, so the firmware finds a loader on either disk even
// without a boot entry.

// ESPTypeGUID is the GPT partition type of an EFI System Partition; on a DOS label it is 0xef.
const (
	ESPTypeGUID = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
	ESPTypeMBR  = "0xef"
)

// ESPMountBase is where raidswap mounts ESPs, each at a private directory of its own: the
// survivor's read-only for the copy, the new one read-write. Nothing else reads or writes
// ESP files.
const ESPMountBase = "/run/raidswap/esp"

// ShimSignedImage is the Debian family's signed shim (package shim-signed), which
// grub-install --uefi-secure-boot copies onto an ESP.
const ShimSignedImage = "/usr/lib/shim/shimx64.efi.signed"

// FallbackPath is the removable-media path the firmware boots when no boot entry names a
// loader (UEFI spec 3.5.1.1, x86-64).
const FallbackPath = "EFI/BOOT/BOOTX64.EFI"

// tmpPrefix names what a copy writes before it is complete; a rename puts it in place, so
// a full ESP or an interruption leaves the old tree or the whole new one, never half of it.
const tmpPrefix = ".raidswap-tmp"

var serialSafeRE = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// ESPMountDir is the private mount directory for partition part of the disk with serial.
func ESPMountDir(serial, part string) string {
	s := serialSafeRE.ReplaceAllString(serial, "_")
	if s == "" {
		s = "noserial"
	}
	return ESPMountBase + "/" + s + "-" + serialSafeRE.ReplaceAllString(part, "_")
}

// ESPFS is what blkid says of an ESP's file system and partition.
type ESPFS struct {
	Type     string // vfat
	Version  string // FAT12, FAT16, FAT32
	Label    string
	UUID     string // the volume id, as blkid shows it: ABCD-1234
	PARTUUID string
	PartType string // GPT type GUID or 0xef
	PartNum  int
	// SizeSectors is the partition's size in 512-byte sectors.
	SizeSectors int64
}

// FATBits is 12, 16 or 32 from Version, 0 when it is none of them.
func (e ESPFS) FATBits() int {
	switch strings.ToUpper(e.Version) {
	case "FAT12":
		return 12
	case "FAT16":
		return 16
	case "FAT32":
		return 32
	}
	return 0
}

// ProbeESPArgv is the low-level probe of one partition: it reads the device's superblock
// and partition entry itself, so it needs no udev and no cache.
func ProbeESPArgv(dev string) []string {
	return []string{host.Blkid, "-p", "-o", "export", dev}
}

// ErrNoFS is returned by ProbeESP for a partition that holds no file system blkid knows.
var ErrNoFS = errors.New("no file system")

// ProbeESP runs blkid on dev and parses its answer. Exit 2 (nothing found) is ErrNoFS.
func ProbeESP(ctx context.Context, r host.Runner, dev string) (ESPFS, error) {
	res, err := r.Run(ctx, ProbeESPArgv(dev)...)
	if err != nil {
		var ee *host.ExitError
		if errors.As(err, &ee) && ee.Result.ExitCode == 2 {
			return ESPFS{}, fmt.Errorf("%s: %w", dev, ErrNoFS)
		}
		return ESPFS{}, err
	}
	return ParseBlkidExport(res.Stdout)
}

// ParseBlkidExport parses `blkid -p -o export` output (KEY=value lines; untrusted: a line
// that is not KEY=value is refused).
func ParseBlkidExport(b []byte) (ESPFS, error) {
	var e ESPFS
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			return ESPFS{}, fmt.Errorf("blkid: line %q is not KEY=value", line)
		}
		switch k {
		case "TYPE":
			e.Type = v
		case "VERSION":
			e.Version = v
		case "LABEL":
			e.Label = v
		case "UUID":
			e.UUID = v
		case "PART_ENTRY_UUID":
			e.PARTUUID = strings.ToLower(v)
		case "PART_ENTRY_TYPE":
			e.PartType = strings.ToLower(v)
		case "PART_ENTRY_NUMBER":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 || n > 128 {
				return ESPFS{}, fmt.Errorf("blkid: partition number %q", v)
			}
			e.PartNum = n
		case "PART_ENTRY_SIZE":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return ESPFS{}, fmt.Errorf("blkid: partition size %q", v)
			}
			e.SizeSectors = n
		}
	}
	return e, nil
}

// fatLabelRE is what raidswap passes to mkfs.vfat -n: at most 11 characters that need no
// code page. A label outside it is left off (the file system gets none) rather than mangled.
var fatLabelRE = regexp.MustCompile(`^[A-Z0-9 _-]{1,11}$`)

// volumeIDRE is a FAT volume id as blkid shows it.
var volumeIDRE = regexp.MustCompile(`^[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}$`)

// ValidFATLabel reports whether label can be given to mkfs.vfat as it is.
func ValidFATLabel(label string) bool { return fatLabelRE.MatchString(label) }

// ValidVolumeID reports whether id is a FAT volume id (ABCD-1234).
func ValidVolumeID(id string) bool { return volumeIDRE.MatchString(id) }

// MkfsESP is the command that makes the new disk's ESP file system: the survivor's FAT
// type, label and volume id. The same volume id keeps an fstab line `UUID=ABCD-1234
// /boot/efi` mounting an ESP whichever disk is left; with both present either one, which
// raidswap keeps identical, serves. fatBits must be 12, 16 or 32; an empty label or
// volume id is left to mkfs.
func MkfsESP(dev string, fatBits int, label, volumeID string) ([]string, error) {
	if fatBits != 12 && fatBits != 16 && fatBits != 32 {
		return nil, fmt.Errorf("FAT type %d is not 12, 16 or 32", fatBits)
	}
	argv := []string{host.MkfsVfat, "-F", strconv.Itoa(fatBits)}
	if label != "" {
		if !ValidFATLabel(label) {
			return nil, fmt.Errorf("ESP label %q is not a plain FAT label (A-Z 0-9 space _ -, at most 11)", label)
		}
		argv = append(argv, "-n", label)
	}
	if volumeID != "" {
		if !ValidVolumeID(volumeID) {
			return nil, fmt.Errorf("volume id %q is not of the form ABCD-1234", volumeID)
		}
		argv = append(argv, "-i", strings.ToUpper(strings.ReplaceAll(volumeID, "-", "")))
	}
	return append(argv, dev), nil
}

// File is one file or directory of an ESP tree, by its slash path below the ESP's root.
type File struct {
	Path   string
	Dir    bool
	Size   int64
	SHA256 [32]byte
}

// ReadTree lists the tree under dir with each file's SHA-256, sorted by path. Symbolic
// links and special files are refused (FAT has none; finding one means dir is not an ESP).
// raidswap's own temporary names are left out.
func ReadTree(dir string) ([]File, error) {
	var out []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(path.Base(rel), tmpPrefix) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			out = append(out, File{Path: rel, Dir: true})
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: not a regular file or directory (%s)", p, d.Type())
		}
		sum, n, err := hashFile(p)
		if err != nil {
			return err
		}
		out = append(out, File{Path: rel, Size: n, SHA256: sum})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func hashFile(p string) ([32]byte, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return [32]byte{}, 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return [32]byte{}, 0, err
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, n, nil
}

// Mismatch is the first difference between an ESP tree and the survivor's, or "" when
// every file and directory of want is in got with the same content. FAT names are compared
// without case, as the firmware and the kernel's vfat compare them.
func Mismatch(want, got []File) string {
	have := map[string]File{}
	for _, f := range got {
		have[strings.ToLower(f.Path)] = f
	}
	for _, w := range want {
		g, ok := have[strings.ToLower(w.Path)]
		switch {
		case !ok:
			return w.Path + " is missing"
		case w.Dir != g.Dir:
			return w.Path + " is a directory on one ESP and a file on the other"
		case w.Dir:
		case w.Size != g.Size:
			return fmt.Sprintf("%s has %d bytes, want %d", w.Path, g.Size, w.Size)
		case w.SHA256 != g.SHA256:
			return fmt.Sprintf("%s differs (sha256 %x, want %x)", w.Path, g.SHA256[:8], w.SHA256[:8])
		}
	}
	return ""
}

// FullError refuses a copy that does not fit on the target ESP.
type FullError struct {
	Dir        string
	NeedBytes  int64
	FreeBytes  int64
	FilesBytes int64
}

func (e *FullError) Error() string {
	return fmt.Sprintf("the ESP at %s has %d bytes free; the survivor's tree needs %d (%d bytes of files, rounded to clusters): nothing was copied",
		e.Dir, e.FreeBytes, e.NeedBytes, e.FilesBytes)
}

// freeBytes is the space left on the file system of dir and its block size (a variable so
// a test can make an ESP full without filling a disk).
var freeBytes = statfsFree

func statfsFree(dir string) (free, block int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Bavail) * st.Bsize, st.Bsize, nil
}

// need is what a tree takes on a file system with the given cluster size: each file
// rounded up to clusters, each directory one cluster.
func need(tree []File, cluster int64) (total, files int64) {
	if cluster <= 0 {
		cluster = 512
	}
	for _, f := range tree {
		if f.Dir {
			total += cluster
			continue
		}
		files += f.Size
		total += (f.Size + cluster - 1) / cluster * cluster
	}
	return total, files
}

// SyncResult says what SyncTree did.
type SyncResult struct {
	// AlreadyInSync: the target already held the survivor's tree; nothing was written.
	AlreadyInSync bool
	Files         int
	Bytes         int64
}

// SyncTree makes the ESP mounted at dst hold the tree of the ESP mounted at src, verified
// file by file by SHA-256. It is done in Go, not by `cp -a`, because every file is checked
// against the survivor's hash after it is written and synced, and the whole tree is first
// written under a temporary name and only then renamed into place: a full ESP is refused
// before anything is written (with the numbers), and an interrupted copy leaves a
// temporary directory that the next run removes, never a half-written EFI/ tree. Running
// it again on a target in sync writes nothing.
func SyncTree(src, dst string) (SyncResult, error) {
	want, err := ReadTree(src)
	if err != nil {
		return SyncResult{}, fmt.Errorf("reading the survivor's ESP: %w", err)
	}
	if len(want) == 0 {
		return SyncResult{}, fmt.Errorf("the survivor's ESP at %s is empty: nothing to copy, and nothing that boots", src)
	}
	got, err := ReadTree(dst)
	if err != nil {
		return SyncResult{}, fmt.Errorf("reading the new ESP: %w", err)
	}
	if Mismatch(want, got) == "" {
		return SyncResult{AlreadyInSync: true}, nil
	}
	tmp := filepath.Join(dst, tmpPrefix)
	if err := os.RemoveAll(tmp); err != nil {
		return SyncResult{}, fmt.Errorf("removing an interrupted copy: %w", err)
	}
	free, cluster, err := freeBytes(dst)
	if err != nil {
		return SyncResult{}, err
	}
	// What the target holds now is replaced only after the copy: it still takes room.
	total, files := need(want, cluster)
	if total > free {
		return SyncResult{}, &FullError{Dir: dst, NeedBytes: total, FreeBytes: free, FilesBytes: files}
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return SyncResult{}, err
	}
	res := SyncResult{}
	for _, f := range want {
		to := filepath.Join(tmp, filepath.FromSlash(f.Path))
		if f.Dir {
			if err := os.Mkdir(to, 0o700); err != nil {
				return res, err
			}
			continue
		}
		if err := copyVerified(filepath.Join(src, filepath.FromSlash(f.Path)), to, f.SHA256); err != nil {
			return res, err
		}
		res.Files++
		res.Bytes += f.Size
	}
	// Rename each top-level entry into place; one that is already there is moved aside
	// first and removed after, so each entry is either the old one or the new one whole.
	top, err := os.ReadDir(tmp)
	if err != nil {
		return res, err
	}
	for _, e := range top {
		final := filepath.Join(dst, e.Name())
		old := filepath.Join(dst, tmpPrefix+"-old-"+e.Name())
		if err := os.RemoveAll(old); err != nil {
			return res, err
		}
		if existing := lookupFold(dst, e.Name()); existing != "" {
			if err := os.Rename(filepath.Join(dst, existing), old); err != nil {
				return res, err
			}
		}
		if err := os.Rename(filepath.Join(tmp, e.Name()), final); err != nil {
			return res, err
		}
		if err := os.RemoveAll(old); err != nil {
			return res, err
		}
	}
	if err := os.Remove(tmp); err != nil {
		return res, err
	}
	if err := syncDir(dst); err != nil {
		return res, err
	}
	got, err = ReadTree(dst)
	if err != nil {
		return res, err
	}
	if m := Mismatch(want, got); m != "" {
		return res, fmt.Errorf("after the copy the new ESP differs from the survivor's: %s", m)
	}
	return res, nil
}

// lookupFold finds name in dir ignoring case (FAT's rule), "" when absent.
func lookupFold(dir, name string) string {
	es, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range es {
		if strings.EqualFold(e.Name(), name) {
			return e.Name()
		}
	}
	return ""
}

// copyVerified copies from to to (a new file), syncs it, reads it back and compares its
// SHA-256 with want.
func copyVerified(from, to string, want [32]byte) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", from, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("syncing %s: %w", to, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	if !bytes.Equal(h.Sum(nil), want[:]) {
		return fmt.Errorf("%s changed while it was copied (sha256 differs from the one read first)", from)
	}
	got, _, err := hashFile(to)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s reads back different from %s (sha256 %x, want %x)", to, from, got[:8], want[:8])
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	// syncfs through the directory, not fsync: vfat writes a renamed file's start cluster
	// into its new directory entry only when the file's inode is written back, which an
	// fsync of the directory does not do. Until then the disk holds the entry with cluster
	// 0 (status, reading the device, found "invalid start cluster: 0" in EFI/BOOT/BOOTX64.EFI
	// right after the fallback step), and a power cut would leave it so.
	if err := unix.Syncfs(int(d.Fd())); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

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
