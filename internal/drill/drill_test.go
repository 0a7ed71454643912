package drill

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raidswap/raidswap/identify"
	"github.com/raidswap/raidswap/internal/engine"
	"github.com/raidswap/raidswap/internal/golden"
	"github.com/raidswap/raidswap/internal/prompt"
	"github.com/raidswap/raidswap/simulate"
)

// TestScenarioTable: the scenarios are the issue's, by the names, each with what it
// teaches, what it passes on and its expectation.
func TestScenarioTable(t *testing.T) {
	want := []string{"failed-member", "vanished-disk", "partially-failed", "4kn-replacement", "larger-replacement",
		"dirty-replacement", "survivor-read-errors", "interrupted", "wrong-disk", "predictive"}
	if got := Names(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("scenarios %v, want %v", got, want)
	}
	for _, s := range Scenarios() {
		if s.Teaches == "" || s.PassesOn == "" {
			t.Errorf("%s: says nothing of what it teaches or passes on", s.Name)
		}
		wantExpect := Pass
		if s.Name == "survivor-read-errors" {
			wantExpect = FailedAsExpected
		}
		if s.Expect != wantExpect {
			t.Errorf("%s: expects %s, want %s", s.Name, s.Expect, wantExpect)
		}
		if s.Break == nil && s.Name != "predictive" {
			t.Errorf("%s: breaks nothing", s.Name)
		}
	}
	byName := map[string]Scenario{}
	for _, s := range Scenarios() {
		byName[s.Name] = s
	}
	if byName["4kn-replacement"].Shelf.SectorSize != 4096 || byName["larger-replacement"].Shelf.SizeFactor != 2 ||
		!byName["dirty-replacement"].Shelf.Dirty || len(byName["vanished-disk"].DM) != 1 || byName["survivor-read-errors"].DM[0] != Survivor ||
		byName["survivor-read-errors"].AfterDetach == nil || byName["interrupted"].Replace == nil || byName["predictive"].Replace == nil {
		t.Errorf("a scenario's setup does not say what the issue says")
	}
	if s, err := Select(""); err != nil || len(s) != 1 || s[0].Name != Default {
		t.Errorf("default: %v %v", s, err)
	}
	if s, err := Select("all"); err != nil || len(s) != len(want) {
		t.Errorf("all: %d %v", len(s), err)
	}
	if s, err := Select("wrong-disk, predictive"); err != nil || len(s) != 2 || s[1].Name != "predictive" {
		t.Errorf("list: %v %v", s, err)
	}
	if _, err := Select("meteor"); err == nil || !strings.Contains(err.Error(), "failed-member") {
		t.Errorf("unknown scenario: %v", err)
	}
}

func sampleCards() Cards {
	return Cards{
		{Scenario: "failed-member", Result: Pass, Expected: Pass, Took: 8312 * time.Millisecond, Answers: 3,
			Mistakes:           []Mistake{{Tried: `typed "1234" where the serial's last characters were asked`, RefusedBy: "wizard", Reason: `you typed "1234", not "2F3A": nothing was done`}},
			Checks:             []Check{{Name: "canaries", OK: true, Detail: "3 files, sha256 unchanged"}, {Name: "array md100", OK: true, Detail: "clean, 2 in_sync members on loop0 loop2"}},
			RebuildBytesPerSec: 150e6, RealCost: "rebuilding md0 1.0 GiB ≈ 7s", RealCostSeconds: 7,
			Lab: "/var/lib/raidswap/drill/drill-20261201-180000-abcd", Cleanup: Cleanup{Unmounted: []string{"/dev/md100", "/dev/md101"}, Arrays: []string{"md100", "md101"}, Loops: []string{"loop0", "loop2"}, Files: []string{"raidswap-drill-DRILL-A1B2C.img"}}},
		{Scenario: "survivor-read-errors", Result: FailedAsExpected, Expected: FailedAsExpected, Took: 21 * time.Second, Answers: 2,
			Reason: "the rebuild failed as it must: step await-rebuild failed", Checks: []Check{{Name: "run ended with an error", OK: true, Detail: "step await-rebuild failed"}}},
		{Scenario: "predictive", Result: Fail, Expected: Pass, Took: 12 * time.Second, Reason: "check failed: redundancy kept throughout: md100 degraded",
			Checks: []Check{{Name: "redundancy kept throughout", OK: false, Detail: "md100 degraded"}}, Kept: true, Lab: "/var/lib/raidswap/drill/drill-x", Devices: []string{"/dev/loop4"}},
	}
}

// TestScoreCard: the text and the JSON score card (golden), and the exit code.
func TestScoreCard(t *testing.T) {
	cs := sampleCards()
	var text, js bytes.Buffer
	if err := cs.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := cs.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "scorecard.txt"), text.Bytes())
	golden.Check(t, filepath.Join("testdata", "scorecard.json"), js.Bytes())
	if cs.ExitCode() != 1 || cs[:2].ExitCode() != 0 || (Cards{}).ExitCode() != 1 {
		t.Errorf("exit codes %d %d %d: want 1 0 1", cs.ExitCode(), cs[:2].ExitCode(), (Cards{}).ExitCode())
	}
	broken := Cards{{Scenario: "failed-member", Result: Pass, Expected: Pass, CleanupError: "losetup -d /dev/loop0: busy"}}
	if broken.ExitCode() != 1 {
		t.Errorf("a lab not cleaned up must fail the drill")
	}
}

// TestCountingTrainee: answers and refused serials are counted; a wrong serial is asked
// again, three times at most (the wizard's rule, prompt.Confirm).
func TestCountingTrainee(t *testing.T) {
	var said bytes.Buffer
	tally := &Tally{}
	a := &Auto{Failed: "DRILL-B2F3A", New: "DRILL-C0001", Typos: []string{"1234"}}
	c := &Counting{P: a, Tally: tally, Out: &said}
	q := "\nFind the disk with serial DRILL-B2F3A on its label. Type its last 4 characters to go ahead: "
	if err := c.Confirm(q, prompt.Want{Answer: "2F3A"}); err != nil {
		t.Fatalf("the second try must pass: %v", err)
	}
	if tally.Answers() != 2 || len(tally.Mistakes()) != 1 || tally.Mistakes()[0].RefusedBy != "wizard" || tally.Mistakes()[0].Serious {
		t.Errorf("answers %d, mistakes %+v, said %q", tally.Answers(), tally.Mistakes(), said.String())
	}
	a.Typos = []string{"x", "y", "z", "never"}
	err := c.Confirm(q, prompt.Want{Answer: "2F3A"})
	var de *prompt.DeclinedError
	if !errors.As(err, &de) || tally.Answers() != 5 || len(tally.Mistakes()) != 4 {
		t.Errorf("after three wrong answers: %v, answers %d, mistakes %d", err, tally.Answers(), len(tally.Mistakes()))
	}
	if i, _ := c.Select("Which one comes out?", []string{"loop0 (DRILL-A1111), failed", "loop1 (DRILL-B2F3A), failed"}, 0); i != 1 {
		t.Errorf("auto picked %d, want the failed disk's option", i)
	}
	if tally.Answers() != 6 {
		t.Errorf("the choice was not counted")
	}
}

// TestSurvivorTypedIsSerious: a trainee who types the survivor's serial where the failed
// disk's was asked is warned, and the card does not pass even when the replacement then
// succeeds (issue 20: the drill scored PASS).
func TestSurvivorTypedIsSerious(t *testing.T) {
	var said bytes.Buffer
	tally := &Tally{}
	a := &Auto{Failed: "DRILL-B2F3A", New: "DRILL-C0001", Typos: []string{"drill-a1111"}}
	c := &Counting{P: a, Tally: tally, Out: &said}
	q := "\nFind the disk with serial DRILL-B2F3A on its label. Type its last 4 characters to go ahead: "
	if err := c.Confirm(q, prompt.Want{Answer: "2F3A", Keep: []string{"DRILL-A1111"}}); err != nil {
		t.Fatalf("the second try must pass: %v", err)
	}
	ms := tally.Mistakes()
	if len(ms) != 1 || !ms[0].Serious || !strings.Contains(said.String(), "serious mistake") {
		t.Fatalf("mistakes %+v, said %q", ms, said.String())
	}
	card := &Card{Scenario: "failed-disk", Result: Pass, Expected: Pass, Mistakes: ms}
	if card.Met() || (Cards{card}).ExitCode() != 1 {
		t.Errorf("a drill where the survivor's serial was typed passed")
	}
	var b bytes.Buffer
	if err := (Cards{card}).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "SERIOUS") || !strings.Contains(b.String(), "NOT MET") {
		t.Errorf("the card does not show the serious mistake:\n%s", b.String())
	}
	ok := &Card{Scenario: "failed-disk", Result: Pass, Expected: Pass, Mistakes: []Mistake{{Tried: "typed \"1234\""}}}
	if !ok.Met() {
		t.Errorf("an ordinary refused typo failed the card")
	}
}

// TestAutoAnswersFromTheLabels: --auto types what the serial it holds says, never what the
// wizard wants: a question naming a disk it does not hold gets an answer that is refused.
func TestAutoAnswersFromTheLabels(t *testing.T) {
	a := &Auto{Failed: "DRILL-B2F3A", New: "DRILL-C0001"}
	if err := a.Confirm("\nThe new disk's serial is DRILL-C0001. Type its last 4 characters to write to it: ", prompt.Want{Answer: "0001"}); err != nil {
		t.Errorf("new disk: %v", err)
	}
	if err := a.Confirm("Find the disk with serial\nDRILL-B2F3A on its label. Type...", prompt.Want{Answer: "2F3A"}); err != nil {
		t.Errorf("wrapped question: %v", err)
	}
	if err := a.Confirm("Find the disk with serial DRILL-A9999 on its label. Type its last 4 characters: ", prompt.Want{Answer: "9999"}); err == nil {
		t.Errorf("auto confirmed a disk it was not told to take out")
	}
	if ok, _ := a.YesNo("Erase everything on the new disk with serial DRILL-C0001 (its partition table) and use it?", false); !ok {
		t.Errorf("auto refused to erase the new disk it holds")
	}
	if ok, _ := a.YesNo("Erase everything on the new disk with serial DRILL-A1111 and use it?", false); ok {
		t.Errorf("auto agreed to erase a disk it does not hold")
	}
	if Last4("DRILL-B2F3A") != "2F3A" || Last4("AB") != "AB" {
		t.Errorf("Last4")
	}
}

// TestConfineUsesTheLabsNames: every file the confined engine keeps in a lab has a name the
// lab's teardown knows (simulate.Lab*), so a cleanup after --keep removes it.
func TestConfineUsesTheLabsNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "drill-20261201-100000-aaaa")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, identify.DrillMarker), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := &engine.Env{}
	if err := Confine(env, dir); err != nil {
		t.Fatal(err)
	}
	for got, want := range map[string]string{
		env.Paths.Journal: simulate.LabJournal, env.Paths.Lock: simulate.LabLock, env.Paths.Key: simulate.LabPlanKey,
		env.Paths.Backups: simulate.LabBackups, env.Scope.InventoryPath(): simulate.LabInventory,
		env.Paths.Inventory: simulate.LabInventory, env.Paths.Audit: simulate.LabAuditLog,
	} {
		if got != filepath.Join(dir, want) {
			t.Errorf("the engine keeps %s, the lab's teardown knows %s", got, filepath.Join(dir, want))
		}
	}
}
