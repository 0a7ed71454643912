package cli

import (
	"strings"
	"testing"
)

// TestUsageExitCode: every command line cobra refuses exits with ExitUsage and one line,
// and a command that fails for another reason does not, whatever its message says.
func TestUsageExitCode(t *testing.T) {
	clean := fixture("clean")
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown command", []string{"frobnicate"}, ExitUsage, `unknown command "frobnicate" for "raidswap"`},
		{"unknown flag", []string{"status", "--frobnicate"}, ExitUsage, "unknown flag: --frobnicate"},
		{"unknown shorthand", []string{"status", "-Z"}, ExitUsage, "unknown shorthand flag: 'Z' in -Z"},
		{"flag without its argument", []string{"status", "--root"}, ExitUsage, "flag needs an argument: --root"},
		{"flag value that does not parse", []string{"locate", "sda", "--for", "soon"}, ExitUsage, `invalid argument "soon" for "--for"`},
		{"too many arguments", []string{"status", "extra"}, ExitUsage, `unknown command "extra" for "raidswap status"`},
		{"missing argument", []string{"snapshot"}, ExitUsage, "accepts 1 arg(s), received 0"},
		{"required flag left out", []string{"partition", "clone", "--to", "/nonexistent"}, ExitUsage, `required flag(s) "from" not set`},
		{"cobra's own completion command", []string{"completion", "bash", "extra"}, ExitUsage, `unknown command "extra" for "raidswap completion bash"`},
		// An operating-system error reads "invalid argument" (EINVAL): the write failed, the
		// command line was fine.
		{"a failure whose text reads like a usage error", []string{"--root", clean, "snapshot", "out\x00.tar.gz"}, ExitFailed, "invalid argument"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := run(t, c.args...)
			if code != c.code || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("exit %d, want %d; stderr %q, want one line with %q; stdout %.200q", code, c.code, errOut, c.want, out)
			}
		})
	}
}
