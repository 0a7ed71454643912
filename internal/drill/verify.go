package drill

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/raidswap/raidswap/internal/discover"
	seam "github.com/raidswap/raidswap/internal/host"
)

// Verifying a scene: the end state a successful replacement must leave, checked on the lab.

// judgeSuccess: the run succeeded and the end state verifies.
func (s *scene) judgeSuccess(ctx context.Context, runErr error) {
	if runErr != nil {
		s.card.Result = Fail
		s.card.Reason = "the replacement failed: " + runErr.Error()
		return
	}
	s.verify(ctx, s.newSerial)
}

// verify checks the end state of a replacement onto newSerial and scores it.
func (s *scene) verify(ctx context.Context, newSerial string) {
	checks := s.verifyChecks(ctx, newSerial)
	s.card.Checks = append(s.card.Checks, checks...)
	s.card.Result = Pass
	for _, k := range s.card.Checks {
		if !k.OK {
			s.card.Result = Fail
			if s.card.Reason == "" {
				s.card.Reason = "check failed: " + k.Name + ": " + k.Detail
			}
		}
	}
}

func (s *scene) verifyChecks(ctx context.Context, newSerial string) []Check {
	var out []Check
	add := func(name string, ok bool, format string, a ...any) {
		out = append(out, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, a...)})
	}
	// Canaries, read back through the arrays with the page cache dropped.
	_ = s.c.Root.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"))
	bad := []string{}
	for _, p := range s.canaries() {
		sum, err := fileSum(p)
		if err != nil || sum != s.sums[p] {
			bad = append(bad, filepath.Base(p))
		}
	}
	add("canaries", len(bad) == 0, "%d files, sha256 %s", len(s.sums), map[bool]string{true: "unchanged", false: "CHANGED: " + strings.Join(bad, ", ")}[len(bad) == 0])
	env, err := s.confined()
	if err != nil {
		add("discovery", false, "%v", err)
		return out
	}
	sys, err := env.Discover()
	if err != nil {
		add("discovery", false, "%v", err)
		return out
	}
	nd := sys.DiskBySerial(newSerial)
	sv := sys.DiskBySerial(s.survivor)
	if nd == nil || sv == nil {
		add("disks", false, "the survivor %s or the new disk %s is not attached", s.survivor, newSerial)
		return out
	}
	for _, name := range s.arrays {
		a := sys.Array(name)
		if a == nil {
			add("array "+name, false, "not found")
			continue
		}
		var on []string
		inSync := 0
		for _, m := range a.Members {
			if m.State == discover.MemberInSync {
				inSync++
			}
			if m.Disk != nil {
				on = append(on, *m.Disk)
			}
		}
		sort.Strings(on)
		want := []string{nd.Name, sv.Name}
		sort.Strings(want)
		ok := a.State == discover.ArrayClean && inSync == 2 && len(a.Members) == 2 && strings.Join(on, " ") == strings.Join(want, " ")
		add("array "+name, ok, "%s, %d in_sync members on %s", a.State, inSync, strings.Join(on, " "))
	}
	res, err := s.c.Runner.Run(ctx, seam.Sgdisk, "-v", "/dev/"+nd.Name)
	add("partition table", err == nil && strings.Contains(string(res.Stdout), "No problems found"), "sgdisk -v /dev/%s: %s", nd.Name, sgdiskVerdict(string(res.Stdout), err))
	add("alignment", true, "")
	out[len(out)-1] = alignment(s.c.Root, nd)
	for _, d := range []*discover.Disk{sv, nd} {
		ok := d.Boot != nil && d.Boot.State == "ok"
		why := "not judged"
		if d.Boot != nil {
			why = string(d.Boot.State)
			if d.Boot.Reason != "" {
				why += " (" + d.Boot.Reason + ")"
			}
		}
		add("boot code on "+d.Serial, ok, "%s", why)
	}
	return out
}

func firstLine(s string, err error) string {
	if err != nil {
		return err.Error()
	}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "*") {
			return l
		}
	}
	return strings.TrimSpace(s)
}

// sgdiskVerdict is what `sgdisk -v` said, whole: its verdict sentence ("No problems found.")
// and every caution or warning paragraph in full, one line each (a caution cut after its
// first line read as if it were the verdict).
func sgdiskVerdict(s string, err error) string {
	if err != nil {
		return err.Error()
	}
	var verdict string
	var notes []string
	for _, para := range strings.Split(strings.ReplaceAll(s, "\r", ""), "\n\n") {
		p := strings.Join(strings.Fields(para), " ")
		switch {
		case p == "" || strings.HasPrefix(p, "*"):
		case strings.HasPrefix(p, "No problems found"):
			verdict = "No problems found."
		case strings.HasPrefix(p, "Caution:"), strings.HasPrefix(p, "Warning:"), strings.HasPrefix(p, "Problem:"):
			notes = append(notes, p)
		case verdict == "":
			verdict = p
		}
	}
	if verdict == "" {
		verdict = firstLine(s, nil)
	}
	if len(notes) > 0 {
		return verdict + " (" + strings.Join(notes, " ") + ")"
	}
	return verdict
}

// alignment: every partition of the new disk starts on a 1 MiB boundary.
func alignment(root *seam.Root, d *discover.Disk) Check {
	var bad []string
	for _, p := range d.Partitions {
		start, err := root.ReadString("/sys/class/block/" + p + "/start")
		var n int64
		if err == nil {
			_, err = fmt.Sscan(start, &n)
		}
		if err != nil || (n*512)%(1<<20) != 0 {
			bad = append(bad, p)
		}
	}
	return Check{Name: "alignment", OK: len(bad) == 0 && len(d.Partitions) > 0,
		Detail: fmt.Sprintf("%d partitions on 1 MiB boundaries%s", len(d.Partitions), map[bool]string{true: "", false: "; not: " + strings.Join(bad, ", ")}[len(bad) == 0])}
}
