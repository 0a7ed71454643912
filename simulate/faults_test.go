package simulate

import (
	"os"
	"strings"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
	"github.com/raidswap/raidswap/internal/host/hosttest"
)

// TestKillDM: KillDM loads an error table under the disk's dm member (on the command line),
// then pokes its array the way Poke does: raw, and refused on a mounted array. A load that
// fails resumes the device on its old table.
func TestKillDM(t *testing.T) {
	suspend := hosttest.Expect{Argv: []string{host.Dmsetup, "suspend", "rs-loop0p2"}}
	load := hosttest.Expect{Argv: []string{host.Dmsetup, "load", "rs-loop0p2", "--table", "0 131072 error"}}
	resume := hosttest.Expect{Argv: []string{host.Dmsetup, "resume", "rs-loop0p2"}}
	for _, tc := range []struct {
		name    string
		mounted bool
		expect  func(root *host.Root) []hosttest.Expect
		wantErr string
	}{
		{"unmounted", false, func(root *host.Root) []hosttest.Expect {
			return []hosttest.Expect{suspend, load, resume, {Argv: []string{host.Dd, "if=/dev/md0", "of=/dev/md0", "bs=4096", "count=1",
				"iflag=direct", "oflag=direct", "conv=notrunc", "status=none"}, Do: func() {
				must(t, os.WriteFile(root.Path("/sys/block/md0/md/degraded"), []byte("1\n"), 0o644))
			}}}
		}, ""},
		{"mounted", true, func(*host.Root) []hosttest.Expect { return []hosttest.Expect{suspend, load, resume} }, "refusing to poke /dev/md0: it is mounted on "},
		{"load fails", false, func(*host.Root) []hosttest.Expect {
			bad := load
			bad.Exit = 1
			return []hosttest.Expect{suspend, bad, resume}
		}, "loading rs-loop0p2's table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, _, r := labOnLoops(t)
			must(t, os.WriteFile(root.Path("/sys/block/dm-0/size"), []byte("131072\n"), 0o644))
			must(t, os.WriteFile(root.Path("/sys/block/md0/md/degraded"), []byte("0\n"), 0o644))
			if !tc.mounted {
				must(t, os.WriteFile(root.Path("/proc/self/mounts"), nil, 0o644))
			}
			r.Add(tc.expect(root)...)
			ms, err := KillDM(t.Context(), r, root, "loop0")
			if tc.wantErr == "" {
				if err != nil || len(ms) != 1 || ms[0].Array != "md0" || ms[0].Device != "dm-0" {
					t.Fatalf("KillDM = %+v, %v", ms, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
}
