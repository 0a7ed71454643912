package drill

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

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

// MaxTries is how many times a typed confirmation is asked before the drill gives up.
const MaxTries = 3

// Counting wraps the trainee's prompter: it counts every answer, and a typed confirmation
// that does not match (wizard.DeclinedError) is a mistake the drill records and asks again,
// up to MaxTries times. Nothing else is changed: the question and the check are the wizard's.
type Counting struct {
	P     wizard.Prompter
	Tally *Tally
	// Out is where the drill says a refused answer ("[drill] ..."); nil says nothing.
	Out io.Writer
}

func (c *Counting) say(format string, a ...any) {
	if c.Out != nil {
		fmt.Fprintf(c.Out, "[drill] "+format+"\n", a...)
	}
}

// ConfirmTyped asks until the answer matches, MaxTries times at most.
func (c *Counting) ConfirmTyped(question, want string) error {
	var err error
	for try := 1; try <= MaxTries; try++ {
		c.Tally.Answer()
		err = c.P.ConfirmTyped(question, want)
		var de *wizard.DeclinedError
		if !errors.As(err, &de) {
			return err
		}
		c.Tally.Refused(Mistake{Tried: fmt.Sprintf("typed %q where the serial's last characters were asked", de.Typed), RefusedBy: "wizard", Reason: de.Error()})
		if try < MaxTries {
			c.say("refused: %q is not what the disk's label says; look again (try %d of %d)", de.Typed, try+1, MaxTries)
		}
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

// ConfirmTyped types the last 4 characters of the serial the question names.
func (a *Auto) ConfirmTyped(question, want string) error {
	if len(a.Typos) > 0 {
		t := a.Typos[0]
		a.Typos = a.Typos[1:]
		a.log(question, t)
		if t != want {
			return &wizard.DeclinedError{Typed: t, Want: want}
		}
		return nil
	}
	ans := ""
	if m := serialInQuestion.FindStringSubmatch(question); m != nil && (m[1] == a.Failed || m[1] == a.New) {
		ans = Last4(m[1])
	}
	a.log(question, ans)
	if ans != want {
		return &wizard.DeclinedError{Typed: ans, Want: want}
	}
	return nil
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

// Last4 is what an operator types to confirm a disk: the serial's last 4 characters (the
// wizard's rule).
func Last4(serial string) string {
	if len(serial) <= 4 {
		return serial
	}
	return serial[len(serial)-4:]
}
