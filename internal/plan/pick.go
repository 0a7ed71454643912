package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
)

// AmbiguousError is a request without --failed on a system where raidswap cannot tell which
// disk is coming out: none has failed, or several have. Candidates name them.
type AmbiguousError struct {
	Candidates []string
}

func (e *AmbiguousError) Error() string {
	if len(e.Candidates) == 0 {
		return "no disk has failed, partially failed or vanished: name the disk coming out with --failed SERIAL (`raidswap status` lists the disks)"
	}
	return fmt.Sprintf("%d disks could be the one coming out (%s): name it with --failed SERIAL", len(e.Candidates), strings.Join(e.Candidates, "; "))
}

// PickFailed is the disk a replacement takes out when the operator did not name one: the one
// disk that has failed, partially failed or vanished, or whose array slot md now lists as
// missing while the inventory remembers it there (failed and removed by hand). It returns
// the disk's serial (its kernel name when it has none), or an *AmbiguousError.
func PickFailed(sys *discover.System) (string, error) {
	seen := map[string]string{} // serial or name -> label
	for _, d := range sys.Disks {
		switch d.Verdict {
		case discover.DiskFailed, discover.DiskPartiallyFailed, discover.DiskVanished:
			key := d.Serial
			if key == "" {
				key = d.Name
			}
			seen[key] = fmt.Sprintf("%s, %s", d.Label(), strings.ReplaceAll(string(d.Verdict), "_", " "))
		}
	}
	for _, a := range sys.Arrays {
		for _, m := range a.Members {
			if m.State != discover.MemberMissing || m.LastSerial == "" {
				continue
			}
			if _, ok := seen[m.LastSerial]; !ok {
				seen[m.LastSerial] = fmt.Sprintf("serial %s, last seen in %s's missing slot", m.LastSerial, a.Name)
			}
		}
	}
	if len(seen) == 1 {
		for k := range seen {
			return k, nil
		}
	}
	var c []string
	for _, l := range seen {
		c = append(c, l)
	}
	sort.Strings(c)
	return "", &AmbiguousError{Candidates: c}
}
