package discover

import (
	"errors"
	"fmt"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/inventory"
	"github.com/raidswap/raidswap/mdadm"
)

// ErrNotARoot means --root points at a directory that is neither a system root nor a capture.
var ErrNotARoot = errors.New("not a system root or a raidswap capture")

// Discover reads the system under root. Errors are returned only when nothing can be judged
// (not a root at all); a kernel without md yields a System with Verdict Unknown and a
// Summary that says so. SMART is read as DefaultOptions says.
func Discover(root *host.Root) (*System, error) { return DiscoverWith(root, DefaultOptions(root)) }

// DiscoverWith is Discover with the options given (tests pass a SMART reader of recorded
// pages).
func DiscoverWith(root *host.Root, o Options) (*System, error) {
	if !root.Exists("/sys/block") {
		return nil, fmt.Errorf("%s: %w (no sys/block under it)", root.Dir(), ErrNotARoot)
	}
	s := &System{Root: root.Dir(), Arrays: []Array{}, Disks: []Disk{}, Scope: o.Scope}
	if o.Scope != nil {
		if err := o.Scope.Check(); err != nil {
			return nil, err
		}
	}

	stats, mdErr := mdadm.ReadMDStat(root)
	sysArrays, err := mdadm.ReadSysArrays(root)
	if err != nil {
		s.Problems = append(s.Problems, err.Error())
	}
	for _, a := range sysArrays {
		s.Problems = append(s.Problems, a.Problems...)
	}
	if mdErr == nil {
		s.Arrays = mergeArrays(sysArrays, stats)
		s.judgeContainers()
	}

	where := o.Paths.OrHost()
	if o.Scope != nil {
		where.Inventory = o.Scope.InventoryPath()
	}
	inv, err := inventory.LoadFile(root, where.Inventory)
	if err != nil {
		s.Problems = append(s.Problems, err.Error())
	}
	s.Inventory = inv
	if mdErr == nil {
		s.addRememberedArrays()
	}
	s.Host = readHost(root, &s.Problems)
	if o.Profile != nil {
		s.Host.Profile = *o.Profile
	} else {
		s.Host.Profile = host.DetectProfile(root)
	}
	if o.Scope != nil {
		// The drill's layout boots by BIOS whatever the host's firmware is.
		s.Host.Firmware = FirmwareBIOS
	}
	u := readUsage(root, &s.Problems)
	s.markDrillMembers(root)
	memberDisks := map[string]bool{}
	for _, a := range s.Arrays {
		for _, m := range a.Members {
			if m.Disk != nil {
				memberDisks[*m.Disk] = true
			}
		}
	}
	ids, err := identify.Disks(root, func(name string) bool {
		return identify.IsPhysicalName(name) || memberDisks[name]
	})
	if err != nil {
		s.Problems = append(s.Problems, err.Error())
	}
	for _, id := range ids {
		s.Disks = append(s.Disks, diskFrom(root, id, u))
	}
	if o.Scope != nil {
		s.applyScope(o.Scope)
	}
	s.addBays(root)
	s.judgeIdentities()
	s.attachMembers()
	if o.Scope != nil {
		s.keepRemembered()
	}
	s.readSMART(o)
	for i := range s.Arrays {
		s.Arrays[i].Mountpoints = u.mountsByName[s.Arrays[i].Name]
		s.Arrays[i].Swap = u.swap[s.Arrays[i].Name]
	}
	if o.Scope == nil {
		s.Unfinished = readUnfinished(root, where.Journal, &s.Problems)
	}
	s.Host.Boot = detectBoot(root, s, u.stack)
	for _, bd := range s.Host.Boot.Disks {
		if d := s.Disk(bd.Name); d != nil && bd.Ready.State != "" {
			d.Boot = &bd.Ready
		}
	}
	s.markBootPending()

	switch {
	case errors.Is(mdErr, mdadm.ErrNoMD):
		s.Verdict, s.Summary = Unknown, "cannot judge: "+mdErr.Error()
	case mdErr != nil:
		s.Verdict, s.Summary = Unknown, "cannot judge: "+mdErr.Error()
	default:
		s.Verdict, s.Summary = judge(s)
	}
	s.Next = nextStep(s)
	return s, nil
}
