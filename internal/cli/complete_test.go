package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/drill"
)

// complete runs cobra's `__complete` (what the bash and zsh scripts call) and returns the
// values offered and the directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	code, out, errOut := run(t, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d\n%s%s", args, code, out, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var values []string
	for _, l := range lines[:len(lines)-1] {
		values = append(values, strings.SplitN(l, "\t", 2)[0])
	}
	return values, lines[len(lines)-1]
}

func TestCompletion(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.tar.gz")
	if err := os.WriteFile(garbage, []byte("not a capture"), 0o644); err != nil {
		t.Fatal(err)
	}
	const survivor, failed = "WD-WCC4N1KPA001", "WD-WCC4N1KPB002"
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"failed: both members' disks", []string{"--root", fixture("failed"), "--failed", ""}, []string{survivor, failed}},
		{"failed: a vanished disk md remembers", []string{"--root", fixture("vanished"), "plan", "--failed", ""}, []string{survivor, failed}},
		{"failed on replace", []string{"--root", fixture("failed"), "replace", "--failed", ""}, []string{survivor, failed}},
		{"new: only the disk in no array", []string{"--root", fixture("survivor"), "--new", ""}, []string{failed}},
		{"new on resume", []string{"--root", fixture("survivor"), "resume", "--new", ""}, []string{failed}},
		{"new: no unused disk", []string{"--root", fixture("failed"), "plan", "--new", ""}, nil},
		{"locate: present disks only", []string{"--root", fixture("vanished"), "locate", ""}, []string{survivor}},
		{"locate takes one disk", []string{"--root", fixture("failed"), "locate", "sdb", ""}, nil},
		{"drill scenarios", []string{"drill", "--scenario", ""}, append(drill.Names(), "all")},
		{"discovery fails: nothing", []string{"--root", filepath.Join(t.TempDir(), "none"), "--failed", ""}, nil},
		{"a broken capture: nothing", []string{"--root", garbage, "locate", ""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, directive := complete(t, tt.args...)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("offered %q, want %q", got, tt.want)
			}
			if directive != ":4" { // ShellCompDirectiveNoFileComp: never a file name
				t.Errorf("directive %s, want :4 (no file completion)", directive)
			}
		})
	}
}

// TestCompletionDescribesDisks: each serial comes with its kernel name and state (the
// fixture's disks have no model).
func TestCompletionDescribesDisks(t *testing.T) {
	_, out, _ := run(t, "__complete", "--root", fixture("failed"), "--failed", "")
	if !strings.Contains(out, "WD-WCC4N1KPB002\tvdb, failed\n") {
		t.Errorf("no description of the failed disk:\n%s", out)
	}
}
