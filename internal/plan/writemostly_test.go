package plan

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/plan/plantest"
)

// flagWriteMostly adds md's write_mostly flag (in either spelling md has used) to dev's member.
func flagWriteMostly(s *discover.System, dev, word string) *discover.System {
	for ai := range s.Arrays {
		for mi := range s.Arrays[ai].Members {
			if m := &s.Arrays[ai].Members[mi]; m.Device != nil && *m.Device == dev {
				m.Flags = append(m.Flags, word)
			}
		}
	}
	return s
}

// TestWriteMostlyKept (issue 17): the member that replaces a write-mostly one is added with
// --write-mostly, derived from the step's typed operand; the other arrays' adds are plain.
func TestWriteMostlyKept(t *testing.T) {
	tests := []struct {
		name string
		sys  *discover.System
		req  Request
		want []string // the add commands, in order
	}{
		{"failed member write-mostly", flagWriteMostly(plantest.Seed(), "vdb3", "write_mostly"),
			Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS, Swap: seedSwap()},
			[]string{"/sbin/mdadm /dev/md0 --add {new:2}", "/sbin/mdadm /dev/md1 --add --write-mostly {new:3}"}},
		{"old kernel's spelling", flagWriteMostly(plantest.Seed(), "vdb2", "writemostly"),
			Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS, Swap: seedSwap()},
			[]string{"/sbin/mdadm /dev/md0 --add --write-mostly {new:2}", "/sbin/mdadm /dev/md1 --add {new:3}"}},
		{"survivor write-mostly: not the replaced member's flag", flagWriteMostly(plantest.Seed(), "vda3", "write_mostly"),
			Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS, Swap: seedSwap()},
			[]string{"/sbin/mdadm /dev/md0 --add {new:2}", "/sbin/mdadm /dev/md1 --add {new:3}"}},
		{"replace a working write-mostly member", flagWriteMostly(plantest.Working(), "vdb3", "write_mostly"),
			Request{Mode: ReplaceWorking, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS, Swap: seedSwap()},
			[]string{"/sbin/mdadm /dev/md0 --add {new:2}", "/sbin/mdadm /dev/md1 --add --write-mostly {new:3}"}},
		{"vanished: md no longer lists the member", plantest.Vanished(),
			Request{Mode: ReplaceFailed, Failed: plantest.Old, Firmware: FirmwareBIOS, Swap: []SwapPartition{{Partition: 4, UUID: plantest.SwapUUID}}},
			[]string{"/sbin/mdadm /dev/md0 --add {new:2}", "/sbin/mdadm /dev/md1 --add {new:3}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Build(tt.sys, tt.req, testOpts)
			if err != nil {
				t.Fatal(err)
			}
			var adds []string
			for _, s := range p.Steps {
				if s.Action == ActionAddMember || s.Action == ActionAddSpare {
					adds = append(adds, Command(s.Argv))
					if s.Target.WriteMostly != slices.Contains(s.Argv, "--write-mostly") || s.Target.WriteMostly != strings.Contains(s.Reason, "write-mostly, like") {
						t.Errorf("step %s: operand write_mostly=%v but command %q, reason %q", s.ID, s.Target.WriteMostly, Command(s.Argv), s.Reason)
					}
				}
			}
			if !slices.Equal(adds, tt.want) {
				t.Errorf("adds:\n%s\nwant:\n%s", strings.Join(adds, "\n"), strings.Join(tt.want, "\n"))
			}
			if err := p.CheckSteps(host.Profile{}); err != nil {
				t.Errorf("CheckSteps: %v", err)
			}
		})
	}
}

// TestWriteMostlyDerive: the flag comes from the operand, only for adding a member; a plan
// whose stored command drops or adds it is refused.
func TestWriteMostlyDerive(t *testing.T) {
	p, err := Build(flagWriteMostly(plantest.Seed(), "vdb3", "write_mostly"),
		Request{Mode: ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: FirmwareBIOS, Swap: seedSwap()}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	var invalid *InvalidError
	for i, s := range p.Steps {
		switch {
		case s.ID == "add-md1":
			q := *p
			q.Steps = slices.Clone(p.Steps)
			q.Steps[i].Argv = []string{"/sbin/mdadm", "/dev/md1", "--add", "{new:3}"}
			if err := q.CheckSteps(host.Profile{}); !errors.As(err, &invalid) {
				t.Errorf("an add step whose command drops --write-mostly: CheckSteps = %v", err)
			}
			q.Steps[i] = s
			q.Steps[i].Target.WriteMostly = false
			if err := q.CheckSteps(host.Profile{}); !errors.As(err, &invalid) {
				t.Errorf("an add step whose operand drops write_mostly but keeps the flag: CheckSteps = %v", err)
			}
		case s.Action == ActionDetach:
			s.Target.WriteMostly = true
			if _, err := Derive(host.Profile{}, p, s); !errors.As(err, &invalid) || !strings.Contains(err.Error(), "write-mostly applies to adding a member") {
				t.Errorf("write_mostly on %s: Derive = %v", s.ID, err)
			}
		}
	}
}
