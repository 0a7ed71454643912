package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakePrompter answers from a script and records what was asked.
type fakePrompter struct {
	typed []string
	asked []string
}

func (f *fakePrompter) ConfirmTyped(q, want string) error {
	f.asked = append(f.asked, q)
	if len(f.typed) == 0 {
		return errors.New("no answer left")
	}
	got := f.typed[0]
	f.typed = f.typed[1:]
	if got != want {
		return &DeclinedError{Typed: got, Want: want}
	}
	return nil
}
func (f *fakePrompter) Select(q string, _ []string, def int) (int, error) {
	f.asked = append(f.asked, q)
	return def, nil
}
func (f *fakePrompter) YesNo(q string, def bool) (bool, error) {
	f.asked = append(f.asked, q)
	return def, nil
}

func TestLinePrompter(t *testing.T) {
	var out bytes.Buffer
	p := &linePrompter{in: bufioReader("WD-X\nnope\n\n7\n2\nmaybe\ny\n"), out: &out}
	if err := p.ConfirmTyped("type: ", "WD-X"); err != nil {
		t.Errorf("right serial refused: %v", err)
	}
	var de *DeclinedError
	if err := p.ConfirmTyped("type: ", "WD-X"); !errors.As(err, &de) || de.Typed != "nope" {
		t.Errorf("wrong serial: %v", err)
	}
	if i, err := p.Select("which?", []string{"a", "b"}, 1); i != 1 || err != nil {
		t.Errorf("empty answer: %d %v, want the default 1", i, err)
	}
	if i, err := p.Select("which?", []string{"a", "b"}, 0); i != 1 || err != nil || !strings.Contains(out.String(), "give a number from 1 to 2") {
		t.Errorf("7 then 2: %d %v", i, err)
	}
	if yes, err := p.YesNo("go?", false); !yes || err != nil || !strings.Contains(out.String(), "answer y or n") {
		t.Errorf("maybe then y: %t %v", yes, err)
	}
	if _, err := p.YesNo("again?", false); err == nil {
		t.Error("an ended input gave an answer")
	}
}

// TestConfirmGoesThroughPrompter: apply's confirmation is asked through the Factory's
// Prompter, which gets the failed disk's serial to compare with.
func TestConfirmGoesThroughPrompter(t *testing.T) {
	dir := t.TempDir()
	planFile := filepath.Join(dir, "p.json")
	if code, _, errOut := run(t, "--plan", "--failed", "vdb", "--format", "json", "--out", planFile, "--root", fixture("failed")); code != ExitOK {
		t.Fatalf("plan: %d %s", code, errOut)
	}
	var out, eb bytes.Buffer
	fp := &fakePrompter{typed: []string{"WD-WCC4N1KPA001"}}
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &eb, Interactive: true}, KeyPath: testKeyPath}
	f.SetPrompter(fp)
	code := Run(f, []string{"apply", planFile, "--journal-dir", filepath.Join(dir, "j"), "--lock", filepath.Join(dir, "lock")})
	if code != ExitRefused || len(fp.asked) != 1 || !strings.Contains(fp.asked[0], "(WD-WCC4N1KPB002)") ||
		!strings.Contains(eb.String(), `you typed "WD-WCC4N1KPA001", not "WD-WCC4N1KPB002": nothing was done`) {
		t.Errorf("exit %d, asked %q, stderr %q", code, fp.asked, eb.String())
	}
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

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
