package discover_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/view"
)

// recordedSMART answers each disk's SMART from the pages recorded under
// identify/testdata/smart: name -> page base name ("ata-sectors"), or a Health given as is.
type recordedSMART struct {
	t     *testing.T
	pages map[string]string
	given map[string]identify.Health
}

func (r recordedSMART) ReadSMART(_ context.Context, name string) identify.Health {
	if h, ok := r.given[name]; ok {
		return h
	}
	base, ok := r.pages[name]
	if !ok {
		r.t.Errorf("SMART read of %s, which the test did not expect", name)
		return identify.Health{State: identify.SMARTUnknown, Reasons: []string{"unexpected"}}
	}
	read := func(ext string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "identify", "testdata", "smart", base+ext))
		if err != nil {
			r.t.Fatal(err)
		}
		return b
	}
	if strings.HasPrefix(base, "nvme") {
		return identify.DecodeNVMe(read(".log"))
	}
	return identify.DecodeATA(read(".data"), read(".thresholds"))
}

func fixtureRoot(t *testing.T, name string) *host.Root {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "fixtures", name+".tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	if _, err := capture.Unpack(f, dir); err != nil {
		t.Fatal(err)
	}
	return host.NewRoot(dir)
}

// TestSMARTStatus: SMART read from recorded pages on the clean fixture's two disks, judged
// into the verdict and rendered in every status format (golden files, -update).
func TestSMARTStatus(t *testing.T) {
	timeout := identify.Health{State: identify.SMARTUnknown, Reasons: []string{"the SMART read of /dev/vdb did not finish within 3s"}}
	denied := identify.Health{State: identify.SMARTUnknown, Denied: true, Reasons: []string{"/dev/vdb could not be opened: permission denied (SMART is read as root)"}}
	unavail := identify.Health{State: identify.SMARTUnavailable, Reasons: []string{"the device answers no SMART command: inappropriate ioctl for device"}}
	for _, tc := range []struct {
		name      string
		pages     map[string]string
		given     map[string]identify.Health
		verdict   discover.Verdict
		summary   string
		candidate bool
	}{
		{"smart-ok", map[string]string{"vda": "ata-healthy", "vdb": "nvme-healthy"}, nil, discover.OK, "2 array(s) clean", false},
		{"smart-sectors", map[string]string{"vda": "ata-healthy", "vdb": "ata-sectors"}, nil, discover.Warning,
			"disk vdb (WD-WCC4N1KPB002): SMART: 8 reallocated sectors (attribute 5)", false},
		{"smart-failing", map[string]string{"vda": "ata-healthy", "vdb": "ata-threshold"}, nil, discover.Warning,
			"SMART predicts its failure (pre-failure attribute 5 Reallocated_Sector_Ct is at or below its threshold (140 ≤ 140)", true},
		{"smart-nvme-critical", map[string]string{"vda": "nvme-critical", "vdb": "nvme-healthy"}, nil, discover.Warning,
			"raidswap replace --replace --failed WD-WCC4N1KPA001 --new SERIAL", true},
		{"smart-unknown", map[string]string{"vda": "ata-garbage"}, map[string]identify.Health{"vdb": timeout}, discover.Warning,
			"disk vda (WD-WCC4N1KPA001): SMART could not be judged: the SMART data page fails its checksum", false},
		{"smart-unavailable", nil, map[string]identify.Health{"vda": unavail, "vdb": denied}, discover.OK, "2 array(s) clean", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := discover.DiscoverWith(fixtureRoot(t, "clean"), discover.Options{SMART: recordedSMART{t: t, pages: tc.pages, given: tc.given}})
			if err != nil {
				t.Fatal(err)
			}
			if s.Verdict != tc.verdict || !strings.Contains(s.Summary, tc.summary) {
				t.Errorf("verdict %s %q, want %s containing %q", s.Verdict, s.Summary, tc.verdict, tc.summary)
			}
			cand := false
			for _, d := range s.Disks {
				if d.SMART == nil {
					t.Errorf("disk %s has no SMART", d.Name)
				}
				cand = cand || d.SMARTReplaceCandidate
			}
			if cand != tc.candidate {
				t.Errorf("replace candidate %v, want %v", cand, tc.candidate)
			}
			checkOutputsAgree(t, s)
			for _, g := range []struct {
				ext    string
				render func(*bytes.Buffer, *discover.System) error
			}{
				{"txt", func(b *bytes.Buffer, s *discover.System) error { return view.StatusHuman(b, s) }},
				{"prom", func(b *bytes.Buffer, s *discover.System) error { return view.StatusPrometheus(b, s) }},
				{"json", func(b *bytes.Buffer, s *discover.System) error { return view.StatusJSON(b, s) }},
			} {
				var b bytes.Buffer
				if err := g.render(&b, s); err != nil {
					t.Fatal(err)
				}
				golden.Check(t, filepath.Join("testdata", "golden", tc.name+"."+g.ext), b.Bytes())
			}
		})
	}
}

// A failing disk whose member is already faulty is not a --replace candidate: the copy
// would have no good source on it.
func TestSMARTCandidateNeedsInSync(t *testing.T) {
	s, err := discover.DiscoverWith(fixtureRoot(t, "failed"), discover.Options{SMART: recordedSMART{t: t, given: map[string]identify.Health{}, pages: map[string]string{"vda": "ata-threshold", "vdb": "ata-threshold", "vdc": "ata-healthy"}}})
	if err != nil {
		t.Fatal(err)
	}
	candidates, refused := 0, 0
	for _, d := range s.Disks {
		if d.SMART == nil || !d.Present {
			continue
		}
		if d.SMARTReplaceCandidate {
			candidates++
		} else if d.SMART.State == identify.SMARTFailing && len(d.Members) > 0 {
			refused++
		}
		allInSync := len(d.Members) > 0
		for _, m := range d.Members {
			allInSync = allInSync && m.State == discover.MemberInSync
		}
		if d.SMARTReplaceCandidate != (allInSync && d.SMART.State == identify.SMARTFailing) {
			t.Errorf("disk %s (%v): candidate %v", d.Name, d.Members, d.SMARTReplaceCandidate)
		}
	}
	if candidates != 1 || refused != 1 {
		t.Errorf("%d candidates and %d failing disks with a faulty member, want 1 and 1", candidates, refused)
	}
}
