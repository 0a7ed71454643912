package discover_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/capture"
	"github.com/raidswap/raidswap/internal/discover"
	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/paths"
	"github.com/raidswap/raidswap/internal/view"
)

// TestStatusUnfinishedReplacement: the clean capture (both arrays whole, "OK: 2 array(s)
// clean") with a replacement's journal left open by a power cut is a warning that names the
// plan and says `raidswap resume` continues it, in text, JSON and Prometheus; a finished or
// aborted journal changes nothing. The journal is read through the Root (so a capture
// carries it) and left as it was.
func TestStatusUnfinishedReplacement(t *testing.T) {
	const plan = `{"format":2,"disks":{"failed":{"device":"vdb","serial":"` + serialB + `"},"survivor":{"device":"vda","serial":"` + serialA + `"},"new":{"serial":"WD-NEW"}}}`
	open := `{"time":"2026-12-01T10:00:00Z","event":"plan","plan":` + plan + "}\n" +
		`{"time":"2026-12-01T10:01:00Z","event":"done","step":"detach-md0"}` + "\n" +
		`{"time":"2026-12-01T10:05:00Z","event":"started","step":"bootloader-vdc"}` + "\n"
	tests := []struct {
		name     string
		journals map[string]string
		btime    string // /proc/stat btime; "" for no /proc/stat
		want     discover.Verdict
		says     []string
	}{
		{"none", nil, "", discover.OK, []string{"2 array(s) clean"}},
		{"finished", map[string]string{"p-done": open + `{"time":"2026-12-01T10:09:00Z","event":"finished"}` + "\n"}, "", discover.OK, []string{"2 array(s) clean"}},
		{"aborted", map[string]string{"p-abort": open + `{"time":"2026-12-01T10:09:00Z","event":"aborted"}` + "\n"}, "", discover.OK, []string{"2 array(s) clean"}},
		{"open, cut by a reboot", map[string]string{"p-open": open}, "1796126400", discover.Warning, []string{
			"replacement of vdb (" + serialB + ") by serial WD-NEW unfinished since before this boot: plan p-open (journal /var/lib/raidswap/journal/p-open.jsonl)",
			"it stopped at step bootloader-vdc (last record: started) at 2026-12-01 10:05:00Z", "`raidswap resume` continues it"}},
		{"open, maybe running", map[string]string{"p-open": open}, "1700000000", discover.Warning, []string{
			"unfinished: plan p-open", "unless a raidswap is running it now, `raidswap resume` continues it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := unpackFixture(t, "clean")
			jdir := filepath.Join(dir, paths.Host().Journal)
			if err := os.MkdirAll(jdir, 0o700); err != nil {
				t.Fatal(err)
			}
			for id, text := range tt.journals {
				if err := os.WriteFile(filepath.Join(jdir, id+".jsonl"), []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.btime != "" {
				if err := os.WriteFile(filepath.Join(dir, "proc", "stat"), []byte("cpu  1 2 3\nbtime "+tt.btime+"\nprocesses 9\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			root := host.NewRoot(dir)
			var read []string
			root.Recorder = func(p string) { read = append(read, p) }
			s, err := discover.Discover(root)
			if err != nil {
				t.Fatal(err)
			}
			if s.Verdict != tt.want {
				t.Errorf("verdict %s (%s), want %s", s.Verdict, s.Summary, tt.want)
			}
			for _, w := range tt.says {
				if !strings.Contains(s.Summary, w) {
					t.Errorf("summary %q does not say %q", s.Summary, w)
				}
			}
			var txt, js, prom bytes.Buffer
			if err := view.StatusHuman(&txt, s); err != nil {
				t.Fatal(err)
			}
			if err := view.StatusJSON(&js, s); err != nil {
				t.Fatal(err)
			}
			if err := view.StatusPrometheus(&prom, s); err != nil {
				t.Fatal(err)
			}
			var back struct {
				Unfinished []struct {
					Plan       string `json:"plan"`
					LastStep   string `json:"last_step"`
					BeforeBoot bool   `json:"before_boot"`
				} `json:"unfinished_replacements"`
			}
			if err := json.Unmarshal(js.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			if tt.want == discover.OK {
				if len(back.Unfinished) != 0 || strings.Contains(txt.String(), "UNFINISHED") || !strings.Contains(prom.String(), "raidswap_replacements_unfinished 0\n") {
					t.Errorf("a closed journal shows as unfinished:\n%s\n%s", txt.String(), js.String())
				}
				return
			}
			if len(back.Unfinished) != 1 || back.Unfinished[0].Plan != "p-open" || back.Unfinished[0].LastStep != "bootloader-vdc" || back.Unfinished[0].BeforeBoot != (tt.btime == "1796126400") {
				t.Errorf("JSON unfinished_replacements = %+v", back.Unfinished)
			}
			if !strings.Contains(txt.String(), "UNFINISHED REPLACEMENT: plan p-open") || !strings.Contains(txt.String(), "`raidswap resume` continues it") {
				t.Errorf("text status does not show the unfinished replacement:\n%s", txt.String())
			}
			if !strings.Contains(prom.String(), "raidswap_replacements_unfinished 1\n") || !strings.Contains(prom.String(), `raidswap_replacement_unfinished{plan="p-open",failed="vdb (`+serialB+`)",new="serial WD-NEW",last_step="bootloader-vdc"`) {
				t.Errorf("Prometheus output lacks the unfinished replacement:\n%s", prom.String())
			}
			found := false
			for _, p := range read {
				found = found || p == paths.Host().Journal+"/p-open.jsonl"
			}
			if !found {
				t.Errorf("the journal was not read through the Root (reads: %d)", len(read))
			}
			if b, _ := os.ReadFile(filepath.Join(jdir, "p-open.jsonl")); string(b) != open {
				t.Errorf("status changed the journal")
			}
		})
	}
}

// unpackFixture unpacks a capture made by TestVMStatusScenarios into a temporary root.
func unpackFixture(t *testing.T, name string) string {
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
	return dir
}
