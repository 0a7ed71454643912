package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/prompt"
)

// fakePrompter answers from a script and records what was asked.
type fakePrompter struct {
	typed []string
	asked []string
}

func (f *fakePrompter) Confirm(q string, w prompt.Want) error {
	f.asked = append(f.asked, q)
	return prompt.Confirm(func(string) (string, error) {
		if len(f.typed) == 0 {
			return "", errors.New("no answer left")
		}
		got := f.typed[0]
		f.typed = f.typed[1:]
		return got, nil
	}, io.Discard, q, w)
}
func (f *fakePrompter) Select(q string, _ []string, def int) (int, error) {
	f.asked = append(f.asked, q)
	return def, nil
}
func (f *fakePrompter) YesNo(q string, def bool) (bool, error) {
	f.asked = append(f.asked, q)
	return def, nil
}

// TestConfirmGoesThroughPrompter: apply's confirmation is asked through the Factory's
// Prompter, which gets the failed disk's serial to compare with and the survivor's to warn
// about: three answers naming the survivor are refused (the declined exit code), the
// refusal says it was the disk to keep and never says the expected serial.
func TestConfirmGoesThroughPrompter(t *testing.T) {
	dir := t.TempDir()
	planFile := filepath.Join(dir, "p.json")
	if code, _, errOut := run(t, "--plan", "--failed", "vdb", "--format", "json", "--out", planFile, "--root", fixture("failed")); code != ExitOK {
		t.Fatalf("plan: %d %s", code, errOut)
	}
	var out, eb bytes.Buffer
	fp := &fakePrompter{typed: []string{"WD-WCC4N1KPA001", "wd-wcc4n1kpa001", "A001"}}
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &eb, Interactive: true}, KeyPath: testKeyPath}
	f.SetPrompter(fp)
	code := Run(f, []string{"apply", planFile, "--journal-dir", filepath.Join(dir, "j"), "--lock", filepath.Join(dir, "lock")})
	if code != ExitRefused || len(fp.asked) != 1 || !strings.Contains(fp.asked[0], "(WD-WCC4N1KPB002)") ||
		!strings.Contains(eb.String(), `one matched WD-WCC4N1KPA001, a disk you must KEEP: nothing was done`) ||
		strings.Contains(eb.String(), "B002") {
		t.Errorf("exit %d, asked %q, stderr %q", code, fp.asked, eb.String())
	}
}

// TestResumeHonoursYes: resume asks like apply; without a terminal --yes is required.
func TestResumeHonoursYes(t *testing.T) {
	dir := t.TempDir()
	planFile := filepath.Join(dir, "p.json")
	if code, _, errOut := run(t, "--plan", "--failed", "vdb", "--format", "json", "--out", planFile, "--root", fixture("failed")); code != ExitOK {
		t.Fatalf("plan: %d %s", code, errOut)
	}
	body, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Checksum string }
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(p.Checksum, "hmac-sha256:")[:12]
	jdir := filepath.Join(dir, "journal")
	os.MkdirAll(jdir, 0o700)
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		t.Fatal(err)
	}
	rec := `{"time":"2026-12-01T00:00:00Z","event":"plan","plan":` + compact.String() + "}\n"
	if err := os.WriteFile(filepath.Join(jdir, id+".jsonl"), []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "resume", "--journal-dir", jdir, "--lock", filepath.Join(dir, "lock"))
	if code != ExitUsage || !strings.Contains(errOut, "--yes required when not running interactively") {
		t.Errorf("resume without --yes: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestConfirmDiskWant: apply asks for the whole serial of the disk coming out; resume for
// the last 4 characters of the disk it names (the new disk once present); a disk without a
// serial by its kernel name. The question names the disk it wants typed.
func TestConfirmDiskWant(t *testing.T) {
	for _, tc := range []struct {
		d          confirmDisk
		want, asks string
	}{
		{confirmDisk{Serial: "WD-WCC4N1KPB002", Device: "vdb", Why: "the disk coming out"}, "WD-WCC4N1KPB002", "the serial of the disk coming out (WD-WCC4N1KPB002)"},
		{confirmDisk{Serial: "S4EWNX0R107Q3Z", Device: "vdc", Why: "the new disk", Last4: true}, "7Q3Z", "the last 4 characters of the serial of the new disk (S4EWNX0R107Q3Z)"},
		{confirmDisk{Device: "vdb", Why: "the disk coming out", Last4: true}, "vdb", "the kernel name of the disk coming out (vdb)"},
	} {
		want, ask := tc.d.want()
		if want != tc.want || ask != tc.asks {
			t.Errorf("%+v: %q, %q; want %q, %q", tc.d, want, ask, tc.want, tc.asks)
		}
	}
}
