package plan_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/plan/plantest"
	"github.com/raidswap/raidswap/internal/view"
)

var smartOpts = plan.Options{Version: "test", Key: []byte("raidswap plan test key, 32 bytes"), Now: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)}

// page judges a disk from the pages recorded under identify/testdata/smart.
func page(t *testing.T, base string) *identify.Health {
	t.Helper()
	read := func(ext string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "identify", "testdata", "smart", base+ext))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var h identify.Health
	if strings.HasPrefix(base, "nvme") {
		h = identify.DecodeNVMe(read(".log"))
	} else {
		h = identify.DecodeATA(read(".data"), read(".thresholds"))
	}
	return &h
}

// seedWithNew is the seed with the new disk attached (blank), each disk's SMART as given.
func seedWithNew(survivor, newDisk *identify.Health) *discover.System {
	s := plantest.Seed()
	s.Disks = append(s.Disks, plantest.BlankDisk("vdc", plantest.New))
	s = plantest.Finish(s)
	s.Disk("vda").SMART = survivor
	s.Disk("vdc").SMART = newDisk
	return s
}

func smartSeedReq(accept bool) plan.Request {
	return plan.Request{Mode: plan.ReplaceFailed, Failed: plantest.Old, New: plantest.New, Firmware: plan.FirmwareBIOS, AcceptNewDiskSMART: accept}
}

func render(t *testing.T, p *plan.Plan, name string) {
	t.Helper()
	for _, f := range []struct{ format, ext string }{{view.FormatText, "txt"}, {view.FormatMarkdown, "md"}} {
		var b bytes.Buffer
		if err := view.Plan(&b, p, f.format); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", name+"."+f.ext), b.Bytes())
	}
}

// TestSMARTSurvivorNote: a survivor with reallocated and pending sectors gets a loud note
// naming its arrays to back up; a healthy or SMART-less one gets none.
func TestSMARTSurvivorNote(t *testing.T) {
	p, err := plan.Build(seedWithNew(page(t, "ata-sectors"), page(t, "ata-healthy")), smartSeedReq(false), smartOpts)
	if err != nil {
		t.Fatal(err)
	}
	note := strings.Join(p.Notes, "\n")
	golden.Contains(t, note, "WARNING: THE SURVIVOR VDA (WD-SURV) reports 8 reallocated, 2 pending, 1 offline uncorrectable sectors (SMART)",
		"The rebuild reads every sector of it", "BACK UP FIRST what is on /dev/md0 (/boot), /dev/md1 (/)")
	render(t, p, "smart-survivor")

	for _, h := range []*identify.Health{nil, page(t, "ata-healthy"), {State: identify.SMARTUnavailable, Reasons: []string{"no SMART"}},
		{State: identify.SMARTUnknown, Denied: true, Reasons: []string{"denied"}}} {
		p, err := plan.Build(seedWithNew(h, nil), smartSeedReq(false), smartOpts)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range p.Notes {
			if strings.Contains(n, "SURVIVOR") || strings.Contains(n, "SMART") {
				t.Errorf("survivor SMART %v: note %q", h.Summary(), n)
			}
		}
	}
	p, err = plan.Build(seedWithNew(page(t, "ata-garbage"), nil), smartSeedReq(false), smartOpts)
	if err != nil {
		t.Fatal(err)
	}
	golden.Contains(t, strings.Join(p.Notes, "\n"), "the survivor vda (WD-SURV)'s SMART could not be judged (the SMART data page fails its checksum")
	p, err = plan.Build(seedWithNew(page(t, "nvme-critical"), nil), smartSeedReq(false), smartOpts)
	if err != nil {
		t.Fatal(err)
	}
	golden.Contains(t, strings.Join(p.Notes, "\n"), "reports 12 media errors and predicts its own failure (NVMe critical warning 0x04")
}

// TestSMARTNewDiskRefused: a new disk with bad sectors is refused by plan.Build unless the
// request accepts it; the acceptance is sealed into the plan and said in a note.
func TestSMARTNewDiskRefused(t *testing.T) {
	_, err := plan.Build(seedWithNew(page(t, "ata-healthy"), page(t, "ata-sectors")), smartSeedReq(false), smartOpts)
	var ne *plan.NewDiskError
	if !errors.As(err, &ne) || ne.Rule != plan.NewDiskSMART ||
		!strings.Contains(err.Error(), "vdc (WD-NEW): reports 8 reallocated, 2 pending, 1 offline uncorrectable sectors by its own SMART: a new disk should start with none; use another disk, or accept this one with --accept-new-disk-smart") {
		t.Fatalf("got %v", err)
	}
	_, err = plan.Build(seedWithNew(nil, page(t, "nvme-spare")), smartSeedReq(false), smartOpts)
	if !errors.As(err, &ne) || ne.Rule != plan.NewDiskSMART || !strings.Contains(err.Error(), "its SMART predicts its failure") {
		t.Fatalf("a new disk predicting its failure: %v", err)
	}
	for _, ok := range []string{"ata-healthy", "ata-crc", "nvme-healthy", "ata-garbage"} {
		if _, err := plan.Build(seedWithNew(nil, page(t, ok)), smartSeedReq(false), smartOpts); err != nil {
			t.Errorf("new disk with %s refused: %v", ok, err)
		}
	}

	p, err := plan.Build(seedWithNew(page(t, "ata-healthy"), page(t, "ata-sectors")), smartSeedReq(true), smartOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Disks.New.AcceptSMART {
		t.Error("the plan does not carry the acceptance")
	}
	golden.Contains(t, strings.Join(p.Notes, "\n"), "the new disk vdc (WD-NEW) reports 8 reallocated, 2 pending, 1 offline uncorrectable sectors by its own SMART; it is used anyway because the plan was made with --accept-new-disk-smart")
	render(t, p, "smart-new-accepted")
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Disks struct {
			New struct {
				AcceptSMART bool `json:"accept_smart"`
			} `json:"new"`
		} `json:"disks"`
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || !back.Disks.New.AcceptSMART {
		t.Errorf("the saved plan lacks accept_smart: %v", err)
	}
}

// TestCheckNewDiskSMART: the rule on its own, and a re-add's returning disk is not judged by
// it (it is not new).
func TestCheckNewDiskSMART(t *testing.T) {
	d := plantest.BlankDisk("vdc", plantest.New)
	d.SMART = page(t, "ata-threshold")
	disks := plan.Disks{Failed: plan.DiskRef{Device: "vdb", Serial: plantest.Old}, Survivor: plan.DiskRef{Device: "vda", Serial: plantest.Survivor}}
	if err := plan.CheckNewDisk(&d, disks); err == nil || !strings.Contains(err.Error(), "1748 reallocated") {
		t.Errorf("got %v", err)
	}
	disks.New.AcceptSMART = true
	if err := plan.CheckNewDisk(&d, disks); err != nil {
		t.Errorf("accepted disk refused: %v", err)
	}
	back := plantest.BlankDisk("vdd", plantest.Old)
	back.SMART = page(t, "ata-sectors")
	readd := plan.Disks{Failed: disks.Failed, Survivor: disks.Survivor, New: plan.NewDisk{Serial: plantest.Old}}
	if err := plan.CheckNewDisk(&back, readd); err != nil {
		t.Errorf("re-add refused by SMART: %v", err)
	}
}

// TestSMARTReplaceWorkingNote: replacing a working disk that SMART says is failing says why
// --replace is the right way.
func TestSMARTReplaceWorkingNote(t *testing.T) {
	s := plantest.Working()
	s.Disk("vdb").SMART = page(t, "ata-threshold")
	p, err := plan.Build(s, plan.Request{Mode: plan.ReplaceWorking, Failed: plantest.Old, New: plantest.New, Firmware: plan.FirmwareBIOS}, smartOpts)
	if err != nil {
		t.Fatal(err)
	}
	golden.Contains(t, strings.Join(p.Notes, "\n"), "the disk coming out, vdb (WD-OLD), says by SMART: pre-failure attribute 5 Reallocated_Sector_Ct is at or below its threshold",
		"mdadm --replace copies it while the arrays stay redundant")
}
