package discover_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/testbin"
	"github.com/raidswap/raidswap/internal/vmtest"
)

// TestVMStatusScenarios builds each scenario on a real kernel, runs `raidswap status` live,
// captures with `raidswap snapshot`, and checks that `status --root` on the capture says what
// the live status said. With -update the captures become the fixtures in testdata/fixtures.
func TestVMStatusScenarios(t *testing.T) {
	vmtest.Require(t)
	bin := testbin.Raidswap(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var disks []vmtest.Disk
			for _, s := range sc.disks {
				disks = append(disks, vmtest.Disk{Serial: s, SizeBytes: 128 << 20, Bus: sc.bus})
			}
			script := "export PATH=" + filepath.Dir(bin) + ":$PATH\n" + prelude + sc.setup + `
set +e
raidswap status --json > live.json; echo $? > live.rc
raidswap status > live.txt
raidswap snapshot capture.tar.gz > snapshot.out || exit 10
raidswap status --root capture.tar.gz --json > captured.json; echo $? > captured.rc
cat /proc/mdstat > mdstat.txt
exit 0
`
			res := vmtest.RunT(t, vmtest.Config{Disks: disks, Script: script, Timeout: 4 * time.Minute})
			if res.ExitCode != 0 {
				t.Fatalf("scenario script exit %d:\n%s", res.ExitCode, res.Output)
			}
			read := func(name string) []byte {
				b, err := os.ReadFile(filepath.Join(res.Share, name))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			t.Logf("live status:\n%s\n/proc/mdstat:\n%s", read("live.txt"), read("mdstat.txt"))
			liveRC, _ := strconv.Atoi(strings.TrimSpace(string(read("live.rc"))))
			capRC, _ := strconv.Atoi(strings.TrimSpace(string(read("captured.rc"))))
			if liveRC != sc.exit || capRC != sc.exit {
				t.Errorf("status exit live %d captured %d, want %d", liveRC, capRC, sc.exit)
			}
			var live, captured discover.System
			if err := json.Unmarshal(read("live.json"), &live); err != nil {
				t.Fatalf("live JSON: %v", err)
			}
			if err := json.Unmarshal(read("captured.json"), &captured); err != nil {
				t.Fatalf("captured JSON: %v", err)
			}
			sc.check(t, &live)
			sc.check(t, &captured)
			if sc.volatile {
				maskSync(&live)
				maskSync(&captured)
			}
			if sc.bus == "" {
				dropLiveSMART(t, &live)
			} else {
				// SATA disks answer SMART live; a capture holds no SMART.
				for i := range live.Disks {
					live.Disks[i].SMART, live.Disks[i].SMARTReplaceCandidate = nil, false
				}
			}
			lj, _ := json.MarshalIndent(live, "", " ")
			cj, _ := json.MarshalIndent(captured, "", " ")
			if string(lj) != string(cj) {
				t.Errorf("status --root on the capture differs from live status:\nlive:\n%s\ncaptured:\n%s", lj, cj)
			}
			if golden.Update() {
				dst := filepath.Join("testdata", "fixtures", sc.name+".tar.gz")
				if err := os.WriteFile(dst, read("capture.tar.gz"), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s", dst)
			}
		})
	}
}

// maskSync blanks what moves while a recovery runs, so two reads a moment apart compare.
func maskSync(s *discover.System) {
	s.Summary = ""
	for i := range s.Arrays {
		if sy := s.Arrays[i].Sync; sy != nil {
			sy.Percent, sy.SpeedKiB, sy.ETASeconds = 0, 0, 0
		}
	}
}
