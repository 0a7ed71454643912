package cli

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestTicket: the remote-hands text names the disk to pull and the disks to keep by serial,
// the new disk's minimum size and sector size, fits 80 columns and holds no command (issue
// 20, item 3).
func TestTicket(t *testing.T) {
	for _, tc := range []struct {
		name, fixture string
		args          []string
		want          []string
	}{
		{"failed, hot-swap", "failed", nil, []string{"PULL this disk (it has failed):\n  serial  WD-WCC4N1KPB002\n",
			"KEEP these disks: they hold the data. Do not pull or touch them:\n  WD-WCC4N1KPA001, 134 MB\n",
			"  at least 134 MB (134217728 bytes, 128.0 MiB)\n", "512-byte logical sectors (512n or 512e); not a 4Kn disk", "The server stays running (hot-swap)"}},
		{"vanished, cold", "vanished", []string{"--cold"}, []string{"  serial  WD-WCC4N1KPB002\n", "the server no longer sees this disk",
			"WD-WCC4N1KPA001", "The chassis has no hot-swap bays"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, append([]string{"ticket", "--root", fixture(tc.fixture)}, tc.args...)...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("the ticket lacks %q:\n%s", w, out)
				}
			}
			keep := out[strings.Index(out, "KEEP"):]
			if strings.Contains(keep[:strings.Index(keep, "If the label")], "WD-WCC4N1KPB002") {
				t.Errorf("the failed disk is among those to keep:\n%s", out)
			}
			for _, l := range strings.Split(out, "\n") {
				if utf8.RuneCountInString(l) > 80 {
					t.Errorf("line wider than 80 columns: %q", l)
				}
				if strings.Contains(l, "mdadm") || strings.Contains(l, "raidswap ") {
					t.Errorf("a command in the ticket: %q", l)
				}
			}
		})
	}
	t.Run("the survivor is not the disk to pull", func(t *testing.T) {
		code, _, errOut := run(t, "ticket", "--root", fixture("failed"), "--failed", "WD-WCC4N1KPA001")
		if code == ExitOK || !strings.Contains(errOut, "WD-WCC4N1KPA001") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
}
