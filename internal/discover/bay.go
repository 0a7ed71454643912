package discover

import (
	"errors"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/host"
)

// addBays gives each present disk its bay (identify.BayOf). Enclosure data that disagree give
// the disk a BayProblem instead of a bay; slots that cannot be read are Problems.
func (s *System) addBays(root *host.Root) {
	slots, problems := identify.Enclosures(root)
	s.Problems = append(s.Problems, problems...)
	for i := range s.Disks {
		d := &s.Disks[i]
		b, err := identify.BayOf(root, d.Name, slots)
		var be *identify.BayError
		switch {
		case errors.As(err, &be):
			d.BayProblem = be.Reason
		case err != nil:
			d.BayProblem = err.Error()
		default:
			d.Bay = b
		}
	}
}
