package drill

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Result is how a scenario ended against its expectation.
type Result string

// Results.
const (
	// Pass: the replacement reached redundancy and every check held.
	Pass Result = "PASS"
	// Fail: the scenario did not meet its expectation (a check failed, or the run failed
	// where it should have succeeded, or succeeded where it should have failed).
	Fail Result = "FAIL"
	// FailedAsExpected: the run failed loudly where the scenario says it must (the survivor's
	// read errors), and nothing was claimed done.
	FailedAsExpected Result = "FAILED-AS-EXPECTED"
)

// Check is one verification of a scenario's end state.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Cleanup is what tearing the lab down removed (simulate.Cleanup).
type Cleanup struct {
	Unmounted []string `json:"unmounted,omitempty"`
	Swapoff   []string `json:"swapoff,omitempty"`
	Arrays    []string `json:"arrays,omitempty"`
	DM        []string `json:"dm,omitempty"`
	Loops     []string `json:"loops,omitempty"`
	Files     []string `json:"files,omitempty"`
}

// Count is how many things were removed.
func (c Cleanup) Count() int {
	return len(c.Unmounted) + len(c.Swapoff) + len(c.Arrays) + len(c.DM) + len(c.Loops) + len(c.Files)
}

// Summary says in one line what was removed.
func (c Cleanup) Summary() string {
	var parts []string
	add := func(what string, xs []string) {
		if len(xs) > 0 {
			parts = append(parts, fmt.Sprintf("%d %s (%s)", len(xs), what, strings.Join(xs, ", ")))
		}
	}
	add("unmounted", c.Unmounted)
	add("swap off", c.Swapoff)
	add("arrays stopped", c.Arrays)
	add("dm tables removed", c.DM)
	add("loop devices detached", c.Loops)
	add("files removed", c.Files)
	if len(parts) == 0 {
		return "nothing to remove"
	}
	return strings.Join(parts, "; ")
}

// Card is one scenario's score.
type Card struct {
	Scenario string `json:"scenario"`
	Result   Result `json:"result"`
	// Expected is what the scenario must end with (PASS or FAILED-AS-EXPECTED).
	Expected Result `json:"expected"`
	// Reason says why the result is FAIL, or what failed as expected.
	Reason  string        `json:"reason,omitempty"`
	Took    time.Duration `json:"-"`
	Seconds float64       `json:"seconds"`
	Answers int           `json:"answers"`
	// Mistakes are what raidswap refused: the trainee's, or those --auto makes on purpose.
	Mistakes []Mistake `json:"mistakes_refused"`
	Checks   []Check   `json:"checks"`
	// RebuildBytesPerSec is the rebuild speed measured in this drill (0: not measured).
	RebuildBytesPerSec float64 `json:"rebuild_bytes_per_sec,omitempty"`
	// RealCost is what the same replacement would cost on this host's real arrays.
	RealCost        string  `json:"real_cost,omitempty"`
	RealCostSeconds float64 `json:"real_cost_seconds,omitempty"`
	// Lab is the lab directory; Kept says --keep left it (and its devices) in place.
	Lab     string   `json:"lab,omitempty"`
	Kept    bool     `json:"kept,omitempty"`
	Devices []string `json:"devices,omitempty"`
	Cleanup Cleanup  `json:"cleanup"`
	// Phases are how long each part of the scenario took, in seconds (build, break, replace,
	// verify, cleanup), for the benchmark.
	Phases []Phase `json:"phases,omitempty"`
	// CleanupError is what could not be removed.
	CleanupError string `json:"cleanup_error,omitempty"`
}

// Phase is one part of a scenario and how long it took.
type Phase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// Met says the scenario ended as it must.
func (c *Card) Met() bool {
	return c.Result == c.Expected && c.CleanupError == "" && c.Serious() == 0
}

// Serious is how many mistakes named a disk that must stay.
func (c *Card) Serious() int {
	n := 0
	for _, m := range c.Mistakes {
		if m.Serious {
			n++
		}
	}
	return n
}

// Cards are a whole drill's score.
type Cards []*Card

// AllMet says every scenario ended as it must.
func (cs Cards) AllMet() bool {
	for _, c := range cs {
		if !c.Met() {
			return false
		}
	}
	return len(cs) > 0
}

// ExitCode is the drill's exit status: 0 when every scenario met its expectation, else 1.
func (cs Cards) ExitCode() int {
	if cs.AllMet() {
		return 0
	}
	return 1
}

// WriteJSON writes the score card as one JSON document.
func (cs Cards) WriteJSON(w io.Writer) error {
	for _, c := range cs {
		c.Seconds = roundSeconds(c.Took)
		if c.Mistakes == nil {
			c.Mistakes = []Mistake{}
		}
		if c.Checks == nil {
			c.Checks = []Check{}
		}
	}
	doc := struct {
		Scenarios Cards `json:"scenarios"`
		AllMet    bool  `json:"all_met"`
	}{cs, cs.AllMet()}
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(doc)
}

func roundSeconds(d time.Duration) float64 {
	return float64(d.Round(100*time.Millisecond)) / float64(time.Second)
}

// WriteText writes the score card for a person.
func (cs Cards) WriteText(w io.Writer) error {
	var b strings.Builder
	b.WriteString("\nDRILL SCORE CARD\n")
	for _, c := range cs {
		fmt.Fprintf(&b, "\n%-22s %s", c.Scenario, c.Result)
		if c.Result != c.Expected {
			fmt.Fprintf(&b, " (expected %s)", c.Expected)
		}
		if n := c.Serious(); n > 0 {
			fmt.Fprintf(&b, " but NOT MET: %d serious mistake(s), the serial of a disk to KEEP typed", n)
		}
		fmt.Fprintf(&b, " in %.1fs\n", roundSeconds(c.Took))
		if c.Reason != "" {
			fmt.Fprintf(&b, "  %s\n", c.Reason)
		}
		fmt.Fprintf(&b, "  %-17s %d\n", "answers given", c.Answers)
		fmt.Fprintf(&b, "  %-17s %d\n", "mistakes refused", len(c.Mistakes))
		for _, m := range c.Mistakes {
			mark := ""
			if m.Serious {
				mark = "SERIOUS: "
			}
			fmt.Fprintf(&b, "    - %s%s: refused by the %s: %s\n", mark, m.Tried, m.RefusedBy, m.Reason)
		}
		for _, k := range c.Checks {
			mark := "ok  "
			if !k.OK {
				mark = "FAIL"
			}
			fmt.Fprintf(&b, "  %s %s", mark, k.Name)
			if k.Detail != "" {
				fmt.Fprintf(&b, ": %s", k.Detail)
			}
			b.WriteString("\n")
		}
		if c.RealCost != "" {
			fmt.Fprintf(&b, "  %-17s %s\n", "a real run", c.RealCost)
		}
		switch {
		case c.Kept:
			fmt.Fprintf(&b, "  %-17s %s, devices %s; `raidswap drill --cleanup` removes it\n", "kept (--keep)", c.Lab, strings.Join(c.Devices, " "))
		case c.CleanupError != "":
			fmt.Fprintf(&b, "  %-17s %s; removed %s\n", "cleanup FAILED", c.CleanupError, c.Cleanup.Summary())
		default:
			fmt.Fprintf(&b, "  %-17s %s\n", "cleanup", c.Cleanup.Summary())
		}
	}
	met := 0
	for _, c := range cs {
		if c.Met() {
			met++
		}
	}
	fmt.Fprintf(&b, "\n%d of %d scenarios met their expectation\n", met, len(cs))
	_, err := io.WriteString(w, b.String())
	return err
}
