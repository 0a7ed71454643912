package drill

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/raidswap/raidswap/internal/prompt"
	"github.com/raidswap/raidswap/internal/wizard"
)

// Mistake is something the trainee (or, in --auto, the drill on purpose) tried that raidswap
// refused, and who refused it why.
type Mistake struct {
	// Tried says what was attempted, e.g. "typed \"1234\" for the failed disk's serial".
	Tried string `json:"tried"`
	// RefusedBy is the rule that refused it: "wizard", "plan", "executor".
	RefusedBy string `json:"refused_by"`
	// Reason is the refusal as raidswap said it.
	Reason string `json:"reason"`
	// Serious says the mistake named a disk that must stay (the survivor's serial typed
	// where the failed disk's was asked): the scenario fails however it ends.
	Serious bool `json:"serious,omitempty"`
}

// Tally counts a trainee's answers and the mistakes raidswap refused. It is safe for use by
// the hands and the trainee at once.
type Tally struct {
	mu       sync.Mutex
	answers  int
	mistakes []Mistake
}

// Answer counts one answer.
func (t *Tally) Answer() {
	t.mu.Lock()
	t.answers++
	t.mu.Unlock()
}

// Refused records a mistake raidswap refused.
func (t *Tally) Refused(m Mistake) {
	t.mu.Lock()
	t.mistakes = append(t.mistakes, m)
	t.mu.Unlock()
}

// Answers is how many answers were given.
func (t *Tally) Answers() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.answers
}

// Mistakes are the refused mistakes, in order.
func (t *Tally) Mistakes() []Mistake {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Mistake(nil), t.mistakes...)
}

// Counting wraps the trainee's prompter: it counts every answer, and every wrong typed
// answer (prompt.Confirm asks up to prompt.MaxTries times) is a mistake the drill records;
// one that matched a disk that must stay is a serious one. Nothing else is changed: the
// question and the rule are the wizard's.
type Counting struct {
	P     wizard.Prompter
	Tally *Tally
	// Out is where the drill says a serious mistake ("[drill] ..."); nil says nothing.
	Out io.Writer
}

// Confirm asks through the trainee's prompter and records each wrong answer.
func (c *Counting) Confirm(question string, w prompt.Want) error {
	prev := w.Missed
	w.Missed = func(m prompt.Miss) {
		c.Tally.Answer()
		mk := Mistake{Tried: fmt.Sprintf("typed %q where the serial's last characters were asked", m.Typed), RefusedBy: "wizard", Reason: "does not match the disk's label"}
		if m.Keep != "" {
			mk.Serious = true
			mk.Reason = fmt.Sprintf("matches %s, the disk that must be KEPT", m.Keep)
			if c.Out != nil {
				fmt.Fprintf(c.Out, "[drill] serious mistake: %q is the disk you must keep (%s)\n", m.Typed, m.Keep)
			}
		}
		c.Tally.Refused(mk)
		if prev != nil {
			prev(m)
		}
	}
	err := c.P.Confirm(question, w)
	if err == nil {
		c.Tally.Answer() // the right answer
	}
	return err
}

// Select counts the choice.
func (c *Counting) Select(question string, options []string, def int) (int, error) {
	c.Tally.Answer()
	return c.P.Select(question, options, def)
}

// YesNo counts the answer.
func (c *Counting) YesNo(question string, def bool) (bool, error) {
	c.Tally.Answer()
	return c.P.YesNo(question, def)
}

// Auto is the --auto trainee: it answers what a careful operator holding the disks would.
// It knows the serials printed on the labels of the disk it is told to take out and of the
// new disk it holds, and answers from the question's text and those labels, never from what
// the wizard expects: it types the last 4 characters of the serial the question names when
// that serial is one it holds, picks the option naming the failed (or new) disk, and agrees
// to erase only the new disk it inserted. Log receives every answer, as a transcript.
type Auto struct {
	// Failed and New are the serials on the labels of the disk coming out and the new one.
	Failed, New string
	Log         io.Writer
	// Typos are answers typed first, one per confirmation, before the right one (the
	// interactive drill's proof of a refused serial, and tests).
	Typos []string
}

var serialInQuestion = regexp.MustCompile(`serial\s+(?:is\s+)?([A-Za-z0-9][A-Za-z0-9_.:-]*[A-Za-z0-9])`)

func (a *Auto) log(q, ans string) {
	if a.Log != nil {
		fmt.Fprintf(a.Log, "%s\n[drill --auto] answers: %s\n", strings.TrimSpace(q), ans)
	}
}

// Confirm types its Typos first, one per try, then the last 4 characters of the serial the
// question names, by the wizard's rule.
func (a *Auto) Confirm(question string, w prompt.Want) error {
	return prompt.Confirm(func(q string) (string, error) {
		ans := ""
		if len(a.Typos) > 0 {
			ans, a.Typos = a.Typos[0], a.Typos[1:]
		} else if m := serialInQuestion.FindStringSubmatch(q); m != nil && (m[1] == a.Failed || m[1] == a.New) {
			ans = Last4(m[1])
		} else {
			// A careful operator who cannot find the serial asked for on a label it holds
			// does not guess: "?" is refused, and the third refusal ends it.
			ans = "?"
		}
		a.log(q, ans)
		return ans, nil
	}, io.Discard, question, w)
}

// Select picks the option that names the failed disk, else the new disk, else the default.
func (a *Auto) Select(question string, options []string, def int) (int, error) {
	pick := def
	for _, want := range []string{a.Failed, a.New} {
		if want == "" {
			continue
		}
		found := -1
		for i, o := range options {
			if strings.Contains(o, want) {
				found = i
				break
			}
		}
		if found >= 0 {
			pick = found
			break
		}
	}
	a.log(question, options[pick])
	return pick, nil
}

// YesNo says yes to erasing the new disk it holds, and gives the default otherwise.
func (a *Auto) YesNo(question string, def bool) (bool, error) {
	ans := def
	if a.New != "" && strings.Contains(question, a.New) && strings.Contains(strings.ToLower(question), "erase") {
		ans = true
	}
	a.log(question, map[bool]string{true: "yes", false: "no"}[ans])
	return ans, nil
}

// Last4 is what an operator types to confirm a disk (prompt.Last4).
func Last4(serial string) string { return prompt.Last4(serial) }
