package partition

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/paths"
)

// CloneRequest is what `raidswap partition clone` asks for.
type CloneRequest struct {
	Source, Target string
	// Sector sizes of image files; 0 means 512 (and physical = logical). For block devices
	// they must be 0 or match the device.
	SourceSectorSize         int
	TargetSectorSize         int
	TargetPhysicalSectorSize int

	// Runner runs libblkid's tools (wipefs, blkid) to learn what the target holds; without
	// one the target is refused, never assumed empty.
	Runner host.Runner

	DryRun                bool
	Wipe                  bool
	AllowSectorSizeChange bool
	// BackupDir is where table backups go (paths.Host's when empty).
	BackupDir string
	Now       func() time.Time
	Rand      io.Reader
	// Add is a partition the clone adds beside the source's (PlanOptions.Add).
	Add *NewPartition
}

// CloneResult is everything Clone learned and did, for rendering. Fields are filled as far
// as Clone got, so a refusal can still show the planned layout.
type CloneResult struct {
	Source      DiskID        `json:"source"`
	Target      DiskID        `json:"target"`
	SourceTable *Table        `json:"source_table,omitempty"`
	Needs       []MemberNeed  `json:"md_members,omitempty"`
	Layout      *Layout       `json:"layout,omitempty"`
	Moves       []Move        `json:"moves,omitempty"`
	Existing    []Signature   `json:"existing_data,omitempty"`
	DryRun      bool          `json:"dry_run"`
	Backups     []string      `json:"backups,omitempty"`
	Write       *WriteReport  `json:"write,omitempty"`
	Kernel      *KernelUpdate `json:"kernel,omitempty"`
	Verified    bool          `json:"verified"`
}

// Clone copies the partition table of req.Source onto req.Target: read and plan, check that
// the target is not in use and holds no data (unless Wipe), back up both tables, write, make
// the kernel see the new partitions, and read everything back. With DryRun it stops after
// the checks. Every refusal is a *RefusedError naming the target and its serial.
func Clone(root *host.Root, req CloneRequest) (*CloneResult, error) {
	res := &CloneResult{DryRun: req.DryRun, Source: DiskID{Path: req.Source}, Target: DiskID{Path: req.Target}}
	src, err := Open(req.Source, OpenOptions{LogicalSectorSize: req.SourceSectorSize})
	if err != nil {
		return res, fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	if res.Source, err = Identify(root, src); err != nil {
		return res, fmt.Errorf("source: %w", err)
	}
	dstOpts := OpenOptions{LogicalSectorSize: req.TargetSectorSize, PhysicalSectorSize: req.TargetPhysicalSectorSize}
	dst, err := Open(req.Target, dstOpts)
	if err != nil {
		return res, fmt.Errorf("target: %w", err)
	}
	defer func() { dst.Close() }()
	if res.Target, err = Identify(root, dst); err != nil {
		return res, fmt.Errorf("target: %w", err)
	}
	tid := res.Target
	refuseAs := func(err error) error { return withDevice(err, tid.Path, tid.Serial) }
	if src.SameAs(dst) {
		return res, refuseAs(refuse(RefuseSameDisk, "it is the source disk"))
	}
	for _, x := range []struct {
		d  *Disk
		id DiskID
	}{{src, res.Source}, {dst, tid}} {
		if x.d.IsBlockDevice() && root.IsLive() {
			if g, err := BlockGeometry(root, x.id.Name); err == nil && g != x.d.Geometry() {
				return res, fmt.Errorf("%s: sysfs says %s but the device says %s", x.id.Path, g, x.d.Geometry())
			}
		}
	}
	if err := CheckTarget(root, tid); err != nil {
		return res, err
	}

	st, err := Read(src)
	if err != nil {
		reason := fmt.Sprintf("cannot read the source table: %v", err)
		if errors.Is(err, ErrNoTable) {
			reason = noTableReason(req.Runner, src, res.Source, err)
		}
		return res, refuseAs(&RefusedError{Kind: RefuseUnsupported, Reason: reason, Err: err})
	}
	res.SourceTable = &st
	needs, err := ReadMemberNeeds(src, st)
	if err != nil {
		return res, fmt.Errorf("source: %w", err)
	}
	res.Needs = needs
	lay, moves, err := PlanClone(st, dst.Geometry(), needs, PlanOptions{AllowSectorSizeChange: req.AllowSectorSizeChange, Rand: req.Rand, Add: req.Add})
	if err != nil {
		return res, refuseAs(err)
	}
	res.Layout, res.Moves = &lay, moves
	if res.Existing, err = inspectTarget(root, req.Runner, dst, tid, &lay, req.Wipe); err != nil {
		return res, err
	}
	if req.DryRun {
		return res, nil
	}

	now := time.Now
	if req.Now != nil {
		now = req.Now
	}
	base := req.BackupDir
	if base == "" {
		base = paths.Host().Backups
	}
	dir, err := Backup(base, src, res.Source, &st, now())
	if err != nil {
		return res, fmt.Errorf("backing up the source table: %w", err)
	}
	res.Backups = append(res.Backups, dir)
	var old *Table
	if t, err := ReadFrom(dst, dst.Geometry()); err == nil {
		old = &t
	}
	if dir, err = Backup(base, dst, tid, old, now()); err != nil {
		return res, fmt.Errorf("backing up the target table: %w", err)
	}
	res.Backups = append(res.Backups, dir)

	// Reopen for writing: exclusively, so the kernel itself refuses a disk that came into use
	// since the checks, and check once more right before the write.
	w, err := Open(req.Target, OpenOptions{Write: true, LogicalSectorSize: req.TargetSectorSize, PhysicalSectorSize: req.TargetPhysicalSectorSize})
	if err != nil {
		return res, &RefusedError{Kind: RefuseInUse, Device: tid.Path, Serial: tid.Serial, Reason: err.Error(), Err: err}
	}
	dst.Close()
	dst = w
	if id, err := Identify(root, dst); err != nil || id != tid || dst.Geometry() != lay.Geometry {
		return res, refuseAs(refuse(RefuseInUse, "the disk changed between planning and writing"))
	}
	if err := CheckTarget(root, tid); err != nil {
		return res, err
	}
	rep, err := Write(dst, lay)
	res.Write = &rep
	if err != nil {
		return res, refuseAs(err)
	}
	if dst.IsBlockDevice() {
		up, err := UpdateKernel(root, dst, tid.Name, lay)
		res.Kernel = &up
		if err != nil {
			return res, fmt.Errorf("telling the kernel about the new table on %s: %w", tid, err)
		}
	}
	if err := Verify(dst, lay); err != nil {
		return res, err
	}
	res.Verified = true
	return res, nil
}

// noTableReason says why a source without a GPT or DOS table cannot be cloned: the label it
// has instead (libblkid names sun, sgi, atari, ...), a file system on the whole disk, or
// nothing at all.
func noTableReason(runner host.Runner, src *Disk, id DiskID, readErr error) string {
	var whole *WholeDiskFSError
	if errors.As(readErr, &whole) {
		return fmt.Sprintf("the source %s holds a %s file system on the whole disk (no partition table): nothing to clone", id, whole.FS)
	}
	sigs, _, err := findSignatures(src, nil, nil)
	if err == nil && runner != nil {
		if lib, err := probeLibblkid(runner, src.Path(), src.Geometry(), nil); err == nil {
			sigs = mergeSignatures(sigs, lib)
		}
	}
	for _, s := range sigs {
		if s.Volume == "the disk" && (strings.HasSuffix(s.What, " partition table") || strings.HasSuffix(s.What, " disk label")) {
			return fmt.Sprintf("the source %s has a %s, which raidswap does not clone (it clones GPT and DOS tables)", id, strings.TrimSuffix(strings.TrimSuffix(s.What, " partition table"), " disk label")+" disk label")
		}
	}
	for _, s := range sigs {
		if s.Volume == "the disk" && strings.HasSuffix(s.What, " file system") {
			return fmt.Sprintf("the source %s holds a %s on the whole disk (no partition table): nothing to clone", id, s.What)
		}
	}
	return fmt.Sprintf("the source %s has no partition table to clone", id)
}
