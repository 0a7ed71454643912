package wizard

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/plan"
	"github.com/raidswap/raidswap/internal/prompt"
)

var update = flag.Bool("update", false, "rewrite docs/wizard-transcript.txt")

var (
	planID   = regexp.MustCompile(`\b[0-9a-f]{12}\b`)
	tookTime = regexp.MustCompile(`DONE in [0-9hms.]+`)
)

// normaliseTranscript replaces what differs from one session to the next (the plan's id,
// which its seal under a fresh key decides, and the time taken) with fixed words.
func normaliseTranscript(s string) string {
	s = planID.ReplaceAllString(s, "<plan-id>")
	return tookTime.ReplaceAllString(s, "DONE in <time>")
}

// TestTranscript: one full session in plain mode (the seed's failed disk, pulled, a new disk
// inserted, both confirmations typed) prints what docs/wizard-transcript.txt shows, and
// holds no escape code; at 80 columns (a serial console) no line with a space is wider.
func TestTranscript(t *testing.T) {
	w, d, out := newSession(t, "failed", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	plain := prompt.NewPlain(ctx, strings.NewReader("B002\n7Q3Z\n"), out)
	d.Prompt = echo{plain, out}
	d.Width, w.runWidth = 80, 80
	o, err := Run(ctx, d, plan.Request{Mode: plan.ReplaceFailed}, false)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if o.Answers != 2 || len(w.runs) != 2 {
		t.Fatalf("%d answers, %d runs", o.Answers, len(w.runs))
	}
	got := out.String()
	if strings.ContainsRune(got, 0x1b) {
		t.Errorf("plain mode wrote an escape code:\n%q", got)
	}
	for _, l := range strings.Split(got, "\n") {
		if len(l) > 80 && strings.Contains(strings.TrimSpace(l), " ") {
			t.Errorf("line longer than the terminal's 80 columns (a serial console): %q", l)
		}
	}
	header := "# A full `raidswap --plain` session on the seed system at 80 columns (vdb\n# failed; kept by TestTranscript in internal/wizard: regenerate with\n# go test ./internal/wizard -run TestTranscript -update). The operator typed\n# B002 and 7Q3Z; everything else is raidswap's.\n\n"
	got = header + normaliseTranscript(got)
	path := filepath.Join("..", "..", "docs", "wizard-transcript.txt")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("docs/wizard-transcript.txt is not what the wizard prints (regenerate with -update):\n%s", got)
	}
}

// echo shows a typed answer as the terminal's echo would.
type echo struct {
	*prompt.Plain
	out io.Writer
}

func (e echo) Confirm(q string, w prompt.Want) error {
	err := e.Plain.Confirm(q, w)
	if err == nil {
		fmt.Fprintln(e.out, w.Answer)
	}
	return err
}
